//! The service's two cookies. Each holds only a random key to state kept on the server, is
//! `HttpOnly` (no script can read it) and `SameSite=Lax` (not sent with cross-site POSTs, so
//! another site cannot sign the user out or in), and `Secure` when the service is on HTTPS.

use std::time::Duration;

use axum_extra::extract::cookie::{Cookie, SameSite};

/// The session cookie: the key of the session that holds the tokens.
pub const SESSION: &str = "tms_session";
/// The sign-in cookie: the key of the sign-in in progress (PKCE verifier, state and nonce).
pub const LOGIN: &str = "tms_login";

/// A cookie `name` holding `key`; it lasts as long as the browser session unless
/// `lifetime` is given.
pub fn with_key(
    name: &'static str,
    key: String,
    secure: bool,
    lifetime: Option<Duration>,
) -> Cookie<'static> {
    let mut cookie = Cookie::build((name, key))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure);
    if let Some(lifetime) = lifetime {
        let seconds = i64::try_from(lifetime.as_secs()).unwrap_or(i64::MAX);
        cookie = cookie.max_age(time::Duration::seconds(seconds));
    }
    cookie.build()
}

/// What removes cookie `name`: the browser matches it by name and path.
pub fn removal(name: &'static str, secure: bool) -> Cookie<'static> {
    with_key(name, String::new(), secure, None)
}
