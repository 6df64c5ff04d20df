//! Health endpoints for orchestrators: `/healthz` (the process answers) and `/readyz` (the
//! database answers and signing keys are loaded).

use std::sync::Arc;

use axum::Extension;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::errors::ApiErrorResponse;
use super::state::{MetricsPlace, OnMetricsListener};
use crate::auth::Auth;
use crate::clock::Clock;
use crate::health::Health;
use crate::metrics::{
    self, CACHE_ENTRIES, CHANGES_FOLLOWED, CHANGES_LAG, DB_CONNECTIONS, DB_CONNECTIONS_MAX,
    SIGNING_KEY_AGE, USAGE_PENDING, USAGE_UNWRITTEN,
};

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

/// Prometheus metrics, in its text format; the gauges are read at each scrape.
#[utoipa::path(
    get,
    path = "/metrics",
    operation_id = "getMetrics",
    tag = "Operations",
    responses(
        (status = 200, description = "Prometheus metrics (text exposition format 0.0.4)", content_type = "text/plain", body = String),
        (status = 404, description = "Served on `metrics_listen` only", body = cloudtrust_proto::ApiError))
)]
pub async fn metrics(
    State(health): State<Health>,
    State(auth): State<Arc<Auth>>,
    State(clock): State<Arc<dyn Clock>>,
    State(place): State<MetricsPlace>,
    on_own_listener: Option<Extension<OnMetricsListener>>,
) -> Result<Response, ApiErrorResponse> {
    if place == MetricsPlace::OwnListener && on_own_listener.is_none() {
        return Err(ApiErrorResponse::not_found("resource", ""));
    }
    let pool = health.pool_status();
    let in_use = pool.open.saturating_sub(pool.idle);
    metrics::gauge(DB_CONNECTIONS, &[("state", "idle")], f64::from(pool.idle));
    metrics::gauge(DB_CONNECTIONS, &[("state", "in_use")], f64::from(in_use));
    metrics::gauge(DB_CONNECTIONS_MAX, &[], f64::from(pool.max));
    for (table, entries) in auth.cache_entries() {
        metrics::gauge(CACHE_ENTRIES, &[("table", table)], entries as f64);
    }
    let now = clock.now();
    let age = now.saturating_sub(health.signing_key_since()).max(0);
    metrics::gauge(SIGNING_KEY_AGE, &[], age as f64);
    let followed = if auth.follows_changes() { 1.0 } else { 0.0 };
    metrics::gauge(CHANGES_FOLLOWED, &[], followed);
    if let Some(lag) = auth.change_lag() {
        metrics::gauge(CHANGES_LAG, &[], lag.as_secs_f64());
    }
    let (pending, since) = auth.usage_backlog();
    metrics::gauge(USAGE_PENDING, &[], pending as f64);
    let unwritten = since.map_or(0, |since| now.saturating_sub(since).max(0));
    metrics::gauge(USAGE_UNWRITTEN, &[], unwritten as f64);
    let mut response = metrics::render().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    Ok(response)
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
