//! The HTTP surface (axum only): parse, call a service, render. One module per API family;
//! handlers stay thin and name only the services they use (see [`state`]).

pub mod administrators;
pub mod basic;
pub mod bearer;
pub mod bearer_token_status;
pub mod core;
pub mod errors;
pub mod invitations;
pub mod json;
pub mod me;
pub mod middleware;
pub mod oauth;
pub mod oidc;
pub mod openapi;
pub mod ops;
pub mod path;
pub mod rpclients;
pub mod secure_clients;
pub mod smart;
pub mod state;
pub mod systemlog;
pub mod trust;
pub mod urlencoded;
pub mod web;

use std::convert::Infallible;
use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tower_layer::Layer;
use tower_service::Service;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use errors::ApiErrorResponse;

use crate::auth::Outcome;
use crate::metrics;
pub use state::{BodyLimit, MetricsPlace, OnMetricsListener, PublicUrl, ServiceSet, Services};

/// `response`, never stored by a cache on the way (`no-store`, and `Pragma: no-cache` for
/// HTTP/1.0 caches): every answer that carries a token (RFC 6749 §5.1).
pub fn no_store(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// `body` as a JSON answer that carries a token, never stored ([`no_store`]). The body is
/// written into a buffer of `size_hint` bytes and the headers into a map sized for what every
/// answer gets, so that neither grows on the token endpoint's path.
pub fn token_json<T: serde::Serialize>(body: &T, size_hint: usize) -> Response {
    let mut buffer = Vec::with_capacity(size_hint);
    if serde_json::to_writer(&mut buffer, body).is_err() {
        return no_store(axum::Json(body).into_response());
    }
    let mut response = Response::new(axum::body::Body::from(buffer));
    let headers = response.headers_mut();
    headers.reserve(10);
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    no_store(response)
}

/// `outcome`, counted in the token metrics of `endpoint` and `grant`.
pub(crate) fn counted<T>(
    endpoint: &'static str,
    grant: &'static str,
    outcome: Outcome<T>,
) -> Outcome<T> {
    match &outcome {
        Ok(_) => metrics::token_issued(endpoint, grant),
        Err(refusal) => metrics::token_refused(endpoint, grant, refusal.reason()),
    }
    outcome
}

/// Every JSON endpoint, each declared once: its route and its OpenAPI operation come from the
/// handler's `#[utoipa::path]`.
pub fn api_routes() -> OpenApiRouter<Services> {
    OpenApiRouter::with_openapi(openapi::base())
        .routes(routes!(oauth::client_credentials))
        .routes(routes!(bearer_token_status::introspect))
        .routes(routes!(bearer_token_status::revoke))
        .routes(routes!(trust::trust_token))
        .routes(routes!(oidc::discovery))
        .routes(routes!(oidc::authorization_server_metadata))
        .routes(routes!(oidc::jwks))
        .routes(routes!(me::me))
        .routes(routes!(me::manage_me))
        .routes(routes!(administrators::list))
        .routes(routes!(administrators::create))
        .routes(routes!(administrators::get, administrators::delete))
        .routes(routes!(administrators::get_access))
        .routes(routes!(administrators::set_access))
        .routes(routes!(administrators::delete_invitation))
        .routes(routes!(secure_clients::list))
        .routes(routes!(secure_clients::create))
        .routes(routes!(secure_clients::get, secure_clients::delete))
        .routes(routes!(rpclients::list, rpclients::create))
        .routes(routes!(
            rpclients::get,
            rpclients::edit,
            rpclients::replace,
            rpclients::delete
        ))
        .routes(routes!(rpclients::enable))
        .routes(routes!(rpclients::disable))
        .routes(routes!(rpclients::rotate_secret))
        .routes(routes!(rpclients::expire_old_secret))
        .routes(routes!(systemlog::records))
        .routes(routes!(smart::companies))
        .routes(routes!(smart::roles))
        .routes(routes!(smart::token))
        .routes(routes!(smart::me))
        .routes(routes!(core::discovery::openid_configuration))
        .routes(routes!(core::discovery::jwks))
        .routes(routes!(core::discovery::configurations))
        .routes(routes!(core::token::token))
        .routes(routes!(
            core::userinfo::userinfo,
            core::userinfo::userinfo_posted
        ))
        .routes(routes!(core::userinfo::revocation))
        .routes(routes!(core::userinfo::introspect))
        .routes(routes!(ops::healthz))
        .routes(routes!(ops::readyz))
        .routes(routes!(ops::metrics))
}

/// The service a listener serves: every route of the server inside the middleware every
/// request goes through ([`middleware::EveryRequest`]); request bodies must arrive within
/// `body_read_timeout`.
pub fn router(
    services: Services,
    body_read_timeout: std::time::Duration,
) -> middleware::EveryRequest<
    impl Service<Request, Response = Response, Error = Infallible, Future: Send>
    + Clone
    + Send
    + Sync
    + 'static,
> {
    let limit = services.body_limit.0;
    let regions = services.regions.clone();
    let (api, document) = api_routes().split_for_parts();
    let document = Arc::new(document);
    let routes = Router::new()
        .merge(api)
        // Spellings real clients use for the same operations.
        .route("/administrators/", get(administrators::list))
        .route("/administrators/%24create", post(administrators::create))
        .route("/secureClients/", get(secure_clients::list))
        .route("/secureClients/%24create", post(secure_clients::create))
        .route(
            "/{customerid}/rpclients/{name}/%24enable",
            post(rpclients::enable),
        )
        .route(
            "/{customerid}/rpclients/{name}/%24disable",
            post(rpclients::disable),
        )
        .route(
            "/{customerid}/rpclients/{name}/%24rotateSecret",
            post(rpclients::rotate_secret),
        )
        .route(
            "/{customerid}/rpclients/{name}/%24expireOldSecret",
            post(rpclients::expire_old_secret),
        )
        .route(
            "/openapi.json",
            get(move |serving| openapi::serve(document, serving)),
        )
        .route(
            &invitations::route(),
            get(invitations::show).post(invitations::accept),
        )
        .merge(web::routes())
        .merge(core::routes())
        .route_layer(middleware::MarkRouteLayer)
        .fallback(|| async { ApiErrorResponse::not_found("resource", "") })
        .method_not_allowed_fallback(|| async { ApiErrorResponse::method_not_allowed() })
        .with_state(services);
    middleware::EveryRequest::new(
        DefaultBodyLimit::max(limit).layer(routes),
        middleware::Context {
            regions,
            limit: BodyLimit(limit),
            body_read_timeout,
        },
    )
}

/// The router of the `metrics_listen` listener: `/metrics` and nothing else.
pub fn metrics_router(services: Services) -> Router {
    Router::new()
        .route("/metrics", get(ops::metrics))
        .fallback(|| async { ApiErrorResponse::not_found("resource", "") })
        .layer(axum::Extension(OnMetricsListener))
        .with_state(services)
}

/// The media type of the request body as sent, without parameters such as `charset`; media
/// types are case-insensitive, so compare it with [`is_media_type`] or `eq_ignore_ascii_case`.
pub(crate) fn media_type(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::trim)
}

