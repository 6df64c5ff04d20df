//! Health endpoints for orchestrators: `/healthz` (the process answers) and `/readyz` (the
//! database answers and signing keys are loaded).

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use super::errors::ApiErrorResponse;
use crate::health::Health;

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
pub async fn readyz(State(health): State<Health>) -> Result<Json<Value>, ApiErrorResponse> {
    let signing_key = health.ready().await.map_err(|e| {
        tracing::warn!(error = %e, "not ready: database");
        ApiErrorResponse::unavailable(5)
    })?;
    Ok(Json(json!({
        "status": "ready",
        "database": "ok",
        "signing_key": signing_key,
    })))
}
