//! Signing out: `POST /logout`.

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;

use crate::{SharedApp, cookies};

/// `POST /logout`: revokes the session's refresh token at the server (RFC 7009), forgets the
/// session, clears the cookie and sends the browser to the server's end-session endpoint to
/// end its session there too — or home when the server has none.
///
/// A POST, and the cookie is `SameSite=Lax`: another site can neither link nor post here with
/// the user's session.
pub async fn logout(State(app): State<SharedApp>, jar: CookieJar) -> Response {
    let session = jar
        .get(cookies::SESSION)
        .and_then(|cookie| app.sessions.remove(cookie.value()));
    let jar = jar.remove(cookies::removal(
        cookies::SESSION,
        app.config.secure_cookies(),
    ));
    let Some(session) = session else {
        return (jar, Redirect::to("/")).into_response();
    };
    let sign_out = session.sign_out().await;
    let (token, hint) = &sign_out.revoke;
    if let Err(reason) = app.provider.revoke(token, hint).await {
        // The session is forgotten here anyway; the token lapses at the server on its own.
        tracing::warn!(%reason, "the refresh token could not be revoked");
    }
    tracing::info!(subject = %session.user.subject, "signed out");
    let to = app
        .provider
        .end_session_url(&sign_out.id_token)
        .map_or_else(|| "/".to_owned(), String::from);
    (jar, Redirect::to(&to)).into_response()
}
