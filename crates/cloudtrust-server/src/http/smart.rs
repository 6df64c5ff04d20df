//! `/v0`: Smart Tools authentication (seed 004). An administrator's Smart Tools API key and
//! secret, with a role and company id as scope, get a 43,199-second token that later calls
//! present as the `access_token` query parameter.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cloudtrust_proto::OAuthErrorBody;
use cloudtrust_proto::smart::{SmartCompany, SmartMe, SmartToken};
use time::OffsetDateTime;
use time::macros::format_description;

use super::basic::{Basic, basic_credentials};
use super::bearer::parse_authorization;
use super::json::Query;
use super::oauth::CLIENT_CREDENTIALS;
use crate::auth::{Auth, Refusal};
use crate::domain::administrators::Administrator;
use crate::domain::customers::Customer;
use crate::domain::smart_keys::role;
use crate::domain::tokens::SMART_LIFETIME_SECS;
use crate::error::Error;
use crate::http::middleware::client_address::ClientAddress;
use crate::metrics;

/// The Smart Tools token endpoint, as metrics name it.
const SMART: &str = "smart";

/// An error of the Smart Tools API: Spring's OAuth 2.0 error body.
#[derive(Debug)]
pub struct SmartError {
    status: StatusCode,
    body: OAuthErrorBody,
    retry_after: Option<u64>,
}

impl SmartError {
    fn bad_request(description: impl Into<String>) -> Self {
        SmartError {
            status: StatusCode::BAD_REQUEST,
            body: OAuthErrorBody {
                error: "invalid_request".to_owned(),
                error_description: Some(description.into()),
            },
            retry_after: None,
        }
    }

    /// 401 "Bad credentials or expired token".
    fn unauthorized() -> Self {
        SmartError {
            status: StatusCode::UNAUTHORIZED,
            body: OAuthErrorBody {
                error: "unauthorized".to_owned(),
                error_description: Some("Bad credentials or expired token".to_owned()),
            },
            retry_after: None,
        }
    }

    fn throttled(delay: u64) -> Self {
        SmartError {
            status: StatusCode::TOO_MANY_REQUESTS,
            body: OAuthErrorBody {
                error: "too_many_requests".to_owned(),
                error_description: Some(format!(
                    "Too many failed attempts; try again in {delay} seconds"
                )),
            },
            retry_after: Some(delay),
        }
    }
}

impl From<Error> for SmartError {
    fn from(e: Error) -> Self {
        if let Error::Invalid { field, message } = &e {
            return SmartError::bad_request(format!("{field} {message}"));
        }
        tracing::error!(error = %e, "Smart Tools request failed");
        SmartError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            body: OAuthErrorBody {
                error: "temporarily_unavailable".to_owned(),
                error_description: Some(
                    "the service is temporarily unavailable; try again".to_owned(),
                ),
            },
            retry_after: Some(5),
        }
    }
}

impl IntoResponse for SmartError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.body)).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CACHE_CONTROL,
            header::HeaderValue::from_static("no-store"),
        );
        if let Some(delay) = self.retry_after
            && let Ok(value) = header::HeaderValue::from_str(&delay.to_string())
        {
            headers.insert(header::RETRY_AFTER, value);
        }
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Basic realm=\"cloudtrust\""),
            );
        }
        response
    }
}

/// Unix seconds the way Java's `Date.toString` writes them: `Mon Jun 11 05:32:59 UTC 2012`.
pub fn java_date(unix: i64) -> String {
    let format = format_description!(
        "[weekday repr:short] [month repr:short] [day] [hour]:[minute]:[second] UTC [year]"
    );
    OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(format).ok())
        .unwrap_or_default()
}

fn required<'q>(query: &'q Query, name: &str) -> Result<&'q str, SmartError> {
    query
        .get(name)
        .ok_or_else(|| SmartError::bad_request(format!("{name} is required")))
}

fn company_id(text: &str) -> Result<i64, SmartError> {
    text.trim()
        .parse()
        .map_err(|_| SmartError::bad_request("company_id must be a number"))
}

