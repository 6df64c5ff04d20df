//! Identity and Access Management → Administrators: list, invite with Full or custom access,
//! change access, remove. Offered only to administrators with the `Administrators`
//! permission, and refused by the directory to anyone else.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use super::form::Form;
use super::page::{Frame, PageRejection, explain, render};
use super::session::{Posted, SignedIn};
use crate::domain::Directory;
use crate::domain::administrators::Administrator;
use crate::domain::audit::Actor;
use crate::domain::directory::{AdministratorRef, NewAdministrator};
use crate::domain::paging::PageRequest;
use crate::domain::permissions::{self, Access, CATALOGUE};
use crate::error::Error;
use crate::http::PublicUrl;
use crate::http::path::PathText;
use crate::notify::Notifier;
use std::sync::Arc;

/// The page's path.
pub const PATH: &str = "/console/iam/administrators";

/// The most administrators shown on one page.
const SHOWN: usize = 1000;

/// A permission checkbox.
pub struct PermissionBox {
    /// The permission's name (the form value).
    pub name: &'static str,
    /// Its words.
    pub label: &'static str,
    /// Whether it is ticked.
    pub checked: bool,
    /// Whether the signed-in administrator may grant it (it holds it itself).
    pub grantable: bool,
}

/// The access part of a form: Full, or custom with ticked permissions.
pub struct AccessChoice {
    /// Prefix of the element ids, unique on the page.
    pub prefix: String,
    /// Whether Full is selected.
    pub full: bool,
    /// Whether the signed-in administrator may grant Full access (it has it itself).
    pub full_grantable: bool,
    /// The catalogue, ticked as held.
    pub permissions: Vec<PermissionBox>,
}

impl AccessChoice {
    /// The choice showing `access`, offering only what `actor` may grant.
    pub fn of(prefix: &str, access: &Access, actor: &Actor) -> Self {
        AccessChoice {
            prefix: prefix.to_owned(),
            full: *access == Access::Full,
            full_grantable: actor.includes(&Access::Full),
            permissions: CATALOGUE
                .iter()
                .map(|p| PermissionBox {
                    name: p.name,
                    label: p.display_name,
                    checked: *access != Access::Full && access.allows(p.name),
                    grantable: actor.allows(p.name),
                })
                .collect(),
        }
    }

    /// The access a submitted form chose.
    fn parse(form: &Form) -> Result<Access, Error> {
        match form.text("access") {
            "full" => Ok(Access::Full),
            "custom" => Access::custom(form.all("permission")),
            _ => Err(Error::invalid("access", "choose Full or custom access")),
        }
    }
}

/// One administrator in the list.
struct Row {
    id: String,
    email: String,
    display_name: String,
    access: String,
    pending: bool,
    is_me: bool,
    /// Whether the signed-in administrator may change or remove it (it holds all its access).
    manageable: bool,
    choice: AccessChoice,
}

impl Row {
    fn of(admin: &Administrator, actor: &Actor) -> Self {
        let access = match &admin.access {
            Access::Full => "Full access".to_owned(),
            custom => {
                let names = custom.permission_names();
                if names.is_empty() {
                    "Custom: no permissions".to_owned()
                } else {
                    format!("Custom: {}", names.join(", "))
                }
            }
        };
        Row {
            id: admin.id.clone(),
            email: admin.email.clone(),
            display_name: admin.display_name.clone(),
            access,
            pending: admin.pending,
            is_me: actor.is(&admin.id),
            manageable: actor.includes(&admin.access),
            choice: AccessChoice::of(&format!("edit-{}", admin.id), &admin.access, actor),
        }
    }
}

#[derive(Template)]
#[template(path = "administrators.html")]
struct AdministratorsPage {
    frame: Frame,
    csrf: String,
    rows: Vec<Row>,
    add: AccessChoice,
    email: String,
    display_name: String,
    notice: Option<String>,
    error: Option<String>,
}

struct Outcome {
    status: StatusCode,
    notice: Option<String>,
    error: Option<String>,
    email: String,
    display_name: String,
    add_access: Access,
}

impl Default for Outcome {
    fn default() -> Self {
        Outcome {
            status: StatusCode::OK,
            notice: None,
            error: None,
            email: String::new(),
            display_name: String::new(),
            add_access: Access::Full,
        }
    }
}

async fn page(directory: &Directory, signed_in: &SignedIn, outcome: Outcome) -> Response {
    let actor = signed_in.actor();
    let listed = directory
        .list_administrators(
            &actor,
            &signed_in.customer.id,
            Some(&PageRequest::first(SHOWN)),
        )
        .await;
    let administrators = match listed {
        Ok(page) => page.items,
        Err(e) => return refused(signed_in, &e),
    };
    render(
        outcome.status,
        &AdministratorsPage {
            frame: Frame::of(signed_in),
            csrf: signed_in.session.csrf_token.clone(),
            rows: administrators.iter().map(|a| Row::of(a, &actor)).collect(),
            add: AccessChoice::of("add", &default_access(outcome.add_access, &actor), &actor),
            email: outcome.email,
            display_name: outcome.display_name,
            notice: outcome.notice,
            error: outcome.error,
        },
    )
}

/// The access the add form starts with: Full only for someone who may grant it.
fn default_access(access: Access, actor: &Actor) -> Access {
    if actor.includes(&access) {
        access
    } else {
        Access::Custom(Default::default())
    }
}

