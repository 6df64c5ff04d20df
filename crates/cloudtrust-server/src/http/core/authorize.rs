//! `GET /core/connect/authorize` and the pages it leads to: sign-in (`/core/login`) and consent
//! (`/core/consent`). A request that needs either waits in the database under a random id,
//! tied to the browser by a cookie; the forms carry its anti-forgery token.

use std::sync::Arc;

use askama::Template;
use aws_lc_rs::constant_time::verify_slices_are_equal;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;

use super::pages::{self, expired, message, redirect, unavailable};
use super::{INTERACTION_COOKIE, SESSION_COOKIE, issuer};
use crate::auth::{Auth, Refusal};
use crate::domain::Directory;
use crate::domain::workspace_clients::WorkspaceClient;
use crate::domain::workspace_sign_in::request::{self, code_location, error_location};
use crate::domain::workspace_sign_in::{
    AuthorizeError, Interaction, Next, WorkspaceSession, WorkspaceSignIn, scopes,
};
use crate::http::middleware::client_address::ClientAddress;
use crate::http::middleware::region::Served;
use crate::http::web::form::Form;
use crate::http::web::session::{SameSite, clear_cookie, cookie, is_https, set_cookie};
use crate::regions::Serving;

fn pairs(bytes: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(bytes)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// `GET /core/connect/authorize`.
pub async fn authorize(
    State(sign_in): State<WorkspaceSignIn>,
    Served(serving): Served,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let params = pairs(query.unwrap_or_default().as_bytes());
    start(&sign_in, &serving, &headers, &params).await
}

/// `POST /core/connect/authorize` (OpenID Connect Core §3.1.2.1: the same, as a form).
pub async fn authorize_posted(
    State(sign_in): State<WorkspaceSignIn>,
    Served(serving): Served,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    start(&sign_in, &serving, &headers, &pairs(&body)).await
}

async fn start(
    sign_in: &WorkspaceSignIn,
    serving: &Serving,
    headers: &HeaderMap,
    params: &[(String, String)],
) -> Response {
    let issuer = issuer(serving);
    let client_id = params
        .iter()
        .find(|(k, _)| k == "client_id")
        .map(|(_, v)| v.as_str());
    let client = match client_id {
        Some(id) => match sign_in.client(id).await {
            Ok(found) => found,
            Err(e) => return unavailable(&e),
        },
        None => None,
    };
    let request = match request::check(params, client.as_ref(), &issuer) {
        Ok(request) => request,
        Err(AuthorizeError::Page(text)) => {
            return message(StatusCode::BAD_REQUEST, "This sign-in cannot go on", &text);
        }
        Err(AuthorizeError::Redirect(refusal)) => return redirect(&refusal.location()),
    };
    let Some(client) = client else {
        return unavailable(&crate::error::Error::internal("checked client missing"));
    };
    let session = match cookie(headers, SESSION_COOKIE) {
        Some(token) => match sign_in.session(&token).await {
            Ok(found) => found,
            Err(e) => return unavailable(&e),
        },
        None => None,
    };
    let next = match sign_in.next_step(&request, &client, session.as_ref()).await {
        Ok(next) => next,
        Err(e) => return unavailable(&e),
    };
    let https = is_https(serving);
    match (next, session) {
        (Next::Issue, Some(session)) => {
            issue(
                sign_in,
                &request,
                &client,
                &session.user_id,
                session.auth_time,
            )
            .await
        }
        (Next::SignIn, _) | (Next::Issue, None) if request.prompt.none => redirect(
            &error_location(&request, "login_required", "the user is not signed in"),
        ),
        (Next::Consent, _) if request.prompt.none => redirect(&error_location(
            &request,
            "consent_required",
            "the user has not consented to these scopes",
        )),
        (Next::Consent, Some(session)) => {
            wait(sign_in, request, Some(&session), "/core/consent", https).await
        }
        _ => wait(sign_in, request, None, "/core/login", https).await,
    }
}

/// Stores the request to wait for `page`, and sends the browser there.
async fn wait(
    sign_in: &WorkspaceSignIn,
    request: request::AuthorizationRequest,
    session: Option<&WorkspaceSession>,
    page: &str,
    https: bool,
) -> Response {
    let (id, _) = match sign_in.begin(request).await {
        Ok(started) => started,
        Err(e) => return unavailable(&e),
    };
    if let Some(session) = session
        && let Err(e) = sign_in
            .interaction_signed_in(&id, &session.user_id, session.auth_time)
            .await
    {
        return unavailable(&e);
    }
    let mut response = redirect(&format!("{page}?interaction={id}"));
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(INTERACTION_COOKIE, &id, SameSite::Lax, https),
    );
    response
}