async fn key_owner(auth: &Auth, api_key: &str) -> Result<(Administrator, Customer), SmartError> {
    auth.smart_key_owner(api_key)
        .await?
        .map_err(|_| SmartError::unauthorized())
}

fn company(customer: &Customer) -> SmartCompany {
    SmartCompany {
        authorized_to_tweet_flag: "N".to_owned(),
        name: customer.name.clone(),
        account_type: "PAID".to_owned(),
        company_id: customer.company_id,
        oem_code: "CLOUDTRUST".to_owned(),
    }
}

/// `GET /v0/companies?client_id=`: the organisation of the key's administrator.
#[utoipa::path(
    get,
    path = "/v0/companies",
    operation_id = "getSmartCompanies",
    tag = "Smart Tools",
    params(("client_id" = String, Query, description = "The Smart Tools API key")),
    responses(
        (status = 200, description = "The organisations the key has access to", body = Vec<SmartCompany>),
        (status = 400, description = "Bad input", body = OAuthErrorBody),
        (status = 401, description = "Bad credentials or expired token", body = OAuthErrorBody))
)]
pub async fn companies(
    State(auth): State<Arc<Auth>>,
    query: Query,
) -> Result<Json<Vec<SmartCompany>>, SmartError> {
    let (_, customer) = key_owner(&auth, required(&query, "client_id")?).await?;
    Ok(Json(vec![company(&customer)]))
}

/// `GET /v0/roles?client_id=&company_id=`: the key's role in that organisation.
#[utoipa::path(
    get,
    path = "/v0/roles",
    operation_id = "getSmartRoles",
    tag = "Smart Tools",
    params(("client_id" = String, Query, description = "The Smart Tools API key"),
        ("company_id" = i64, Query, description = "The organisation, from `/v0/companies`")),
    responses(
        (status = 200, description = "The roles, e.g. `[\"Admin\"]`", body = Vec<String>),
        (status = 400, description = "Bad input", body = OAuthErrorBody),
        (status = 401, description = "Bad credentials, or not in that organisation", body = OAuthErrorBody))
)]
pub async fn roles(
    State(auth): State<Arc<Auth>>,
    query: Query,
) -> Result<Json<Vec<String>>, SmartError> {
    let api_key = required(&query, "client_id")?;
    let company = company_id(required(&query, "company_id")?)?;
    let (owner, customer) = key_owner(&auth, api_key).await?;
    if customer.company_id != company {
        return Err(SmartError::unauthorized());
    }
    Ok(Json(vec![role(&owner.access).to_owned()]))
}

