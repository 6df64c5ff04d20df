//! `GET /core/connect/endsession`: RP-initiated logout (OpenID Connect RP-Initiated Logout
//! 1.0). The browser goes back only to a `post_logout_redirect_uri` registered for the client;
//! without an `id_token_hint` of the signed-in user, the user confirms first, so that a link
//! on another site cannot sign anyone out.

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;

use super::SESSION_COOKIE;
use super::pages::{self, message, redirect, unavailable};
use crate::domain::workspace_sign_in::WorkspaceSignIn;
use crate::domain::workspace_sign_in::request::with_query;
use crate::http::middleware::region::Served;
use crate::http::web::session::{
    FormKey, FormToken, SignedOutForm, clear_cookie, cookie, is_https,
};
use crate::regions::Serving;

#[derive(Template)]
#[template(path = "core_signout.html")]
struct SignOutPage {
    email: String,
    csrf: String,
}

fn signed_out(serving: &Serving, mut response: Response) -> Response {
    response.headers_mut().append(
        header::SET_COOKIE,
        clear_cookie(SESSION_COOKIE, is_https(serving)),
    );
    response
}

fn done() -> Response {
    message(
        StatusCode::OK,
        "You are signed out",
        "You are signed out of the Workspace applications of this browser. You can close this page.",
    )
}

/// `GET /core/connect/endsession`.
pub async fn end_session(
    State(form_key): State<FormKey>,
    State(sign_in): State<WorkspaceSignIn>,
    Served(serving): Served,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let params: Vec<(String, String)> =
        form_urlencoded::parse(query.unwrap_or_default().as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
    let get = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    };
    let refuse = |text: &str| message(StatusCode::BAD_REQUEST, "Sign-out cannot go on", text);
    let hint = match get("id_token_hint") {
        Some(token) => match sign_in.read_id_token_hint(token) {
            Some(claims) => Some(claims),
            None => return refuse("The application sent an ID token that was not issued here."),
        },
        None => None,
    };
    let client_id = get("client_id").or(hint.as_ref().map(|h| h.aud.as_str()));
    if let (Some(hint), Some(named)) = (&hint, get("client_id"))
        && hint.aud != named
    {
        return refuse("The ID token was issued to another application.");
    }
    let back = match get("post_logout_redirect_uri") {
        None => None,
        Some(uri) => {
            let client = match client_id {
                Some(id) => match sign_in.client(id).await {
                    Ok(found) => found,
                    Err(e) => return unavailable(&e),
                },
                None => None,
            };
            if !client.is_some_and(|c| c.post_logout_redirect_uris.iter().any(|r| r == uri)) {
                return refuse(
                    "The application asked to return to an address it has not registered \
                     (post_logout_redirect_uri does not match).",
                );
            }
            let state = get("state");
            Some(match state {
                Some(state) => with_query(uri, &[("state", state)]),
                None => uri.to_owned(),
            })
        }
    };
    let token = cookie(&headers, SESSION_COOKIE);
    let session = match &token {
        Some(token) => match sign_in.session(token).await {
            Ok(found) => found,
            Err(e) => return unavailable(&e),
        },
        None => None,
    };
    if let (Some(session), Some(token)) = (session, token) {
        let confirmed = hint.as_ref().is_some_and(|h| h.sub == session.user_id);
        if !confirmed {
            let email = match sign_in.user(&session.user_id).await {
                Ok(user) => user.map(|u| u.email).unwrap_or_default(),
                Err(e) => return unavailable(&e),
            };
            let form = FormToken::for_page(&headers, &serving, &form_key);
            let page = pages::show(
                StatusCode::OK,
                &SignOutPage {
                    email,
                    csrf: form.value.clone(),
                },
            );
            return form.apply(page);
        }
        if let Err(e) = sign_in.end_session(&token).await {
            return unavailable(&e);
        }
    }
    signed_out(
        &serving,
        match back {
            Some(location) => redirect(&location),
            None => done(),
        },
    )
}

/// `POST /core/connect/endsession`: the user confirmed signing out.
pub async fn confirmed(
    State(sign_in): State<WorkspaceSignIn>,
    Served(serving): Served,
    headers: HeaderMap,
    SignedOutForm(_): SignedOutForm,
) -> Response {
    if let Some(token) = cookie(&headers, SESSION_COOKIE)
        && let Err(e) = sign_in.end_session(&token).await
    {
        return unavailable(&e);
    }
    signed_out(&serving, done())
}
