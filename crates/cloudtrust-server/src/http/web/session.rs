//! The console's cookies: the session, and the anti-forgery token of forms shown before
//! sign-in. Every form carries a token that a page of another site cannot know: the session's
//! own, or (signed out) the one in the `cloudtrust_form` cookie (double submit).

use std::sync::Arc;

use aws_lc_rs::constant_time::verify_slices_are_equal;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
pub use axum_extra::extract::cookie::SameSite;
use axum_extra::extract::cookie::{Cookie, CookieJar};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::form::Form;
use super::page::{Message, message};
use crate::domain::administrators::Administrator;
use crate::domain::audit::Actor;
use crate::domain::console_sessions::ConsoleSession;
use crate::domain::customers::Customer;
use crate::domain::secrets::generate_secret;
use crate::http::Services;
use crate::http::middleware::region;
use crate::regions::Serving;

/// The session cookie.
pub const SESSION_COOKIE: &str = "cloudtrust_session";
/// The anti-forgery cookie of signed-out forms (plain HTTP).
pub const FORM_COOKIE: &str = "cloudtrust_form";
/// The anti-forgery cookie of signed-out forms over HTTPS.
pub const HOST_FORM_COOKIE: &str = "__Host-cloudtrust_form";
/// Where a signed-out visitor is sent.
pub const SIGN_IN_PATH: &str = "/console/signin";

/// The value of cookie `name` in the request, if any.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    CookieJar::from_headers(headers)
        .get(name)
        .map(|c| c.value().trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// Whether this request came over HTTPS (its public URL is HTTPS, or it came to the TLS
/// listener), so cookies must be `Secure`.
pub fn is_https(serving: &Serving) -> bool {
    serving.secure
}

fn header_value(cookie: &Cookie<'_>) -> HeaderValue {
    HeaderValue::from_str(&cookie.to_string()).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// A `Set-Cookie` value: `HttpOnly`, for the whole site, `Secure` on HTTPS.
pub fn set_cookie(name: &str, value: &str, same_site: SameSite, https: bool) -> HeaderValue {
    header_value(
        &Cookie::build((name, value))
            .path("/")
            .http_only(true)
            .same_site(same_site)
            .secure(https)
            .build(),
    )
}

/// A `Set-Cookie` value that removes cookie `name`.
pub fn clear_cookie(name: &str, https: bool) -> HeaderValue {
    header_value(
        &Cookie::build((name, ""))
            .path("/")
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(https)
            .removal()
            .build(),
    )
}

/// Whether `given` is `expected`, in constant time.
fn same_token(given: Option<&str>, expected: &str) -> bool {
    given.is_some_and(|given| {
        !expected.is_empty()
            && verify_slices_are_equal(given.as_bytes(), expected.as_bytes()).is_ok()
    })
}

/// Browsers say where a request comes from; one from another site is refused outright.
fn cross_site(headers: &HeaderMap) -> bool {
    headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("cross-site"))
}

/// The answer to a form that fails the anti-forgery check.
pub fn forged() -> Response {
    message(
        StatusCode::FORBIDDEN,
        Message {
            title: "This form could not be accepted",
            text: "It was not sent from a page of this cloudtrust, or the page is older than \
                   your session. Reload the page and try again.",
            link: None,
        },
    )
}

/// The key that signs the signed-out anti-forgery cookie, so a cookie planted by someone else
/// (a sibling host, a network on plain HTTP) is never accepted.
#[derive(Clone)]
pub struct FormKey(pub Arc<aws_lc_rs::hmac::Key>);

impl FormKey {
    /// A key from 32 secret bytes (derived from the key-encryption key).
    pub fn new(secret: &[u8; 32]) -> Self {
        FormKey(Arc::new(aws_lc_rs::hmac::Key::new(
            aws_lc_rs::hmac::HMAC_SHA256,
            secret,
        )))
    }

    fn sign(&self, token: &str) -> String {
        let tag = aws_lc_rs::hmac::sign(&self.0, token.as_bytes());
        format!("{token}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
    }

    /// The token of a signed cookie value, when the signature is this key's.
    fn open<'v>(&self, value: &'v str) -> Option<&'v str> {
        let (token, tag) = value.rsplit_once('.')?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        aws_lc_rs::hmac::verify(&self.0, token.as_bytes(), &tag).ok()?;
        (token.len() >= 32).then_some(token)
    }
}