/// `GET /v0/oauth/token?grant_type=client_credentials&scope=<Role>,<companyId>` with HTTP
/// Basic: a Smart Tools token.
#[utoipa::path(
    get,
    path = "/v0/oauth/token",
    operation_id = "getSmartToken",
    tag = "Smart Tools",
    params(("grant_type" = String, Query, description = "`client_credentials`"),
        ("scope" = String, Query, description = "`<Role>,<companyId>`")),
    responses(
        (status = 200, description = "A token for 43,199 seconds", body = SmartToken),
        (status = 400, description = "Bad input", body = OAuthErrorBody),
        (status = 401, description = "Bad credentials, or a role or company not held", body = OAuthErrorBody),
        (status = 429, description = "Too many failed attempts", body = OAuthErrorBody)),
    security(("SmartBasic" = []))
)]
pub async fn token(
    State(auth): State<Arc<Auth>>,
    ClientAddress(source): ClientAddress,
    headers: HeaderMap,
    query: Query,
) -> Result<Response, SmartError> {
    // Spring's token endpoint sits behind HTTP Basic: a request without credentials is
    // refused (401) before its parameters are read, as the `SmartBasic` scheme documents.
    let Basic::Given(api_key, secret) = basic_credentials(&headers) else {
        return Err(SmartError::unauthorized());
    };
    if !required(&query, "grant_type")?.eq_ignore_ascii_case("client_credentials") {
        return Err(SmartError::bad_request(
            "grant_type must be client_credentials",
        ));
    }
    let scope = required(&query, "scope")?;
    let parts: Vec<&str> = scope
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    let (company, wanted_role) = match parts.as_slice() {
        [a, b] => match (a.parse::<i64>(), b.parse::<i64>()) {
            (Err(_), Ok(company)) => (company, *a),
            (Ok(company), Err(_)) => (company, *b),
            _ => return Err(SmartError::bad_request("scope is <Role>,<companyId>")),
        },
        _ => return Err(SmartError::bad_request("scope is <Role>,<companyId>")),
    };
    let (owner, customer) = auth
        .authenticate_smart_key(source, &api_key, &secret)
        .await?
        .inspect_err(|refusal| {
            metrics::token_refused(SMART, CLIENT_CREDENTIALS, refusal.reason());
        })
        .map_err(|refusal| match refusal {
            Refusal::Throttled(wait) | Refusal::Busy(wait) => SmartError::throttled(wait),
            Refusal::Invalid | Refusal::Elsewhere(_) => SmartError::unauthorized(),
        })?;
    let granted_role = role(&owner.access);
    if customer.company_id != company || !granted_role.eq_ignore_ascii_case(wanted_role) {
        tracing::info!(administrator = %owner.id, "Smart Tools token refused: scope not held");
        metrics::token_refused(SMART, CLIENT_CREDENTIALS, "invalid_scope");
        return Err(SmartError::unauthorized());
    }
    let scope = vec![company.to_string(), granted_role.to_owned()];
    let (token, claims) = auth.issue_smart_token(&owner, &customer, &api_key, scope.clone())?;
    metrics::token_issued(SMART, CLIENT_CREDENTIALS);
    let body = SmartToken {
        expired: false,
        token_type_camel: "bearer".to_owned(),
        scope,
        expiration: java_date(claims.exp),
        expires_in_camel: SMART_LIFETIME_SECS,
        value: token.clone(),
        additional_information: Default::default(),
        access_token: token,
        token_type: "bearer".to_owned(),
        expires_in: SMART_LIFETIME_SECS,
    };
    let mut response = Json(body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    headers.insert(header::PRAGMA, header::HeaderValue::from_static("no-cache"));
    Ok(response)
}

/// `GET /v0/me?access_token=`: who a Smart Tools token belongs to, while its key, its
/// administrator and its role still exist.
#[utoipa::path(
    get,
    path = "/v0/me",
    operation_id = "getSmartMe",
    tag = "Smart Tools",
    params(("access_token" = Option<String>, Query, description = "The Smart Tools token (or `Authorization: Bearer`)")),
    responses(
        (status = 200, description = "The token's administrator", body = SmartMe),
        (status = 401, description = "Bad credentials or expired token", body = OAuthErrorBody))
)]
pub async fn me(
    State(auth): State<Arc<Auth>>,
    headers: HeaderMap,
    query: Query,
) -> Result<Json<SmartMe>, SmartError> {
    let from_header = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_authorization);
    let token = query
        .get("access_token")
        .or(from_header)
        .ok_or_else(SmartError::unauthorized)?;
    let (claims, owner, customer) = auth
        .smart_caller(token)
        .await?
        .map_err(|_| SmartError::unauthorized())?;
    let role = role(&owner.access);
    let held = owner.id == claims.sub && claims.scope.iter().any(|s| s == role);
    if !held {
        return Err(SmartError::unauthorized());
    }
    Ok(Json(SmartMe {
        user_id: owner.id,
        email: owner.email,
        display_name: owner.display_name,
        company_id: customer.company_id,
        customer_id: customer.id,
        role: role.to_owned(),
        expiration: java_date(claims.exp),
    }))
}

#[cfg(test)]
mod tests {
    use super::java_date;

    #[test]
    fn dates_are_written_as_java_does() {
        assert_eq!(java_date(1_339_392_779), "Mon Jun 11 05:32:59 UTC 2012");
        assert_eq!(java_date(1_338_527_579), "Fri Jun 01 05:12:59 UTC 2012");
    }
}