/// Issues the code and sends the browser back to the application.
async fn issue(
    sign_in: &WorkspaceSignIn,
    request: &request::AuthorizationRequest,
    client: &WorkspaceClient,
    user_id: &str,
    auth_time: i64,
) -> Response {
    match sign_in
        .issue_code(request, client, user_id, auth_time)
        .await
    {
        Ok(code) => redirect(&code_location(request, &code)),
        Err(e) => unavailable(&e),
    }
}

/// A pending request the browser may act on: the one its cookie names, still pending, for
/// an enabled client.
struct Pending {
    id: String,
    interaction: Interaction,
    client: WorkspaceClient,
}

/// Finds the pending request `id` for this browser.
async fn pending(
    sign_in: &WorkspaceSignIn,
    headers: &HeaderMap,
    id: &str,
) -> Result<Pending, Response> {
    let ours = cookie(headers, INTERACTION_COOKIE)
        .is_some_and(|c| verify_slices_are_equal(c.as_bytes(), id.as_bytes()).is_ok());
    if id.is_empty() || !ours {
        return Err(expired());
    }
    let interaction = match sign_in.interaction(id).await {
        Ok(Some(found)) => found,
        Ok(None) => return Err(expired()),
        Err(e) => return Err(unavailable(&e)),
    };
    let client = match sign_in.client(&interaction.request.client_id).await {
        Ok(Some(client)) if client.enabled => client,
        Ok(_) => {
            return Err(message(
                StatusCode::BAD_REQUEST,
                "This sign-in cannot go on",
                "This application has been disabled by its administrator.",
            ));
        }
        Err(e) => return Err(unavailable(&e)),
    };
    Ok(Pending {
        id: id.to_owned(),
        interaction,
        client,
    })
}

/// Whether a form of `pending` is genuine: its token, and not from another site.
fn genuine(headers: &HeaderMap, form: &Form, pending: &Pending) -> bool {
    let cross_site = headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("cross-site"));
    let token = form.get("csrf").unwrap_or_default();
    !cross_site
        && verify_slices_are_equal(token.as_bytes(), pending.interaction.csrf_token.as_bytes())
            .is_ok()
}

