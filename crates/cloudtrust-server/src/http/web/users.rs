//! Identity and Access Management → Users: the end users who sign in to the customer's
//! Workspace applications, with their email, name and the date they were added; Add User with
//! a typed or a generated password, and per user Reset password (a new generated password) and
//! Remove after a ticked confirmation. A generated password is shown once, in a dialog with
//! Copy. The tab is offered only to administrators with Full access or the `Workspace OAuth
//! Clients` permission, and the directory refuses it to anyone else.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use super::form::Form;
use super::page::{Frame, PageRejection, explain, render, when};
use super::session::{Posted, SignedIn};
use super::workspace_clients::{at, ticked};
use crate::domain::Directory;
use crate::domain::end_users::{EndUser, NewEndUser};
use crate::domain::passwords;
use crate::error::Error;
use crate::http::path::PathText;

/// The tab's path.
pub const PATH: &str = "/console/iam/users";

/// One user in the list.
struct Row {
    id: String,
    email: String,
    name: String,
    added: String,
}

impl Row {
    fn of(user: &EndUser) -> Self {
        Row {
            id: user.id.clone(),
            email: user.email.clone(),
            name: user.name(),
            added: when(user.created_at),
        }
    }
}

/// A generated password, shown once in a dialog.
struct Shown {
    /// The dialog's element id.
    dialog_id: &'static str,
    /// The dialog's heading.
    title: &'static str,
    /// Whose password it is.
    email: String,
    /// The password in clear.
    password: String,
}

/// What the Add User dialog holds: empty, or what was typed when it was refused. Passwords
/// are never written back into a page.
struct AddForm {
    email: String,
    given_name: String,
    family_name: String,
    typed: bool,
}

impl AddForm {
    fn empty() -> Self {
        AddForm {
            email: String::new(),
            given_name: String::new(),
            family_name: String::new(),
            typed: false,
        }
    }

    fn read(form: &Form) -> Self {
        AddForm {
            email: form.text("email").to_owned(),
            given_name: form.text("given_name").to_owned(),
            family_name: form.text("family_name").to_owned(),
            typed: form.text("password_choice") == "typed",
        }
    }
}

/// The password the Add User form chose: the typed one, confirmed, or a generated one. Typed
/// passwords are taken as they are, spaces included, since people may mean them.
fn chosen_password(form: &Form, add: &AddForm) -> Result<String, Error> {
    if !add.typed {
        return Ok(passwords::generate());
    }
    let password = form.get("password").unwrap_or_default();
    if password != form.get("password_confirm").unwrap_or_default() {
        return Err(Error::invalid(
            "password",
            "the password and its confirmation differ; type the same password twice",
        ));
    }
    passwords::validate(password)?;
    Ok(password.to_owned())
}

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage {
    frame: Frame,
    csrf: String,
    rows: Vec<Row>,
    add: AddForm,
    add_error: Option<String>,
    shown: Option<Shown>,
    notice: Option<String>,
    error: Option<String>,
}

/// What the list page shows besides the list.
struct Outcome {
    status: StatusCode,
    add: AddForm,
    add_error: Option<String>,
    shown: Option<Shown>,
    notice: Option<String>,
    error: Option<String>,
}

impl Outcome {
    fn ok() -> Self {
        Outcome {
            status: StatusCode::OK,
            add: AddForm::empty(),
            add_error: None,
            shown: None,
            notice: None,
            error: None,
        }
    }

    fn failed(error: &Error) -> Self {
        let (status, text) = explain(error);
        Outcome {
            status,
            error: Some(text),
            ..Outcome::ok()
        }
    }
}

/// The list page with `outcome`; the refusal page when the administrator may not see it.
async fn page(directory: &Directory, signed_in: &SignedIn, outcome: Outcome) -> Response {
    let listed = directory
        .list_end_users(&signed_in.actor(), &signed_in.customer.id)
        .await;
    let users = match listed {
        Ok(users) => users,
        Err(e) => return super::administrators::refused(signed_in, &e),
    };
    let page = render(
        outcome.status,
        &UsersPage {
            frame: Frame::of(signed_in),
            csrf: signed_in.session.csrf_token.clone(),
            rows: users.iter().map(Row::of).collect(),
            add: outcome.add,
            add_error: outcome.add_error,
            shown: outcome.shown,
            notice: outcome.notice,
            error: outcome.error,
        },
    );
    // A reload asks for the list again, so that a password shown once stays shown once.
    at(page, PATH)
}

/// The email of the user `id` of the signed-in customer; the list is read with the
/// administrator's own permission, so that the directory refuses it as it refuses the page.
async fn email_of(directory: &Directory, signed_in: &SignedIn, id: &str) -> Result<String, Error> {
    directory
        .list_end_users(&signed_in.actor(), &signed_in.customer.id)
        .await?
        .into_iter()
        .find(|u| u.id == id)
        .map(|u| u.email)
        .ok_or_else(|| Error::not_found("user", id))
}

/// `GET /console/iam/users`.
pub async fn show(State(directory): State<Directory>, signed_in: SignedIn) -> Response {
    page(&directory, &signed_in, Outcome::ok()).await
}

