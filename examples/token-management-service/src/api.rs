//! The browser's API: `GET /api/me`, answered with the session's tokens, which the browser
//! never sees.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use serde_json::json;

use crate::provider::UserInfo;
use crate::sessions::AccessError;
use crate::{SharedApp, cookies};

/// `GET /api/me`: the user's claims from the server's userinfo endpoint. The access token is
/// refreshed first when it expires within the refresh margin, and once more if the server
/// refuses it anyway; 401 without a session, or when the server has ended it.
pub async fn me(State(app): State<SharedApp>, jar: CookieJar) -> Response {
    let Some((key, session)) = app.session(&jar) else {
        return json_answer(
            StatusCode::UNAUTHORIZED,
            json!({"error": "not_signed_in", "error_description": "Sign in at /login first."}),
        );
    };
    let mut refused = None;
    for _ in 0..2 {
        let margin = app.config.refresh_margin;
        let token = match session
            .access_token(&app.provider, margin, refused.as_ref())
            .await
        {
            Ok(token) => token,
            Err(AccessError::Ended(reason)) => {
                tracing::info!(%reason, "session ended by the server");
                break;
            }
            Err(AccessError::Unavailable(reason)) => return unavailable(&reason),
        };
        match app.provider.userinfo(&token).await {
            UserInfo::Claims(claims) => return json_answer(StatusCode::OK, claims),
            UserInfo::Unauthorized => refused = Some(token),
            UserInfo::Failed(reason) => return unavailable(&reason),
        }
    }
    // Refused even after a refresh, or not refreshable: the server no longer honours it.
    app.sessions.remove(&key);
    let jar = jar.remove(cookies::removal(
        cookies::SESSION,
        app.config.secure_cookies(),
    ));
    let answer = json_answer(
        StatusCode::UNAUTHORIZED,
        json!({"error": "session_ended", "error_description": "The session has ended; sign in again at /login."}),
    );
    (jar, answer).into_response()
}

fn unavailable(reason: &str) -> Response {
    tracing::warn!(%reason, "userinfo failed");
    json_answer(
        StatusCode::BAD_GATEWAY,
        json!({"error": "upstream_unavailable", "error_description": reason}),
    )
}

/// A JSON answer that no cache keeps: it is about the signed-in user.
fn json_answer(status: StatusCode, body: serde_json::Value) -> Response {
    (status, [(header::CACHE_CONTROL, "no-store")], Json(body)).into_response()
}
