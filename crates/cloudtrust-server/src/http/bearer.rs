//! The bearer-token extractor of cloudtrust's own APIs.
//!
//! Accepts every form real clients send: `CwsAuth Bearer=<t>`, `CWSAuth bearer=<t>`,
//! `CwsAuth Bearer=   <t>` and plain `Bearer <t>`. Beyond the signature and times, it checks
//! that the client still exists and that its owner's access was not reduced since issuance.

use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, header};

use super::errors::ApiErrorResponse;
use super::middleware::region;
use crate::auth::Auth;
pub use crate::auth::Caller;

/// `Citrix-CustomerId`.
pub static CITRIX_CUSTOMER_ID: HeaderName = HeaderName::from_static("citrix-customerid");

/// Extracts the token from an `Authorization` value (WIRE §4), or `None` when the scheme
/// is unknown.
pub use cloudtrust_proto::authorization::bearer_token as parse_authorization;

fn customer_header(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(&CITRIX_CUSTOMER_ID)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

impl<S> FromRequestParts<S> for Caller
where
    S: Send + Sync,
    Arc<Auth>: FromRef<S>,
{
    type Rejection = ApiErrorResponse;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
            return Err(ApiErrorResponse::authentication("missing"));
        };
        let token = value
            .to_str()
            .ok()
            .and_then(parse_authorization)
            .ok_or_else(|| ApiErrorResponse::authentication("invalid"))?;
        let auth = Arc::<Auth>::from_ref(state);
        let caller = auth
            .caller(token)
            .await?
            .map_err(|_| ApiErrorResponse::authentication("invalid"))?;
        if let Some(customer) = customer_header(&parts.headers)
            && !customer.eq_ignore_ascii_case(&caller.claims.customer)
        {
            return Err(ApiErrorResponse::authorization("customer", customer));
        }
        if let Some(serving) = region::current()
            && let Some(elsewhere) = auth
                .served_elsewhere(&serving, &caller.claims.customer)
                .await?
        {
            return Err(ApiErrorResponse::served_elsewhere(&elsewhere));
        }
        Ok(caller)
    }
}
