//! Signing in: `GET /login` starts the authorization code flow, the redirect URI's path
//! finishes it.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use serde::Deserialize;

use crate::provider::SignInError;
use crate::sessions::Session;
use crate::{SharedApp, cookies, pages};

/// `GET /login`: keeps the PKCE verifier, state and nonce on the server under a random key,
/// puts the key in a short-lived cookie and sends the browser to the sign-in server.
pub async fn login(State(app): State<SharedApp>, jar: CookieJar) -> Response {
    let (url, pending) = app.provider.authorization();
    let key = app.pending.insert(pending);
    let secure = app.config.secure_cookies();
    let cookie = cookies::with_key(cookies::LOGIN, key, secure, Some(app.config.login_timeout));
    (jar.add(cookie), Redirect::to(url.as_str())).into_response()
}

/// The authorization response (RFC 6749 §4.1.2, RFC 9207).
#[derive(Deserialize)]
pub struct AuthorizationResponse {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
    iss: Option<String>,
}

/// The redirect URI: checks the answer against the sign-in this browser started, exchanges
/// the code, keeps the tokens in a new session and gives the browser only the session's key.
pub async fn callback(
    State(app): State<SharedApp>,
    jar: CookieJar,
    Query(answer): Query<AuthorizationResponse>,
) -> Response {
    let secure = app.config.secure_cookies();
    // The sign-in is spent whatever happens next: a code or state is good for one try.
    let pending = jar
        .get(cookies::LOGIN)
        .and_then(|cookie| app.pending.remove(cookie.value()));
    let jar = jar.remove(cookies::removal(cookies::LOGIN, secure));
    let refuse = |message: &str| (jar.clone(), pages::error(StatusCode::BAD_REQUEST, message));
    let Some(pending) = pending else {
        return refuse(
            "This sign-in has expired or was not started in this browser. Please sign in again.",
        )
        .into_response();
    };
    if answer.state.as_deref() != Some(pending.state()) {
        return refuse(
            "The answer from the sign-in server does not belong to the sign-in this browser \
             started (the state does not match).",
        )
        .into_response();
    }
    // RFC 9207: an answer naming another issuer came from another server (a mix-up attack).
    if answer
        .iss
        .as_deref()
        .is_some_and(|iss| iss != app.provider.issuer())
    {
        return refuse("The answer comes from another sign-in server than this service uses.")
            .into_response();
    }
    if let Some(error) = &answer.error {
        let message = match (error.as_str(), &answer.error_description) {
            ("access_denied", _) => "The sign-in was cancelled or access was denied.".to_owned(),
            (code, Some(description)) => format!("The sign-in failed: {code} ({description})."),
            (code, None) => format!("The sign-in failed: {code}."),
        };
        return refuse(&message).into_response();
    }
    let Some(code) = answer.code else {
        return refuse("The answer from the sign-in server carries no authorization code.")
            .into_response();
    };
    let (tokens, user) = match app.provider.exchange(code, pending).await {
        Ok(signed_in) => signed_in,
        Err(e) => {
            tracing::warn!(error = %e, "sign-in failed");
            let status = match e {
                SignInError::Unavailable(_) => StatusCode::BAD_GATEWAY,
                SignInError::Refused(_) | SignInError::IdToken(_) => StatusCode::BAD_REQUEST,
            };
            let message = format!("The sign-in could not be completed: {e}.");
            return (jar, pages::error(status, &message)).into_response();
        }
    };
    // A new session id at every sign-in: a session id planted before it is worth nothing.
    if let Some(old) = jar.get(cookies::SESSION) {
        app.sessions.remove(old.value());
    }
    tracing::info!(subject = %user.subject, "signed in");
    let key = app.sessions.insert(Arc::new(Session::new(user, tokens)));
    let jar = jar.add(cookies::with_key(cookies::SESSION, key, secure, None));
    (jar, Redirect::to("/")).into_response()
}