impl std::fmt::Debug for FormKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FormKey")
    }
}

/// The name of the signed-out anti-forgery cookie: over HTTPS with the `__Host-` prefix, which
/// browsers accept only from this very host, `Secure`, for the whole site.
fn form_cookie_name(https: bool) -> &'static str {
    if https { HOST_FORM_COOKIE } else { FORM_COOKIE }
}

/// The anti-forgery token of a signed-out form: the one the browser already has in its
/// cookie, or a fresh one to set.
pub struct FormToken {
    /// The token to put in the form.
    pub value: String,
    /// The cookie to set, when the browser had none.
    pub set: Option<HeaderValue>,
}

impl FormToken {
    /// The token for a page about to show a signed-out form.
    pub fn for_page(headers: &HeaderMap, serving: &Serving, key: &FormKey) -> Self {
        let https = is_https(serving);
        let existing = cookie(headers, form_cookie_name(https));
        match existing.as_deref().and_then(|v| key.open(v)) {
            Some(token) => FormToken {
                value: token.to_owned(),
                set: None,
            },
            None => {
                let value = generate_secret();
                let set = set_cookie(
                    form_cookie_name(https),
                    &key.sign(&value),
                    SameSite::Strict,
                    https,
                );
                FormToken {
                    value,
                    set: Some(set),
                }
            }
        }
    }

    /// Adds the cookie to a response, when one is to be set.
    pub fn apply(&self, mut response: Response) -> Response {
        if let Some(set) = &self.set {
            response
                .headers_mut()
                .append(header::SET_COOKIE, set.clone());
        }
        response
    }
}

/// Whether a signed-out form is genuine: its `csrf` field equals the `cloudtrust_form`
/// cookie, and it does not come from another site.
fn genuine_signed_out(headers: &HeaderMap, form: &Form, https: bool, key: &FormKey) -> bool {
    let cookie = cookie(headers, form_cookie_name(https)).unwrap_or_default();
    let token = key.open(&cookie).unwrap_or_default();
    !cross_site(headers) && same_token(form.get("csrf"), token)
}

/// Whether a form of `session` is genuine: its `csrf` field is the session's token, and it
/// does not come from another site.
fn genuine_for(headers: &HeaderMap, form: &Form, session: &ConsoleSession) -> bool {
    !cross_site(headers) && same_token(form.get("csrf"), &session.csrf_token)
}

/// A signed-in administrator, as the session and the directory know it now.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// The session token (from the cookie).
    pub token: String,
    /// The session.
    pub session: ConsoleSession,
    /// The administrator, with its current access.
    pub administrator: Administrator,
    /// Its customer.
    pub customer: Customer,
    /// Whether the public URL is HTTPS.
    pub https: bool,
}

impl SignedIn {
    /// The administrator as the directory sees it.
    pub fn actor(&self) -> Actor {
        Actor::administrator(&self.administrator)
    }
}

/// A session that has not picked its customer yet.
#[derive(Debug, Clone)]
pub struct Choosing {
    /// The session token.
    pub token: String,
    /// The session.
    pub session: ConsoleSession,
}

/// What the session cookie leads to.
enum Found {
    None,
    Choosing(Choosing),
    SignedIn(Box<SignedIn>),
}

async fn find(parts: &Parts, state: &Services) -> Result<Found, Response> {
    let Some(token) = cookie(&parts.headers, SESSION_COOKIE) else {
        return Ok(Found::None);
    };
    let unavailable = |e: crate::error::Error| {
        tracing::error!(error = %e, "reading a console session failed");
        super::page::unavailable()
    };
    let Some(session) = state.sessions.find(&token).await.map_err(unavailable)? else {
        return Ok(Found::None);
    };
    let Some(administrator_id) = session.administrator_id.clone() else {
        return Ok(Found::Choosing(Choosing { token, session }));
    };
    let Some(administrator) = state
        .directory
        .lookup_administrator(&administrator_id)
        .await
        .map_err(unavailable)?
    else {
        return Ok(Found::None);
    };
    let customer = state
        .directory
        .lookup_customer(&administrator.customer_id)
        .await
        .map_err(unavailable)?;
    let https = region::current().is_some_and(|s| is_https(&s));
    Ok(Found::SignedIn(Box::new(SignedIn {
        token,
        session,
        administrator,
        customer,
        https,
    })))
}

