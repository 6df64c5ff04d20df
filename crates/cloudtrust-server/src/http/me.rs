//! `GET /cvadapis/me` and `/cvad/manage/me`: who the bearer token belongs to, in the shape
//! Citrix's DaaS clients read as their first call.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use cloudtrust_proto::{MeCustomer, MeResponse, MeSite};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::AppState;
use super::bearer::Caller;
use super::errors::ApiErrorResponse;
use crate::error::Error;

/// The name of every customer's single site, as Citrix DaaS names it.
pub const SITE_NAME: &str = "cloudxdsite";

/// Whether the request's `Accept` allows a JSON answer (no `Accept` does).
pub fn accepts_json(headers: &HeaderMap) -> bool {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    accept.split(',').any(|range| {
        let media = range.split(';').next().unwrap_or_default().trim();
        media.is_empty()
            || media == "*/*"
            || media.eq_ignore_ascii_case("application/*")
            || media.eq_ignore_ascii_case("application/json")
    })
}

/// `GET /cvadapis/me`: the caller's customer and administrator, as DaaS clients read them.
#[utoipa::path(
    get,
    path = "/cvadapis/me",
    operation_id = "getMe",
    tag = "Bearer tokens",
    params(("Citrix-CustomerId" = Option<String>, Header, description = "The customer; must be the token's")),
    responses((status = 200, description = "Who the bearer token belongs to", body = MeResponse), super::openapi::CommonErrors),
    security(("CwsAuth" = []))
)]
pub async fn me(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: Caller,
) -> Result<Json<MeResponse>, ApiErrorResponse> {
    if !accepts_json(&headers) {
        let asked = headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        return Err(ApiErrorResponse::not_acceptable(asked));
    }
    let customer = state
        .cache
        .customer(&caller.claims.customer)
        .await?
        .ok_or_else(|| ApiErrorResponse::authentication("invalid"))?;
    let expiry = OffsetDateTime::from_unix_timestamp(caller.claims.exp)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .ok_or_else(|| Error::internal("token expiry out of range"))?;
    Ok(Json(MeResponse {
        user_id: caller.owner.id.clone(),
        display_name: caller.owner.display_name.clone(),
        expiry_time: expiry,
        verified_email: caller.owner.email.clone(),
        is_csp_customer: false,
        customers: vec![MeCustomer {
            id: customer.id.clone(),
            name: customer.name.clone(),
            sites: vec![MeSite {
                id: customer.site_id.clone(),
                name: SITE_NAME.to_owned(),
            }],
        }],
    }))
}

/// `GET /cvad/manage/me`: the same answer under the DaaS management path.
#[utoipa::path(
    get,
    path = "/cvad/manage/me",
    operation_id = "getManageMe",
    tag = "Bearer tokens",
    params(("Citrix-CustomerId" = Option<String>, Header, description = "The customer; must be the token's")),
    responses((status = 200, description = "Who the bearer token belongs to", body = MeResponse), super::openapi::CommonErrors),
    security(("CwsAuth" = []))
)]
pub async fn manage_me(
    state: State<AppState>,
    headers: HeaderMap,
    caller: Caller,
) -> Result<Json<MeResponse>, ApiErrorResponse> {
    me(state, headers, caller).await
}