/// Whether the request body's media type is `expected` (lowercase), in any case and with any
/// parameters, compared in place: the token endpoints ask this of every request.
pub(crate) fn is_media_type(headers: &HeaderMap, expected: &str) -> bool {
    media_type(headers).is_some_and(|m| m.eq_ignore_ascii_case(expected))
}

/// Whether `media` (from [`media_type`]) is JSON: `application/json` or a `+json` type
/// (RFC 6839), in any case.
pub(crate) fn is_json_media(media: &str) -> bool {
    let bytes = media.as_bytes();
    media.eq_ignore_ascii_case("application/json")
        || bytes.len() >= 5 && bytes[bytes.len() - 5..].eq_ignore_ascii_case(b"+json")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn content_type(value: &'static [u8]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Ok(value) = HeaderValue::from_bytes(value) {
            headers.insert(header::CONTENT_TYPE, value);
        }
        headers
    }

    #[test]
    fn media_types_match_in_any_case_with_any_parameters() {
        let form = "application/x-www-form-urlencoded";
        for matching in [
            &b"application/x-www-form-urlencoded"[..],
            b"Application/X-WWW-Form-URLEncoded",
            b" application/x-www-form-urlencoded ; charset=UTF-8",
        ] {
            assert!(is_media_type(&content_type(matching), form), "{matching:?}");
        }
        for other in [
            &b"application/x-www-form-urlencodedx"[..],
            b"application/json",
            b"",
            b"application/x-www-form-urlencod\xc3\xa9",
        ] {
            assert!(!is_media_type(&content_type(other), form), "{other:?}");
        }
        assert!(!is_media_type(&HeaderMap::new(), form));
    }

    #[test]
    fn json_is_application_json_or_a_json_suffix() {
        for json in [
            "application/json",
            "APPLICATION/JSON",
            "application/problem+JSON",
        ] {
            assert!(is_json_media(json), "{json}");
        }
        for other in ["application/jsonx", "json", "text/plain", ""] {
            assert!(!is_json_media(other), "{other}");
        }
    }
}
