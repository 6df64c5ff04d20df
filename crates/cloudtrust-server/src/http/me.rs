//! `GET /cvadapis/me` and `/cvad/manage/me`: who the bearer token belongs to, in the shape
//! Citrix's DaaS clients read as their first call.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use cloudtrust_proto::{MeCustomer, MeResponse, MeSite};

use super::bearer::Caller;
use super::errors::ApiErrorResponse;
use super::json::{JsonAccepted, rfc3339};
use crate::auth::Auth;

/// The name of every customer's single site, as Citrix DaaS names it.
pub const SITE_NAME: &str = "cloudxdsite";

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
    State(auth): State<Arc<Auth>>,
    _: JsonAccepted,
    caller: Caller,
) -> Result<Json<MeResponse>, ApiErrorResponse> {
    let customer = auth
        .customer(&caller.claims.customer)
        .await?
        .ok_or_else(|| ApiErrorResponse::authentication("invalid"))?;
    Ok(Json(MeResponse {
        user_id: caller.owner.id.clone(),
        display_name: caller.owner.display_name.clone(),
        expiry_time: rfc3339(caller.claims.exp),
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
    state: State<Arc<Auth>>,
    _: JsonAccepted,
    caller: Caller,
) -> Result<Json<MeResponse>, ApiErrorResponse> {
    me(state, JsonAccepted, caller).await
}
