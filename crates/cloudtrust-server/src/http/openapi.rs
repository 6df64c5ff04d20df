//! `GET /openapi.json`: the OpenAPI 3.1 description of every JSON endpoint, generated from the
//! handlers' annotations and the wire types of `cloudtrust-proto`.

use std::sync::{Arc, OnceLock};

use axum::Json;
use cloudtrust_proto::ApiError;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{OpenApi as Document, ServerBuilder};
use utoipa::{IntoResponses, Modify, OpenApi};

use crate::http::middleware::region::Served;

/// The errors every resource API may answer, in the common shape.
#[derive(IntoResponses)]
pub enum CommonErrors {
    /// 400: a field is missing or malformed (`missing`, `invalidJson`, `invalidEnum`, …).
    #[response(status = 400, description = "Bad input, named in `parameters`")]
    BadRequest(ApiError),
    /// 401: no token, or a bad, expired or stale one.
    #[response(
        status = 401,
        description = "Missing or invalid authentication details"
    )]
    Unauthorized(ApiError),
    /// 403: the caller's administrator lacks the right.
    #[response(status = 403, description = "Access denied")]
    Forbidden(ApiError),
    /// 404: no such thing, or not visible to the caller.
    #[response(status = 404, description = "Not found")]
    NotFound(ApiError),
    /// 406: the client does not accept JSON.
    #[response(status = 406, description = "Must accept application/json media type")]
    NotAcceptable(ApiError),
    /// 503: try again after `retryDelay` seconds.
    #[response(status = 503, description = "Service is unavailable; try again later")]
    Unavailable(ApiError),
}

/// The errors of every resource API that takes a JSON body, besides [`CommonErrors`].
#[derive(IntoResponses)]
pub enum BodyErrors {
    /// 413: the body is larger than `max_body_bytes`.
    #[response(status = 413, description = "The body is too large (`tooLong`)")]
    TooLarge(ApiError),
    /// 415: the body is not JSON.
    #[response(
        status = 415,
        description = "The body must be application/json (`unsupportedMediaType`)"
    )]
    UnsupportedMediaType(ApiError),
}

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut Document) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "CwsAuth",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "Authorization",
                "`CwsAuth Bearer=<access_token>` (also `Bearer <access_token>`), with a token \
                 from the client-credentials endpoint",
            ))),
        );
        components.add_security_scheme(
            "SmartBasic",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Basic)
                    .description(Some("A Smart Tools API key and its secret"))
                    .build(),
            ),
        );
    }
}

/// What the document says beyond its operations: its title, tags and security schemes. The
/// operations come from the routes ([`super::api_routes`]).
#[derive(OpenApi)]
#[openapi(
    info(
        title = "cloudtrust",
        description = "Citrix Cloud's API-access protocols, self-hosted: bearer tokens for API \
                       clients, and the administration of administrators, API clients and the \
                       system log."
    ),
    modifiers(&Security),
    tags(
        (name = "Bearer tokens", description = "Getting and using bearer tokens"),
        (name = "Administrators", description = "A customer's administrators and their access"),
        (name = "API clients", description = "The calling administrator's API clients"),
        (name = "Workspace OAuth clients", description = "The OAuth 2.0 clients of a customer's Workspace applications"),
        (name = "Workspace sign-in", description = "The OpenID Connect server of Workspace applications, at `/core`"),
        (name = "System log", description = "Who changed what"),
        (name = "Smart Tools", description = "Smart Tools authentication"),
        (name = "Operations", description = "Health of a node"),
    )
)]
struct ApiDoc;

/// The document's frame, without operations.
pub fn base() -> Document {
    ApiDoc::openapi()
}

/// The whole document, built once from the routes (for the portal's API Exploration).
pub fn document() -> &'static Document {
    static DOCUMENT: OnceLock<Document> = OnceLock::new();
    DOCUMENT.get_or_init(|| super::api_routes().into_openapi())
}

/// `GET /openapi.json`: the document, with the serving region's base URL as its server.
pub async fn serve(document: Arc<Document>, Served(serving): Served) -> Json<Document> {
    let mut document = (*document).clone();
    document.servers = Some(vec![ServerBuilder::new().url(&serving.base_url).build()]);
    Json(document)
}
