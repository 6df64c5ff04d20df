//! The Workspace OpenID Connect server at `/core`: discovery and keys, the authorization
//! endpoint with its sign-in and consent pages, the token endpoint, userinfo, revocation,
//! introspection and RP-initiated logout; and Citrix's Workspace discovery.

pub mod authorize;
pub mod discovery;
pub mod endsession;
pub mod pages;
pub mod token;
pub mod userinfo;

use std::net::IpAddr;

use axum::Router;
use axum::http::HeaderMap;
use axum::routing::get;

use super::Services;
use super::basic::{Basic, basic_credentials};
use super::errors::OAuthError;
use super::is_media_type;
use crate::auth::{Auth, Refusal};
use crate::domain::workspace_clients::WorkspaceClient;
use crate::domain::workspace_sign_in::tokens::issuer_of;
use crate::regions::Serving;

/// The end user's session cookie.
pub const SESSION_COOKIE: &str = "cloudtrust_core_session";
/// The cookie that ties a pending authorization request to the browser that started it.
pub const INTERACTION_COOKIE: &str = "cloudtrust_core_interaction";

/// The issuer of the request's host: `<base>/core`.
pub fn issuer(serving: &Serving) -> String {
    issuer_of(&serving.base_url)
}

/// The routes of the pages (the JSON endpoints are declared with the API).
pub fn routes() -> Router<Services> {
    Router::new()
        .route(
            "/core/connect/authorize",
            get(authorize::authorize).post(authorize::authorize_posted),
        )
        .route(
            "/core/login",
            get(authorize::login).post(authorize::sign_in),
        )
        .route(
            "/core/consent",
            get(authorize::consent).post(authorize::decide),
        )
        .route(
            "/core/connect/endsession",
            get(endsession::end_session).post(endsession::confirmed),
        )
}

/// The parameters of a form body, each at most once.
pub struct OAuthForm(Vec<(String, String)>);

impl OAuthForm {
    /// Decodes a form body of the right media type.
    pub fn parse(headers: &HeaderMap, body: &[u8]) -> Result<Self, OAuthError> {
        if !is_media_type(headers, "application/x-www-form-urlencoded") {
            return Err(OAuthError::unsupported_media_type(
                "application/x-www-form-urlencoded",
            ));
        }
        let pairs = super::urlencoded::pairs(body)
            .map(|pair| pair.map(|(k, v)| (k.into_owned(), v.into_owned())))
            .collect::<Result<_, _>>()?;
        Ok(OAuthForm(pairs))
    }

    /// The value of `name` (empty counts as absent); repeated, it is an error (RFC 6749 §3.2).
    pub fn get(&self, name: &str) -> Result<Option<&str>, OAuthError> {
        let mut values = self.0.iter().filter(|(k, _)| k == name).map(|(_, v)| v);
        let first = values.next();
        if values.next().is_some() {
            return Err(OAuthError::invalid_request(format!(
                "parameter `{name}` is repeated"
            )));
        }
        Ok(first.map(String::as_str).filter(|v| !v.is_empty()))
    }

    /// The value of `name`, which must be there.
    pub fn required(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name)?
            .ok_or_else(|| OAuthError::invalid_request(format!("{name} is required")))
    }
}

/// Authenticates the client of a `/core` endpoint: HTTP Basic, or `client_id` (with
/// `client_secret` for private clients) in the form. A disabled client is refused with 400.
pub async fn authenticate_client(
    auth: &Auth,
    source: IpAddr,
    headers: &HeaderMap,
    form: &OAuthForm,
) -> Result<WorkspaceClient, OAuthError> {
    let form_id = form.get("client_id")?;
    let form_secret = form.get("client_secret")?;
    let (id, secret, used_basic) = match basic_credentials(headers) {
        Basic::Malformed => return Err(OAuthError::invalid_client(true)),
        Basic::Given(id, secret) => {
            if form_secret.is_some() || form_id.is_some_and(|f| f != id) {
                return Err(OAuthError::invalid_request(
                    "client credentials given twice, in the Authorization header and the body",
                ));
            }
            (id, Some(secret), true)
        }
        Basic::Absent => match form_id {
            Some(id) => (id.to_owned(), form_secret.map(str::to_owned), false),
            None => return Err(OAuthError::invalid_client(false)),
        },
    };
    match auth
        .authenticate_workspace_client(source, &id, secret.as_deref())
        .await?
    {
        Ok(client) if client.enabled => Ok(client),
        Ok(_) => Err(OAuthError::disabled_client()),
        Err(Refusal::Throttled(wait)) => Err(OAuthError::throttled(wait)),
        Err(_) => Err(OAuthError::invalid_client(used_basic)),
    }
}
