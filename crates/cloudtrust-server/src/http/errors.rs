//! The two error shapes clients see: RFC 6749 §5.2 bodies from the token endpoints and Citrix's
//! common error body from everything else. Internal errors are logged here, with the request's
//! transaction id (the span), and reach the client only as a generic 500/503.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cloudtrust_proto::error::API_ERROR_TYPE_PREFIX;
use cloudtrust_proto::{ApiError, ApiErrorParameter, OAuthErrorBody};

use crate::auth::{Elsewhere, Refusal};
use crate::error::Error;

/// The documented text of a failed client authentication.
pub const INVALID_CLIENT_DESCRIPTION: &str = "Invalid client id or client secret.";

/// An error of a token endpoint.
#[derive(Debug)]
pub struct OAuthError {
    status: StatusCode,
    body: OAuthErrorBody,
    basic_challenge: bool,
    retry_after: Option<u64>,
    /// Answered instead, in the common shape (a customer homed in another region).
    common: Option<Box<ApiErrorResponse>>,
}

impl OAuthError {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The OAuth 2.0 error code, e.g. `invalid_client`.
    pub fn code(&self) -> &str {
        &self.body.error
    }

    /// The description, as sent.
    pub fn description(&self) -> &str {
        self.body.error_description.as_deref().unwrap_or_default()
    }

    /// Seconds to wait before trying again, after too many failures.
    pub fn retry_after(&self) -> Option<u64> {
        self.retry_after
    }

    fn new(status: StatusCode, error: &str, description: impl Into<String>) -> Self {
        OAuthError {
            status,
            body: OAuthErrorBody {
                error: error.to_owned(),
                error_description: Some(description.into()),
            },
            basic_challenge: false,
            retry_after: None,
            common: None,
        }
    }

    /// The common error `common`, answered by a token endpoint.
    pub fn common(common: ApiErrorResponse) -> Self {
        let mut e = Self::new(common.status, "access_denied", common.body.detail.clone());
        e.common = Some(Box::new(common));
        e
    }

    /// What a token endpoint answers for a refused client authentication.
    pub fn refused(refusal: Refusal, used_basic: bool) -> Self {
        match refusal {
            Refusal::Invalid => Self::invalid_client(used_basic),
            Refusal::Throttled(wait) | Refusal::Busy(wait) => Self::throttled(wait),
            Refusal::Elsewhere(elsewhere) => {
                Self::common(ApiErrorResponse::served_elsewhere(&elsewhere))
            }
        }
    }

    /// 429 after too many failed attempts. The body is RFC 6749's with the common error's
    /// members beside it, so OAuth libraries read `error` and Citrix clients `retryDelay`.
    pub fn throttled(retry_delay: u64) -> Self {
        let mut e = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "temporarily_unavailable",
            format!("Rate limit exceeded; try again in {retry_delay} seconds"),
        );
        e.retry_after = Some(retry_delay);
        e
    }

    /// 400 `invalid_request`.
    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }

    /// `invalid_client` with the documented text: 400, or 401 with a `Basic` challenge when
    /// the client authenticated with HTTP Basic.
    pub fn invalid_client(used_basic: bool) -> Self {
        let mut e = Self::new(
            if used_basic {
                StatusCode::UNAUTHORIZED
            } else {
                StatusCode::BAD_REQUEST
            },
            "invalid_client",
            INVALID_CLIENT_DESCRIPTION,
        );
        e.basic_challenge = used_basic;
        e
    }

    /// 400 with the RFC 6749 or OpenID Connect error `error`.
    pub fn bad_request(error: &str, description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, error, description)
    }

    /// `invalid_client` for a client that authenticated but is disabled: 400, as Citrix's
    /// authorization server answers.
    pub fn disabled_client() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_client",
            "the client is disabled",
        )
    }

    /// 400 `unsupported_grant_type`.
    pub fn unsupported_grant_type(grant: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            format!("grant type `{grant}` is not supported; use client_credentials"),
        )
    }

    /// 415 `invalid_request` for a body of the wrong media type.
    pub fn unsupported_media_type(expected: &str) -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "invalid_request",
            format!("the request body must be {expected}"),
        )
    }

    /// 413 `invalid_request` for an oversized body.
    pub fn too_large() -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request",
            "the request body is too large",
        )
    }

    /// The body sent.
    pub fn body(&self) -> &OAuthErrorBody {
        &self.body
    }
}