/// A form posted on the sign-in or consent page: its pending request, found for this browser,
/// and its anti-forgery token checked.
async fn posted(
    sign_in: &WorkspaceSignIn,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<(Form, Pending), Response> {
    let form = Form::parse(body);
    let pending = pending(sign_in, headers, form.text("interaction")).await?;
    if !genuine(headers, &form, &pending) {
        return Err(forged());
    }
    Ok((form, pending))
}

fn forged() -> Response {
    message(
        StatusCode::FORBIDDEN,
        "This form could not be accepted",
        "It was not sent from this sign-in page. Go back to the application and sign in again.",
    )
}

/// The value of `interaction` in a query string.
fn interaction_param(query: Option<&str>) -> String {
    pairs(query.unwrap_or_default().as_bytes())
        .into_iter()
        .find(|(k, _)| k == "interaction")
        .map(|(_, v)| v)
        .unwrap_or_default()
}

#[derive(Template)]
#[template(path = "core_login.html")]
struct LoginPage {
    client_name: String,
    customer_name: String,
    csrf: String,
    interaction: String,
    email: String,
    error: Option<String>,
}

async fn login_page(
    directory: &Directory,
    pending: &Pending,
    status: StatusCode,
    email: String,
    error: Option<String>,
) -> Response {
    let customer_name = match directory.lookup_customer(&pending.client.customer_id).await {
        Ok(customer) => customer.name,
        Err(e) => return unavailable(&e),
    };
    pages::show(
        status,
        &LoginPage {
            client_name: pending.client.display_name.clone(),
            customer_name,
            csrf: pending.interaction.csrf_token.clone(),
            interaction: pending.id.clone(),
            email,
            error,
        },
    )
}

/// `GET /core/login?interaction=…`: the sign-in form.
pub async fn login(
    State(sign_in): State<WorkspaceSignIn>,
    State(directory): State<Directory>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let id = interaction_param(query.as_deref());
    match pending(&sign_in, &headers, &id).await {
        Ok(pending) => login_page(&directory, &pending, StatusCode::OK, String::new(), None).await,
        Err(response) => response,
    }
}

/// `POST /core/login`: email and password of an end user of the client's customer.
pub async fn sign_in(
    State(sign_in): State<WorkspaceSignIn>,
    State(auth): State<Arc<Auth>>,
    State(directory): State<Directory>,
    ClientAddress(source): ClientAddress,
    Served(serving): Served,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (form, pending) = match posted(&sign_in, &headers, &body).await {
        Ok(posted) => posted,
        Err(response) => return response,
    };
    let request = &pending.interaction.request;
    if form.get("cancel").is_some() {
        return finish_refused(
            &sign_in,
            &pending,
            "access_denied",
            "the user cancelled sign-in",
            &serving,
        )
        .await;
    }
    let email = form.text("email").to_owned();
    let password = form.get("password").unwrap_or_default();
    if email.is_empty() || password.is_empty() {
        let error = "Enter your email address and your password.".to_owned();
        return login_page(
            &directory,
            &pending,
            StatusCode::BAD_REQUEST,
            email,
            Some(error),
        )
        .await;
    }
    let user = match auth
        .authenticate_end_user(source, &pending.client.customer_id, &email, password)
        .await
    {
        Ok(Ok(user)) => user,
        Ok(Err(Refusal::Throttled(wait))) => {
            let error = format!(
                "Too many failed sign-ins. For your protection, sign-in is paused: try again in \
                 {wait} seconds."
            );
            let status = StatusCode::TOO_MANY_REQUESTS;
            return paused(&directory, &pending, email, status, wait, error).await;
        }
        Ok(Err(Refusal::Busy(wait))) => {
            let error =
                format!("Many people are signing in right now. Try again in {wait} seconds.");
            let status = StatusCode::SERVICE_UNAVAILABLE;
            return paused(&directory, &pending, email, status, wait, error).await;
        }
        Ok(Err(_)) => {
            let error = "That email address and password do not match. Check both and try again."
                .to_owned();
            return login_page(
                &directory,
                &pending,
                StatusCode::UNAUTHORIZED,
                email,
                Some(error),
            )
            .await;
        }
        Err(e) => return unavailable(&e),
    };
    let (token, session) = match sign_in.start_session(&user).await {
        Ok(started) => started,
        Err(e) => return unavailable(&e),
    };
    let https = is_https(&serving);
    let session_cookie = set_cookie(SESSION_COOKIE, &token, SameSite::Lax, https);
    let next = match sign_in
        .consent_step(request, &pending.client, &user.id)
        .await
    {
        Ok(next) => next,
        Err(e) => return unavailable(&e),
    };
    let mut response = if next == Next::Consent {
        match sign_in
            .interaction_signed_in(&pending.id, &user.id, session.auth_time)
            .await
        {
            Ok(()) => redirect(&format!("/core/consent?interaction={}", pending.id)),
            Err(e) => unavailable(&e),
        }
    } else {
        complete(&sign_in, &pending, &user.id, session.auth_time, https).await
    };
    response
        .headers_mut()
        .append(header::SET_COOKIE, session_cookie);
    response
}

/// The sign-in page again, saying why sign-in must wait `wait` seconds.
async fn paused(
    directory: &Directory,
    pending: &Pending,
    email: String,
    status: StatusCode,
    wait: u64,
    error: String,
) -> Response {
    let mut response = login_page(directory, pending, status, email, Some(error)).await;
    if let Ok(value) = HeaderValue::from_str(&wait.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// Ends the pending request with a code for `user_id`.
async fn complete(
    sign_in: &WorkspaceSignIn,
    pending: &Pending,
    user_id: &str,
    auth_time: i64,
    https: bool,
) -> Response {
    match sign_in.finish(&pending.id).await {
        Ok(true) => {}
        Ok(false) => return expired(),
        Err(e) => return unavailable(&e),
    }
    let mut response = issue(
        sign_in,
        &pending.interaction.request,
        &pending.client,
        user_id,
        auth_time,
    )
    .await;
    response
        .headers_mut()
        .append(header::SET_COOKIE, clear_cookie(INTERACTION_COOKIE, https));
    response
}

/// Ends the pending request with an error sent to the application.
async fn finish_refused(
    sign_in: &WorkspaceSignIn,
    pending: &Pending,
    error: &'static str,
    description: &str,
    serving: &Serving,
) -> Response {
    match sign_in.finish(&pending.id).await {
        Ok(true) => {}
        Ok(false) => return expired(),
        Err(e) => return unavailable(&e),
    }
    let mut response = redirect(&error_location(
        &pending.interaction.request,
        error,
        description,
    ));
    response.headers_mut().append(
        header::SET_COOKIE,
        clear_cookie(INTERACTION_COOKIE, is_https(serving)),
    );
    response
}

#[derive(Template)]
#[template(path = "core_consent.html")]
struct ConsentPage {
    client_name: String,
    customer_name: String,
    email: String,
    scopes: Vec<&'static str>,
    csrf: String,
    interaction: String,
}

/// `GET /core/consent?interaction=…`: what the application asks for, in words.
pub async fn consent(
    State(sign_in): State<WorkspaceSignIn>,
    State(directory): State<Directory>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let id = interaction_param(query.as_deref());
    let pending = match pending(&sign_in, &headers, &id).await {
        Ok(pending) => pending,
        Err(response) => return response,
    };
    let Some(user_id) = pending.interaction.user_id.as_deref() else {
        return redirect(&format!("/core/login?interaction={id}"));
    };
    let user = match sign_in.user(user_id).await {
        Ok(Some(user)) => user,
        Ok(None) => return expired(),
        Err(e) => return unavailable(&e),
    };
    let customer_name = match directory.lookup_customer(&pending.client.customer_id).await {
        Ok(customer) => customer.name,
        Err(e) => return unavailable(&e),
    };
    pages::show(
        StatusCode::OK,
        &ConsentPage {
            client_name: pending.client.display_name.clone(),
            customer_name,
            email: user.email,
            scopes: pending
                .interaction
                .request
                .scopes
                .iter()
                .map(|s| scopes::describe(s))
                .collect(),
            csrf: pending.interaction.csrf_token.clone(),
            interaction: pending.id.clone(),
        },
    )
}

/// `POST /core/consent`: allow (remembered) or deny.
pub async fn decide(
    State(sign_in): State<WorkspaceSignIn>,
    Served(serving): Served,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (form, pending) = match posted(&sign_in, &headers, &body).await {
        Ok(posted) => posted,
        Err(response) => return response,
    };
    let (Some(user_id), Some(auth_time)) = (
        pending.interaction.user_id.clone(),
        pending.interaction.auth_time,
    ) else {
        return expired();
    };
    if form.text("decision") != "allow" {
        return finish_refused(
            &sign_in,
            &pending,
            "access_denied",
            "the user denied access",
            &serving,
        )
        .await;
    }
    if let Err(e) = sign_in
        .record_consent(
            &user_id,
            &pending.client.client_id,
            &pending.interaction.request.scopes,
        )
        .await
    {
        return unavailable(&e);
    }
    complete(&sign_in, &pending, &user_id, auth_time, is_https(&serving)).await
}
