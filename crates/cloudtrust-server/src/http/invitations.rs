//! `/invitations/{token}`: the link an invited administrator follows to accept, choosing the
//! password it signs in to the console with.

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::path::PathText;
use super::web::page::{Frame, Message, PageRejection, explain, message, render, unavailable};
use super::web::session::{FormKey, FormToken, SignedOutForm};
use crate::domain::Directory;
use crate::domain::administrators::Administrator;
use crate::error::Error;
use crate::http::middleware::region::Served;
use crate::links::INVITATIONS_PATH;

/// The route of invitation links: the same path [`crate::links::invitation_link`] builds, so
/// a link sent out always reaches this handler.
pub fn route() -> String {
    format!("{INVITATIONS_PATH}/{{token}}")
}

#[derive(Template)]
#[template(path = "invitation.html")]
struct InvitationPage {
    frame: Frame,
    csrf: String,
    email: String,
    customer_id: String,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "invitation_accepted.html")]
struct AcceptedPage {
    frame: Frame,
    email: String,
    customer_id: String,
}

fn gone() -> Response {
    message(
        StatusCode::NOT_FOUND,
        Message {
            title: "Invitation not found",
            text: "This invitation link is not valid: it was already used, withdrawn, or it \
                   expired. Ask an administrator of your organisation to invite you again.",
            link: None,
        },
    )
}

fn form_page(
    status: StatusCode,
    token: &FormToken,
    admin: &Administrator,
    error: Option<String>,
) -> Response {
    token.apply(render(
        status,
        &InvitationPage {
            frame: Frame::signed_out(),
            csrf: token.value.clone(),
            email: admin.email.clone(),
            customer_id: admin.customer_id.clone(),
            error,
        },
    ))
}

/// `GET`: what the invitation is for, with the form that accepts it.
pub async fn show(
    State(form_key): State<FormKey>,
    State(directory): State<Directory>,
    Served(serving): Served,
    PathText(token, _): PathText<PageRejection>,
    headers: HeaderMap,
) -> Response {
    match directory.lookup_invitation(&token).await {
        Ok(admin) => {
            let form_token = FormToken::for_page(&headers, &serving, &form_key);
            form_page(StatusCode::OK, &form_token, &admin, None)
        }
        Err(Error::NotFound { .. }) => gone(),
        Err(e) => {
            tracing::error!(error = %e, "reading an invitation failed");
            unavailable()
        }
    }
}

/// `POST`: accepts the invitation with the chosen password; the administrator becomes
/// active and can sign in.
pub async fn accept(
    State(form_key): State<FormKey>,
    State(directory): State<Directory>,
    Served(serving): Served,
    PathText(token, _): PathText<PageRejection>,
    headers: HeaderMap,
    SignedOutForm(form): SignedOutForm,
) -> Response {
    let admin = match directory.lookup_invitation(&token).await {
        Ok(admin) => admin,
        Err(Error::NotFound { .. }) => return gone(),
        Err(e) => {
            tracing::error!(error = %e, "reading an invitation failed");
            return unavailable();
        }
    };
    let form_token = FormToken::for_page(&headers, &serving, &form_key);
    let password = form.get("password").unwrap_or_default();
    if password != form.get("confirm").unwrap_or_default() {
        return form_page(
            StatusCode::BAD_REQUEST,
            &form_token,
            &admin,
            Some("The two passwords are not the same. Type the same password twice.".to_owned()),
        );
    }
    match directory.accept_invitation(&token, Some(password)).await {
        Ok(admin) => render(
            StatusCode::OK,
            &AcceptedPage {
                frame: Frame::signed_out(),
                email: admin.email,
                customer_id: admin.customer_id,
            },
        ),
        Err(Error::NotFound { .. }) => gone(),
        Err(e) => {
            let (status, text) = explain(&e);
            if status.is_server_error() {
                return unavailable();
            }
            form_page(status, &form_token, &admin, Some(text))
        }
    }
}