/// A form whose names or values are not UTF-8 once decoded: `invalid_request`.
impl From<super::urlencoded::NotUtf8> for OAuthError {
    fn from(_: super::urlencoded::NotUtf8) -> Self {
        OAuthError::invalid_request("the form is not UTF-8 once decoded")
    }
}

impl From<axum::extract::rejection::PathRejection> for OAuthError {
    fn from(_: axum::extract::rejection::PathRejection) -> Self {
        Self::invalid_request("the path is not valid text")
    }
}

impl From<Error> for OAuthError {
    fn from(e: Error) -> Self {
        if let Error::Invalid { field, message } = &e {
            return Self::invalid_request(format!("{field} {message}"));
        }
        tracing::error!(error = %e, "token endpoint failed");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            "the service is temporarily unavailable; try again",
        )
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        if let Some(common) = self.common {
            return common.into_response();
        }
        let mut response = match self.retry_after {
            None => (self.status, axum::Json(self.body)).into_response(),
            Some(delay) => {
                let common = ApiErrorResponse::rate_limited(delay);
                let body = serde_json::json!({
                    "error": self.body.error,
                    "error_description": self.body.error_description,
                    "type": common.body.error_type,
                    "detail": common.body.detail,
                    "parameters": common.body.parameters,
                });
                let mut response = (self.status, axum::Json(body)).into_response();
                if let Ok(value) = HeaderValue::from_str(&delay.to_string()) {
                    response.headers_mut().insert(header::RETRY_AFTER, value);
                }
                response
            }
        };
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        if self.basic_challenge {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"cloudtrust\""),
            );
        }
        response
    }
}

/// An error of a resource API, in Citrix's common shape.
#[derive(Debug)]
pub struct ApiErrorResponse {
    status: StatusCode,
    body: ApiError,
    retry_after: Option<u64>,
}

fn parameters(pairs: &[(&str, &str)]) -> Vec<ApiErrorParameter> {
    pairs
        .iter()
        .map(|(name, value)| ApiErrorParameter {
            name: (*name).to_owned(),
            value: (*value).to_owned(),
        })
        .collect()
}

impl ApiErrorResponse {
    /// An error with the given status, name, detail and parameters.
    pub fn new(
        status: StatusCode,
        name: &str,
        detail: impl Into<String>,
        params: &[(&str, &str)],
    ) -> Self {
        ApiErrorResponse {
            status,
            body: ApiError {
                error_type: format!("{API_ERROR_TYPE_PREFIX}{name}"),
                detail: detail.into(),
                parameters: parameters(params),
            },
            retry_after: None,
        }
    }

