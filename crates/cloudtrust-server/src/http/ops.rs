//! Health endpoints for orchestrators: `/healthz` (the process answers) and `/readyz` (the
//! database answers and signing keys are loaded).

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use super::AppState;
use super::errors::ApiErrorResponse;

/// Liveness.
#[utoipa::path(
    get,
    path = "/healthz",
    operation_id = "getHealth",
    tag = "Operations",
    responses((status = 200, description = "The process answers", body = Object))
)]
pub async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// Readiness.
#[utoipa::path(
    get,
    path = "/readyz",
    operation_id = "getReadiness",
    tag = "Operations",
    responses(
        (status = 200, description = "The database answers and signing keys are loaded", body = Object),
        (status = 503, description = "Not ready", body = cloudtrust_proto::ApiError))
)]
pub async fn readyz(State(state): State<AppState>) -> Result<Json<Value>, ApiErrorResponse> {
    if let Err(e) = state.store.ping().await {
        tracing::warn!(error = %e, "not ready: database");
        return Err(ApiErrorResponse::unavailable(5));
    }
    let keys = state.keys.current();
    Ok(Json(json!({
        "status": "ready",
        "database": "ok",
        "signing_key": keys.signing.kid,
    })))
}