#[derive(Template)]
#[template(path = "refused.html")]
struct RefusedPage {
    frame: Frame,
    text: String,
}

/// The page for an action the administrator may not take at all.
pub fn refused(signed_in: &SignedIn, error: &Error) -> Response {
    let (status, text) = explain(error);
    render(
        status,
        &RefusedPage {
            frame: Frame::of(signed_in),
            text,
        },
    )
}

/// `GET /console/iam`: the first tab the administrator may see.
pub async fn iam(signed_in: SignedIn) -> Redirect {
    if signed_in.actor().allows(permissions::ADMINISTRATORS) {
        Redirect::to(PATH)
    } else {
        Redirect::to(super::api_access::PATH)
    }
}

/// `GET /console/iam/administrators`.
pub async fn show(State(directory): State<Directory>, signed_in: SignedIn) -> Response {
    page(&directory, &signed_in, Outcome::default()).await
}

/// `POST /console/iam/administrators`: invites an administrator.
pub async fn invite(
    State(directory): State<Directory>,
    State(notifier): State<Arc<Notifier>>,
    State(public_url): State<PublicUrl>,
    Posted {
        by: signed_in,
        form,
    }: Posted<SignedIn>,
) -> Response {
    let email = form.text("email").to_owned();
    let display_name = form.text("display_name").to_owned();
    let chosen = AccessChoice::parse(&form);
    let kept = chosen.as_ref().map_or(Access::Full, Clone::clone);
    let result = match chosen {
        Ok(access) => {
            let new = NewAdministrator::with_email(
                &email,
                Some(display_name.as_str()).filter(|n| !n.is_empty()),
                access,
            );
            directory
                .invite_administrator(&signed_in.actor(), &signed_in.customer.id, new)
                .await
        }
        Err(e) => Err(e),
    };
    let outcome = match result {
        Ok(invitation) => {
            notifier.invitation(&invitation, &public_url.0);
            Outcome {
                notice: Some(format!(
                    "{} is invited. They become an administrator when they accept the \
                     invitation sent to them, within 7 days.",
                    invitation.administrator.email
                )),
                ..Outcome::default()
            }
        }
        Err(e) => {
            let (status, text) = explain(&e);
            Outcome {
                status,
                error: Some(text),
                email,
                display_name,
                add_access: kept,
                ..Outcome::default()
            }
        }
    };
    page(&directory, &signed_in, outcome).await
}

/// `POST /console/iam/administrators/{id}/access`: replaces an administrator's access.
pub async fn set_access(
    State(directory): State<Directory>,
    PathText(id, _): PathText<PageRejection>,
    Posted {
        by: signed_in,
        form,
    }: Posted<SignedIn>,
) -> Response {
    let result = match AccessChoice::parse(&form) {
        Ok(access) => {
            directory
                .set_access(
                    &signed_in.actor(),
                    &signed_in.customer.id,
                    AdministratorRef::Id(&id),
                    access,
                    None,
                )
                .await
        }
        Err(e) => Err(e),
    };
    let outcome = match result {
        Ok(admin) => Outcome {
            notice: Some(format!("The access of {} is changed.", admin.email)),
            ..Outcome::default()
        },
        Err(e) => failed(&e),
    };
    after_change(&directory, signed_in, outcome).await
}

/// `POST /console/iam/administrators/{id}/remove`: removes an administrator and its API
/// clients.
pub async fn remove(
    State(directory): State<Directory>,
    PathText(id, _): PathText<PageRejection>,
    Posted { by: signed_in, .. }: Posted<SignedIn>,
) -> Response {
    let result = directory
        .remove_administrator(
            &signed_in.actor(),
            &signed_in.customer.id,
            AdministratorRef::Id(&id),
        )
        .await;
    let outcome = match result {
        Ok(removed) => Outcome {
            notice: Some(format!(
                "{} is removed, with {} API client(s).",
                removed.administrator.email,
                removed.removed_clients.len()
            )),
            ..Outcome::default()
        },
        Err(e) => failed(&e),
    };
    after_change(&directory, signed_in, outcome).await
}

fn failed(error: &Error) -> Outcome {
    let (status, text) = explain(error);
    Outcome {
        status,
        error: Some(text),
        ..Outcome::default()
    }
}

/// The page after a change: an administrator who changed or removed itself may no longer see
/// the list, and is told so on the page it can still see.
async fn after_change(directory: &Directory, signed_in: SignedIn, outcome: Outcome) -> Response {
    match directory
        .lookup_administrator(&signed_in.administrator.id)
        .await
    {
        Ok(Some(me)) if me.access.allows(permissions::ADMINISTRATORS) => {
            let signed_in = SignedIn {
                administrator: me,
                ..signed_in
            };
            page(directory, &signed_in, outcome).await
        }
        Ok(Some(_)) => match outcome.error {
            Some(text) => render(
                outcome.status,
                &RefusedPage {
                    frame: Frame::of(&signed_in),
                    text,
                },
            ),
            None => Redirect::to(super::api_access::PATH).into_response(),
        },
        Ok(None) => Redirect::to(super::session::SIGN_IN_PATH).into_response(),
        Err(e) => refused(&signed_in, &e),
    }
}
