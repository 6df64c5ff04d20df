//! Signing in to the console, choosing a customer, signing out.
//!
//! Passwords are checked by the authentication service, which counts failed sign-ins and
//! refuses sign-in for a while after too many.

use std::sync::Arc;

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

use super::page::{Frame, render, unavailable};
use super::session::{
    Choosing, FormKey, FormToken, MaybeSignedIn, Posted, SESSION_COOKIE, SameSite, SignedOutForm,
    clear_cookie, forged, is_https, set_cookie,
};
use crate::auth::{Auth, Refusal};
use crate::domain::Directory;
use crate::domain::console_sessions::ConsoleSessions;
use crate::http::middleware::client_address::ClientAddress;
use crate::http::middleware::region::Served;

/// Where a signed-in administrator lands.
pub const HOME_PATH: &str = "/console/iam";

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignInPage {
    frame: Frame,
    csrf: String,
    email: String,
    notice: Option<&'static str>,
    error: Option<String>,
}

/// Whether the query string has the parameter `name`.
fn has_param(query: Option<&str>, name: &str) -> bool {
    query
        .unwrap_or_default()
        .split('&')
        .any(|pair| pair.split('=').next() == Some(name))
}

/// `GET /console`: the console's home.
pub async fn home() -> Redirect {
    Redirect::to(HOME_PATH)
}

/// `GET /console/signin`.
pub async fn show(
    State(form_key): State<FormKey>,
    Served(serving): Served,
    MaybeSignedIn(signed_in): MaybeSignedIn,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    if signed_in.is_some() {
        return Redirect::to(HOME_PATH).into_response();
    }
    let token = FormToken::for_page(&headers, &serving, &form_key);
    let notice = if has_param(query.as_deref(), "ended") {
        Some("Your session ended. Sign in again to go on.")
    } else if has_param(query.as_deref(), "signed_out") {
        Some("You are signed out.")
    } else {
        None
    };
    token.apply(render(
        StatusCode::OK,
        &SignInPage {
            frame: Frame::signed_out(),
            csrf: token.value.clone(),
            email: String::new(),
            notice,
            error: None,
        },
    ))
}

/// `POST /console/signin`: email and password; a new session on success.
pub async fn submit(
    State(form_key): State<FormKey>,
    State(auth): State<Arc<Auth>>,
    State(sessions): State<ConsoleSessions>,
    ClientAddress(source): ClientAddress,
    Served(serving): Served,
    headers: HeaderMap,
    SignedOutForm(form): SignedOutForm,
) -> Response {
    let token = FormToken::for_page(&headers, &serving, &form_key);
    let email = form.text("email").to_owned();
    let password = form.get("password").unwrap_or_default();
    let again = |status: StatusCode, error: String| {
        render(
            status,
            &SignInPage {
                frame: Frame::signed_out(),
                csrf: token.value.clone(),
                email: email.clone(),
                notice: None,
                error: Some(error),
            },
        )
    };
    if email.is_empty() || password.is_empty() {
        return again(
            StatusCode::BAD_REQUEST,
            "Enter your email address and your password.".to_owned(),
        );
    }
    let matched = match auth.authenticate_password(source, &email, password).await {
        Ok(Ok(matched)) => matched,
        Ok(Err(Refusal::Throttled(wait))) => {
            let mut response = again(
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "Too many failed sign-ins. For your protection, sign-in is paused: try \
                     again in {wait} seconds."
                ),
            );
            if let Ok(value) = wait.to_string().parse() {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            return response;
        }
        Ok(Err(Refusal::Busy(wait))) => {
            let mut response = again(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("Many people are signing in right now. Try again in {wait} seconds."),
            );
            if let Ok(value) = wait.to_string().parse() {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            return response;
        }
        Ok(Err(_)) => {
            return again(
                StatusCode::UNAUTHORIZED,
                "That email address and password do not match an administrator. Check both \
                 and try again."
                    .to_owned(),
            );
        }
        Err(e) => {
            tracing::error!(error = %e, "console sign-in failed");
            return unavailable();
        }
    };
    let (session_token, session) = match sessions.start(&matched).await {
        Ok(started) => started,
        Err(e) => {
            tracing::error!(error = %e, "starting a console session failed");
            return unavailable();
        }
    };
    tracing::info!(administrator = ?session.administrator_id, "console sign-in");
    let to = if session.administrator_id.is_some() {
        HOME_PATH
    } else {
        "/console/customers"
    };
    let mut response = Redirect::to(to).into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(
            SESSION_COOKIE,
            &session_token,
            SameSite::Lax,
            is_https(&serving),
        ),
    );
    response
}

/// One customer the sign-in matched.
struct Choice {
    administrator_id: String,
    customer_id: String,
    customer_name: String,
}

#[derive(Template)]
#[template(path = "choose_customer.html")]
struct ChooseCustomerPage {
    frame: Frame,
    csrf: String,
    choices: Vec<Choice>,
}

/// `GET /console/customers`: the customers the sign-in matched.
pub async fn customers(State(directory): State<Directory>, choosing: Choosing) -> Response {
    let mut choices = Vec::with_capacity(choosing.session.choices.len());
    for id in &choosing.session.choices {
        let found = match directory.lookup_administrator(id).await {
            Ok(found) => found,
            Err(e) => {
                tracing::error!(error = %e, "listing a sign-in's customers failed");
                return unavailable();
            }
        };
        let Some(admin) = found else { continue };
        match directory.lookup_customer(&admin.customer_id).await {
            Ok(customer) => choices.push(Choice {
                administrator_id: admin.id,
                customer_id: customer.id,
                customer_name: customer.name,
            }),
            Err(e) => {
                tracing::error!(error = %e, "listing a sign-in's customers failed");
                return unavailable();
            }
        }
    }
    render(
        StatusCode::OK,
        &ChooseCustomerPage {
            frame: Frame {
                csrf: choosing.session.csrf_token.clone(),
                ..Frame::signed_out()
            },
            csrf: choosing.session.csrf_token,
            choices,
        },
    )
}

/// `POST /console/customers`: acts as the administrator of the chosen customer.
pub async fn choose(
    State(sessions): State<ConsoleSessions>,
    Posted { by: choosing, form }: Posted<Choosing>,
) -> Response {
    match sessions
        .choose(
            &choosing.token,
            &choosing.session,
            form.text("administrator"),
        )
        .await
    {
        Ok(()) => Redirect::to(HOME_PATH).into_response(),
        Err(crate::error::Error::Forbidden(_)) => forged(),
        Err(e) => {
            tracing::error!(error = %e, "choosing a customer failed");
            unavailable()
        }
    }
}

/// `POST /console/signout`: ends the session.
pub async fn sign_out(
    State(sessions): State<ConsoleSessions>,
    Served(serving): Served,
    Posted { by: choosing, .. }: Posted<Choosing>,
) -> Response {
    if let Err(e) = sessions.end(&choosing.token).await {
        tracing::error!(error = %e, "ending a console session failed");
        return unavailable();
    }
    let mut response = Redirect::to("/console/signin?signed_out=1").into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        clear_cookie(SESSION_COOKIE, is_https(&serving)),
    );
    response
}