/// Where a request without a usable session goes: pages to the sign-in form (saying that the
/// session ended, when there was one); forms get a page saying so, as their input is lost.
fn signed_out(parts: &Parts) -> Response {
    let had_session = cookie(&parts.headers, SESSION_COOKIE).is_some();
    if parts.method == Method::GET || parts.method == Method::HEAD {
        let to = if had_session {
            format!("{SIGN_IN_PATH}?ended=1")
        } else {
            SIGN_IN_PATH.to_owned()
        };
        return Redirect::to(&to).into_response();
    }
    message(
        StatusCode::UNAUTHORIZED,
        Message {
            title: "Your session has ended",
            text: "You were signed out, or your session expired after a time without use. \
                   Sign in again, then repeat what you were doing.",
            link: Some((SIGN_IN_PATH, "Sign in")),
        },
    )
}

impl FromRequestParts<Services> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &Services) -> Result<Self, Response> {
        match find(parts, state).await? {
            Found::SignedIn(signed_in) => Ok(*signed_in),
            Found::Choosing(_) => Err(Redirect::to("/console/customers").into_response()),
            Found::None => Err(signed_out(parts)),
        }
    }
}

impl FromRequestParts<Services> for Choosing {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &Services) -> Result<Self, Response> {
        match find(parts, state).await? {
            Found::SignedIn(signed_in) => Ok(Choosing {
                token: signed_in.token,
                session: signed_in.session,
            }),
            Found::Choosing(choosing) => Ok(choosing),
            Found::None => Err(signed_out(parts)),
        }
    }
}

/// The signed-in administrator, if any (for pages open to everyone, such as the portal).
pub struct MaybeSignedIn(pub Option<SignedIn>);

impl FromRequestParts<Services> for MaybeSignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &Services) -> Result<Self, Response> {
        match find(parts, state).await? {
            Found::SignedIn(signed_in) => Ok(MaybeSignedIn(Some(*signed_in))),
            _ => Ok(MaybeSignedIn(None)),
        }
    }
}

/// What a session-bound form is posted by: a signed-in administrator, or a session that is
/// still choosing its customer.
pub trait HasSession {
    /// The session.
    fn session(&self) -> &ConsoleSession;
}

impl HasSession for SignedIn {
    fn session(&self) -> &ConsoleSession {
        &self.session
    }
}

impl HasSession for Choosing {
    fn session(&self) -> &ConsoleSession {
        &self.session
    }
}

/// Reads a form body within the configured size.
async fn read_form(body: axum::body::Body, state: &Services) -> Result<Form, Response> {
    match axum::body::to_bytes(body, state.body_limit.0).await {
        Ok(bytes) => Ok(Form::parse(&bytes)),
        Err(_) => Err(message(
            StatusCode::PAYLOAD_TOO_LARGE,
            Message {
                title: "Too much text",
                text: "The form sent more than this server accepts. Shorten what you typed and \
                       try again.",
                link: None,
            },
        )),
    }
}

/// A form posted within a session, with its anti-forgery token checked: who posted it, and
/// the form.
pub struct Posted<S> {
    /// The session's owner.
    pub by: S,
    /// The form.
    pub form: Form,
}

impl<S> FromRequest<Services> for Posted<S>
where
    S: HasSession + FromRequestParts<Services, Rejection = Response> + Send,
{
    type Rejection = Response;

    async fn from_request(request: Request, state: &Services) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        let by = S::from_request_parts(&mut parts, state).await?;
        let form = read_form(body, state).await?;
        if !genuine_for(&parts.headers, &form, by.session()) {
            return Err(forged());
        }
        Ok(Posted { by, form })
    }
}

/// A form posted before sign-in, with its anti-forgery token checked against the signed
/// `cloudtrust_form` cookie (`__Host-cloudtrust_form` over HTTPS).
pub struct SignedOutForm(pub Form);

impl FromRequest<Services> for SignedOutForm {
    type Rejection = Response;

    async fn from_request(request: Request, state: &Services) -> Result<Self, Response> {
        let (parts, body) = request.into_parts();
        let https = region::current().is_some_and(|s| is_https(&s));
        let form = read_form(body, state).await?;
        if !genuine_signed_out(&parts.headers, &form, https, &state.form_key) {
            return Err(forged());
        }
        Ok(SignedOutForm(form))
    }
}
