//! The bearer-token extractor of cloudtrust's own APIs.
//!
//! Accepts every form real clients send: `CwsAuth Bearer=<t>`, `CWSAuth bearer=<t>`,
//! `CwsAuth Bearer=   <t>` and plain `Bearer <t>`. Beyond the signature and times, it checks
//! that the client still exists and that its owner's access was not reduced since issuance.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, header};

use super::AppState;
use super::errors::ApiErrorResponse;
use super::region::{Admission, Serving};
use crate::domain::administrators::Administrator;
use crate::domain::api_clients::ApiClientCredential;
use crate::domain::audit::Actor;
use crate::domain::tokens::{AccessClaims, TokenRejection};

/// `Citrix-CustomerId`.
pub static CITRIX_CUSTOMER_ID: HeaderName = HeaderName::from_static("citrix-customerid");

/// The caller behind a valid bearer token.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The token's claims.
    pub claims: AccessClaims,
    /// The API client.
    pub client: Arc<ApiClientCredential>,
    /// The administrator it acts for, with current access.
    pub owner: Arc<Administrator>,
}

impl Caller {
    /// The caller as the directory sees it: its owner, with the owner's current access.
    pub fn actor(&self) -> Actor {
        Actor::administrator(&self.owner)
    }
}

/// Extracts the token from an `Authorization` value, or `None` when the scheme is unknown.
pub fn parse_authorization(value: &str) -> Option<&str> {
    let value = value.trim();
    let split = value.find(char::is_whitespace)?;
    let (scheme, rest) = value.split_at(split);
    let rest = rest.trim_start();
    let token = if scheme.eq_ignore_ascii_case("cwsauth") {
        let key = rest.get(..6)?;
        if !key.eq_ignore_ascii_case("bearer") {
            return None;
        }
        rest[6..].trim_start().strip_prefix('=')?.trim_start()
    } else if scheme.eq_ignore_ascii_case("bearer") {
        rest
    } else {
        return None;
    };
    let token = token
        .split(|c: char| c.is_whitespace() || c == ',')
        .next()
        .unwrap_or_default();
    (!token.is_empty()).then_some(token)
}

fn customer_header(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(&CITRIX_CUSTOMER_ID)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiErrorResponse;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
            return Err(ApiErrorResponse::authentication("missing"));
        };
        let token = value
            .to_str()
            .ok()
            .and_then(parse_authorization)
            .ok_or_else(|| ApiErrorResponse::authentication("invalid"))?;
        let caller = authenticate(state, token)
            .await
            .map_err(|rejection| match rejection {
                Rejected::Token(reason) => {
                    tracing::info!(%reason, "bearer token refused");
                    ApiErrorResponse::authentication("invalid")
                }
                Rejected::Internal(e) => e.into(),
            })?;
        if let Some(customer) = customer_header(&parts.headers)
            && !customer.eq_ignore_ascii_case(&caller.claims.customer)
        {
            return Err(ApiErrorResponse::authorization("customer", customer));
        }
        if let Some(serving) = parts.extensions.get::<Arc<Serving>>()
            && let Some(customer) = state.cache.customer(&caller.claims.customer).await?
            && let Admission::Elsewhere(home, host) = state.regions.admits(serving, customer.region)
        {
            return Err(ApiErrorResponse::elsewhere(
                &customer.id,
                home.as_str(),
                host.as_deref(),
            ));
        }
        Ok(caller)
    }
}

enum Rejected {
    Token(TokenRejection),
    Internal(crate::error::Error),
}

impl From<TokenRejection> for Rejected {
    fn from(r: TokenRejection) -> Self {
        Rejected::Token(r)
    }
}

impl From<crate::error::Error> for Rejected {
    fn from(e: crate::error::Error) -> Self {
        Rejected::Internal(e)
    }
}

async fn authenticate(state: &AppState, token: &str) -> Result<Caller, Rejected> {
    let keys = state.keys.current();
    let claims = state
        .tokens
        .verify_access(&keys, token, state.clock.now())?;
    let client = state
        .cache
        .client(&claims.sub)
        .await?
        .filter(|c| c.owner_id == claims.admin && c.customer_id == claims.customer)
        .ok_or(TokenRejection::ClientRemoved)?;
    let owner = state
        .cache
        .administrator(&claims.admin)
        .await?
        .filter(|o| o.permission_generation == claims.generation)
        .ok_or(TokenRejection::StaleOwner)?;
    Ok(Caller {
        claims,
        client,
        owner,
    })
}

#[cfg(test)]
mod tests {
    use super::parse_authorization;

    #[test]
    fn every_authorization_form_real_clients_send_is_understood() {
        for value in [
            "CwsAuth Bearer=abc.def.ghi",
            "CWSAuth bearer=abc.def.ghi",
            "CwsAuth Bearer=   abc.def.ghi",
            "cwsauth  BEARER = abc.def.ghi",
            "Bearer abc.def.ghi",
            "bearer   abc.def.ghi  ",
            "CwsAuth Bearer=abc.def.ghi, other=1",
        ] {
            assert_eq!(parse_authorization(value), Some("abc.def.ghi"), "{value}");
        }
        for value in [
            "",
            "CwsAuth",
            "CwsAuth Bearer=",
            "Basic YTpi",
            "CwsAuth Token=abc",
            "Bearer",
        ] {
            assert_eq!(parse_authorization(value), None, "{value}");
        }
    }
}