/// `POST /console/iam/users`: Add User.
pub async fn add(
    State(directory): State<Directory>,
    Posted {
        by: signed_in,
        form,
    }: Posted<SignedIn>,
) -> Response {
    let typed = AddForm::read(&form);
    let new = NewEndUser {
        email: typed.email.clone(),
        given_name: typed.given_name.clone(),
        family_name: typed.family_name.clone(),
    };
    // The names and email are checked before the password, so that a person fixes the form
    // from its top.
    let result = match new.validated().and_then(|_| chosen_password(&form, &typed)) {
        Ok(password) => directory
            .add_end_user(&signed_in.actor(), &signed_in.customer.id, &new, &password)
            .await
            .map(|user| (user, password)),
        Err(e) => Err(e),
    };
    let outcome = match result {
        Ok((user, _)) if typed.typed => Outcome {
            notice: Some(format!(
                "{} is added with the password you typed.",
                user.email
            )),
            ..Outcome::ok()
        },
        Ok((user, password)) => Outcome {
            notice: Some(format!("{} is added.", user.email)),
            shown: Some(Shown {
                dialog_id: "added-user",
                title: "The user has been added",
                email: user.email,
                password,
            }),
            ..Outcome::ok()
        },
        Err(e) => {
            let (status, text) = match e {
                // The directory's words name the customer; the person needs the email.
                Error::Conflict(_) => (
                    StatusCode::CONFLICT,
                    format!(
                        "There is already a user with the email {}. Each email can be added \
                         once; reset their password instead.",
                        typed.email.to_lowercase()
                    ),
                ),
                other => explain(&other),
            };
            Outcome {
                status,
                add: typed,
                add_error: Some(text),
                ..Outcome::ok()
            }
        }
    };
    page(&directory, &signed_in, outcome).await
}

/// `POST /console/iam/users/{id}/reset-password`: gives the user a new generated password.
pub async fn reset_password(
    State(directory): State<Directory>,
    PathText(id, _): PathText<PageRejection>,
    Posted { by: signed_in, .. }: Posted<SignedIn>,
) -> Response {
    let password = passwords::generate();
    let result = match email_of(&directory, &signed_in, &id).await {
        Ok(email) => {
            directory
                .set_end_user_password(
                    &signed_in.actor(),
                    &signed_in.customer.id,
                    &email,
                    &password,
                )
                .await
        }
        Err(e) => Err(e),
    };
    let outcome = match result {
        Ok(user) => Outcome {
            notice: Some(format!(
                "The password of {} is reset. The old one no longer works.",
                user.email
            )),
            shown: Some(Shown {
                dialog_id: "reset-user",
                title: "The password has been reset",
                email: user.email,
                password,
            }),
            ..Outcome::ok()
        },
        Err(e) => Outcome::failed(&e),
    };
    page(&directory, &signed_in, outcome).await
}

/// `POST /console/iam/users/{id}/remove`: removes the user once the box is ticked.
pub async fn remove(
    State(directory): State<Directory>,
    PathText(id, _): PathText<PageRejection>,
    Posted {
        by: signed_in,
        form,
    }: Posted<SignedIn>,
) -> Response {
    // Who may not see the list is refused before anything else is said about the form.
    let result = match email_of(&directory, &signed_in, &id).await {
        Ok(email) => match ticked(&form) {
            Ok(()) => {
                directory
                    .remove_end_user(&signed_in.actor(), &signed_in.customer.id, &email)
                    .await
            }
            Err(e) => Err(e),
        },
        Err(e) => Err(e),
    };
    let outcome = match result {
        Ok(user) => Outcome {
            notice: Some(format!(
                "{} is removed and can no longer sign in.",
                user.email
            )),
            ..Outcome::ok()
        },
        Err(e) => Outcome::failed(&e),
    };
    page(&directory, &signed_in, outcome).await
}

/// `POST /console/iam/users/{id}/withdraw-consent`: withdraws every consent the user gave,
/// revoking the tokens they gave.
pub async fn withdraw_consent(
    State(directory): State<Directory>,
    PathText(id, _): PathText<PageRejection>,
    Posted { by: signed_in, .. }: Posted<SignedIn>,
) -> Response {
    let result = match email_of(&directory, &signed_in, &id).await {
        Ok(email) => directory
            .withdraw_end_user_consent(&signed_in.actor(), &signed_in.customer.id, &email, None)
            .await
            .map(|clients| (email, clients)),
        Err(e) => Err(e),
    };
    let outcome = match result {
        Ok((email, clients)) => Outcome {
            notice: Some(format!(
                "The consent of {email} to {} is withdrawn; the tokens it gave no longer work.",
                clients.join(", ")
            )),
            ..Outcome::ok()
        },
        Err(Error::NotFound { .. }) => Outcome {
            notice: Some("This user has not consented to any application.".to_owned()),
            ..Outcome::ok()
        },
        Err(e) => Outcome::failed(&e),
    };
    page(&directory, &signed_in, outcome).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Bytes;

    fn form(fields: &[(&str, &str)]) -> Form {
        let body: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        Form::parse(&Bytes::from(body))
    }

    #[test]
    fn a_typed_password_must_be_confirmed_and_long_enough() {
        let typed = |p: &str, c: &str| {
            let f = form(&[
                ("password_choice", "typed"),
                ("password", p),
                ("password_confirm", c),
            ]);
            chosen_password(&f, &AddForm::read(&f))
        };
        assert_eq!(
            typed("a long password", "a long password").ok().as_deref(),
            Some("a long password")
        );
        assert!(typed("a long password", "a long passwort").is_err());
        assert!(typed("short", "short").is_err());
    }

    #[test]
    fn a_generated_password_ignores_anything_typed() {
        let f = form(&[("password_choice", "generate"), ("password", "x")]);
        let password = chosen_password(&f, &AddForm::read(&f)).expect("generated");
        assert_eq!(password.len(), 20);
        assert!(passwords::validate(&password).is_ok());
    }
}