    /// 401: no token (`reason=missing`) or a bad one (`reason=invalid`).
    pub fn authentication(reason: &str) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "authentication",
            "Missing or invalid authentication details",
            &[("reason", reason)],
        )
    }

    /// 403 on an entity.
    pub fn authorization(entity_type: &str, id: &str) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "authorization",
            "Access denied",
            &[("entityType", entity_type), ("id", id)],
        )
    }

    /// 403 for a customer homed in another region, naming the host that serves it.
    pub fn served_elsewhere(elsewhere: &Elsewhere) -> Self {
        Self::elsewhere(
            &elsewhere.customer_id,
            elsewhere.home.as_str(),
            elsewhere.host.as_deref(),
        )
    }

    fn elsewhere(customer: &str, home: &str, host: Option<&str>) -> Self {
        let mut params = vec![
            ("entityType", "customer"),
            ("id", customer),
            (
                "message",
                "User is not authenticated for the specified resource",
            ),
            ("region", home),
        ];
        if let Some(host) = host {
            params.push(("host", host));
        }
        Self::new(
            StatusCode::FORBIDDEN,
            "authorization",
            "Access denied",
            &params,
        )
    }

    /// 404 on an entity.
    pub fn not_found(entity_type: &str, id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "notFound",
            format!("{entity_type} not found"),
            &[("entityType", entity_type), ("id", id)],
        )
    }

    /// 405.
    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "methodNotAllowed",
            "This method is not allowed on this resource",
            &[],
        )
    }

    /// 406: the client does not accept JSON.
    pub fn not_acceptable(content_type: &str) -> Self {
        Self::new(
            StatusCode::NOT_ACCEPTABLE,
            "notAcceptable",
            "Must accept application/json media type",
            &[("contentType", content_type)],
        )
    }

    /// 400 about one field: `name` is one of `missing`, `invalidJson`, `outOfRange`,
    /// `tooLong`, `invalidString`, `invalidEnum`.
    pub fn bad_request(name: &str, detail: impl Into<String>, field: &str) -> Self {
        Self::new(StatusCode::BAD_REQUEST, name, detail, &[("name", field)])
    }

    /// 415: the body is not JSON.
    pub fn unsupported_media_type(media_type: &str) -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupportedMediaType",
            "Must use application/json; charset=utf-8 media type",
            &[("mediaType", media_type)],
        )
    }

    /// 413: the body is larger than the server accepts.
    pub fn too_large() -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "tooLong",
            "The request body is too large",
            &[("name", "body")],
        )
    }

    /// 429 with a retry delay in seconds.
    pub fn rate_limited(retry_delay: u64) -> Self {
        let delay = retry_delay.to_string();
        let mut e = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rateLimitExceeded",
            format!("Rate limit exceeded; try again in {retry_delay} seconds"),
            &[("retryDelay", &delay)],
        );
        e.retry_after = Some(retry_delay);
        e
    }

    /// 503 with a retry delay in seconds.
    pub fn unavailable(retry_delay: u64) -> Self {
        let delay = retry_delay.to_string();
        let mut e = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "serviceUnavailable",
            format!("Service is unavailable; try again in {retry_delay} seconds"),
            &[("retryDelay", &delay)],
        );
        e.retry_after = Some(retry_delay);
        e
    }

    /// The body sent.
    pub fn body(&self) -> &ApiError {
        &self.body
    }
}

impl From<axum::extract::rejection::PathRejection> for ApiErrorResponse {
    fn from(_: axum::extract::rejection::PathRejection) -> Self {
        Self::bad_request("invalidString", "The path is not valid text", "path")
    }
}

impl From<Error> for ApiErrorResponse {
    fn from(e: Error) -> Self {
        match e {
            Error::Invalid { field, message } => Self::new(
                StatusCode::BAD_REQUEST,
                "invalidString",
                message,
                &[("name", field)],
            ),
            Error::NotFound { entity, id } => Self::not_found(entity, &id),
            Error::Conflict(message) => Self::new(StatusCode::CONFLICT, "conflict", message, &[]),
            Error::Stale(message) => {
                Self::new(StatusCode::CONFLICT, "optimisticConcurrency", message, &[])
            }
            Error::Forbidden(message) => {
                tracing::info!(reason = %message, "refused");
                Self::new(StatusCode::FORBIDDEN, "authorization", "Access denied", &[])
            }
            e @ (Error::Database(_) | Error::Migration(_) | Error::Internal(_)) => {
                tracing::error!(error = %e, "request failed");
                Self::unavailable(5)
            }
        }
    }
}

impl IntoResponse for ApiErrorResponse {
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(self.body)).into_response();
        if let Some(delay) = self.retry_after
            && let Ok(value) = HeaderValue::from_str(&delay.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("CwsAuth realm=\"cloudtrust\""),
            );
        }
        response
    }
}
