//! Identity and Access Management → API Access → Workspace API: the customer's Workspace OAuth
//! clients with their type, status and secret expiration (a warning when it is near or past),
//! Create Client with the dialog that shows the new Client ID and Secret once (copy, download
//! as CSV), and per client a menu to edit it, disable or enable it and delete it after a ticked
//! confirmation. A client's own pages (details, settings, rotation, expiry of the old secret)
//! are in [`details`]. The tab is offered only to administrators with Full access or the
//! `Workspace OAuth Clients` permission, and the directory refuses it to anyone else.

pub mod details;

use std::sync::Arc;

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;

use super::api_access::{csv, data_url};
use super::form::Form;
use super::page::{Frame, PageRejection, explain, render, when};
use super::session::{Posted, SignedIn};
use crate::clock::Clock;
use crate::domain::Directory;
use crate::domain::directory::AdministratorRef;
use crate::domain::workspace_clients::{
    ClientType, NewWorkspaceClient, SecretTimes, WorkspaceClient,
};
use crate::error::Error;
use crate::http::path::PathText;

/// The tab's path.
pub const PATH: &str = "/console/iam/workspace-api";

/// The name of the downloaded file, after the API Access tab's `secureclient.csv`.
pub const CSV_FILE_NAME: &str = "workspaceclient.csv";

/// How many days before a secret expires the console warns about it.
pub const WARN_DAYS: i64 = 14;

const DAY: i64 = 86_400;

/// The path of a client's details page.
fn client_path(name: &str) -> String {
    format!("{PATH}/{name}")
}

/// A secret's expiration in words, with a warning when it is [`WARN_DAYS`] days away or less.
pub struct Expiry {
    /// When it expires, for people.
    pub date: String,
    /// What to do about it, when it is near or past.
    pub warning: Option<String>,
    /// Whether the secret still works.
    pub usable: bool,
}

impl Expiry {
    /// The expiration of `times` as seen at `now`.
    pub fn of(times: SecretTimes, now: i64) -> Self {
        let left = times.expires_at.saturating_sub(now);
        let usable = times.is_valid_at(now);
        let warning = if !usable {
            Some("Expired: this secret no longer works".to_owned())
        } else if left <= WARN_DAYS * DAY {
            // Rounded up, so that a secret with hours left is "1 day" away, never "0 days".
            let days = (left + DAY - 1) / DAY;
            let unit = if days == 1 { "day" } else { "days" };
            Some(format!("Expires in {days} {unit}: rotate the secret"))
        } else {
            None
        };
        Expiry {
            date: when(times.expires_at),
            warning,
            usable,
        }
    }
}

/// Credentials shown once, in a dialog: a new client's, or a rotated secret.
pub struct Shown {
    /// The dialog's element id.
    pub dialog_id: &'static str,
    /// The dialog's heading.
    pub title: &'static str,
    /// The client's display name.
    pub display_name: String,
    /// The Client ID.
    pub client_id: String,
    /// The secret in clear (private clients).
    pub secret: Option<String>,
    /// When the secret expires.
    pub expires: Option<String>,
    /// The CSV download (private clients).
    pub csv_href: Option<String>,
    /// The name the download is saved under.
    pub csv_file_name: &'static str,
}

impl Shown {
    /// The dialog showing `client` and its new `secret`, if it has one.
    pub fn of(
        dialog_id: &'static str,
        title: &'static str,
        client: &WorkspaceClient,
        secret: Option<String>,
    ) -> Self {
        Shown {
            dialog_id,
            title,
            display_name: client.display_name.clone(),
            client_id: client.client_id.clone(),
            csv_href: secret
                .as_deref()
                .map(|s| data_url(&csv(&client.client_id, s, &client.customer_id))),
            expires: secret
                .as_ref()
                .and(client.secret)
                .map(|t| when(t.expires_at)),
            secret,
            csv_file_name: CSV_FILE_NAME,
        }
    }
}

/// The redirect URIs typed in a text area: one per line, blank lines skipped. A line with
/// spaces stays whole, so that the message about it quotes what was typed.
pub fn typed_uris(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Whether the form's confirmation box is ticked; an error to show when it is not.
pub fn ticked(form: &Form) -> Result<(), Error> {
    if form.get("confirm") == Some("yes") {
        Ok(())
    } else {
        Err(Error::invalid(
            "confirmation",
            "tick the box to confirm, then try again",
        ))
    }
}

/// Whether a checkbox named `name` is ticked.
pub fn checked(form: &Form, name: &str) -> bool {
    form.get(name).is_some()
}

/// Sets the address htmx shows for a page answering a form, so that reloading it asks for the
/// page again rather than for the form's address (and a secret shown once stays once).
pub fn at(mut response: Response, path: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(path) {
        response.headers_mut().insert("hx-push-url", value);
    }
    response
}

/// One client in the list.
struct Row {
    name: String,
    display_name: String,
    client_type: &'static str,
    enabled: bool,
    expiry: Option<Expiry>,
}

/// The words of a client type.
pub fn type_label(client_type: ClientType) -> &'static str {
    match client_type {
        ClientType::Private => "Private",
        ClientType::Public => "Public",
    }
}

/// What the Create Client dialog holds: empty, or what was typed when it was refused.
struct CreateForm {
    display_name: String,
    public: bool,
    redirect_uris: String,
    consent: bool,
    offline: bool,
    pkce: bool,
}

impl CreateForm {
    fn empty() -> Self {
        CreateForm {
            display_name: String::new(),
            public: false,
            redirect_uris: String::new(),
            consent: false,
            offline: false,
            pkce: false,
        }
    }

    fn read(form: &Form) -> Self {
        CreateForm {
            display_name: form.text("display_name").to_owned(),
            public: form.text("client_type") == "public",
            redirect_uris: form.get("redirect_uris").unwrap_or_default().to_owned(),
            consent: checked(form, "require_user_consent"),
            offline: checked(form, "allow_offline_access"),
            pkce: checked(form, "require_pkce"),
        }
    }
}

#[derive(Template)]
#[template(path = "workspace_clients.html")]
struct WorkspaceClientsPage {
    frame: Frame,
    csrf: String,
    rows: Vec<Row>,
    create: CreateForm,
    create_error: Option<String>,
    shown: Option<Shown>,
    notice: Option<String>,
    error: Option<String>,
}

/// What a list page shows besides the list.
pub struct Outcome {
    status: StatusCode,
    create: CreateForm,
    create_error: Option<String>,
    shown: Option<Shown>,
    notice: Option<String>,
    error: Option<String>,
}

impl Outcome {
    fn ok() -> Self {
        Outcome {
            status: StatusCode::OK,
            create: CreateForm::empty(),
            create_error: None,
            shown: None,
            notice: None,
            error: None,
        }
    }

    /// The list with `notice`.
    pub fn notice(text: String) -> Self {
        Outcome {
            notice: Some(text),
            ..Outcome::ok()
        }
    }

    /// The list with `error` explained.
    pub fn failed(error: &Error) -> Self {
        let (status, text) = explain(error);
        Outcome {
            status,
            error: Some(text),
            ..Outcome::ok()
        }
    }
}

/// The list page with `outcome`; the refusal page when the administrator may not see it.
pub async fn page(
    directory: &Directory,
    clock: &dyn Clock,
    signed_in: &SignedIn,
    outcome: Outcome,
) -> Response {
    let listed = directory
        .list_workspace_clients(&signed_in.actor(), &signed_in.customer.id)
        .await;
    let clients = match listed {
        Ok(clients) => clients,
        Err(e) => return super::administrators::refused(signed_in, &e),
    };
    let now = clock.now();
    let page = render(
        outcome.status,
        &WorkspaceClientsPage {
            frame: Frame::of(signed_in),
            csrf: signed_in.session.csrf_token.clone(),
            rows: clients
                .iter()
                .map(|c| Row {
                    name: c.name.clone(),
                    display_name: c.display_name.clone(),
                    client_type: type_label(c.client_type),
                    enabled: c.enabled,
                    expiry: c.secret.map(|t| Expiry::of(t, now)),
                })
                .collect(),
            create: outcome.create,
            create_error: outcome.create_error,
            shown: outcome.shown,
            notice: outcome.notice,
            error: outcome.error,
        },
    );
    at(page, PATH)
}

/// `GET /console/iam/workspace-api`.
pub async fn show(
    State(directory): State<Directory>,
    State(clock): State<Arc<dyn Clock>>,
    signed_in: SignedIn,
) -> Response {
    page(&directory, clock.as_ref(), &signed_in, Outcome::ok()).await
}

/// `POST /console/iam/workspace-api`: Create Client.
pub async fn create(
    State(directory): State<Directory>,
    State(clock): State<Arc<dyn Clock>>,
    Posted {
        by: signed_in,
        form,
    }: Posted<SignedIn>,
) -> Response {
    let typed = CreateForm::read(&form);
    let result = match ClientType::parse(form.text("client_type")) {
        Ok(client_type) => {
            let new = NewWorkspaceClient {
                display_name: typed.display_name.clone(),
                client_type,
                redirect_uris: typed_uris(&typed.redirect_uris),
                post_logout_redirect_uris: Vec::new(),
                require_user_consent: typed.consent,
                require_pkce: typed.pkce,
                allow_offline_access: typed.offline,
                owner_contact: None,
            };
            directory
                .create_workspace_client(
                    &signed_in.actor(),
                    &signed_in.customer.id,
                    AdministratorRef::Id(&signed_in.administrator.id),
                    new,
                )
                .await
        }
        Err(e) => Err(e),
    };
    let outcome = match result {
        Ok(created) => {
            let title = if created.secret.is_some() {
                "Client ID and Secret have been created successfully"
            } else {
                "Client ID has been created successfully"
            };
            Outcome {
                shown: Some(Shown::of(
                    "created-client",
                    title,
                    &created.client,
                    created.secret,
                )),
                ..Outcome::ok()
            }
        }
        Err(e) => {
            let (status, text) = explain(&e);
            Outcome {
                status,
                create: typed,
                create_error: Some(text),
                ..Outcome::ok()
            }
        }
    };
    page(&directory, clock.as_ref(), &signed_in, outcome).await
}

/// `POST /console/iam/workspace-api/{name}/enable`.
pub async fn enable(
    State(directory): State<Directory>,
    State(clock): State<Arc<dyn Clock>>,
    PathText(name, _): PathText<PageRejection>,
    posted: Posted<SignedIn>,
) -> Response {
    set_enabled(&directory, clock.as_ref(), &name, posted, true).await
}

/// `POST /console/iam/workspace-api/{name}/disable`.
pub async fn disable(
    State(directory): State<Directory>,
    State(clock): State<Arc<dyn Clock>>,
    PathText(name, _): PathText<PageRejection>,
    posted: Posted<SignedIn>,
) -> Response {
    set_enabled(&directory, clock.as_ref(), &name, posted, false).await
}

async fn set_enabled(
    directory: &Directory,
    clock: &dyn Clock,
    name: &str,
    Posted {
        by: signed_in,
        form,
    }: Posted<SignedIn>,
    enabled: bool,
) -> Response {
    let result = match ticked(&form) {
        Ok(()) => {
            directory
                .set_workspace_client_enabled(
                    &signed_in.actor(),
                    &signed_in.customer.id,
                    name,
                    enabled,
                )
                .await
        }
        Err(e) => Err(e),
    };
    let outcome = match result {
        Ok(client) if enabled => Outcome::notice(format!(
            "The client {} ({}) is enabled. Applications can use it again.",
            client.display_name, client.name
        )),
        Ok(client) => Outcome::notice(format!(
            "The client {} ({}) is disabled. Applications using it stop working until it is \
             enabled again.",
            client.display_name, client.name
        )),
        Err(e) => Outcome::failed(&e),
    };
    page(directory, clock, &signed_in, outcome).await
}

/// `POST /console/iam/workspace-api/{name}/delete`, from the list or the details page.
pub async fn delete(
    State(directory): State<Directory>,
    State(clock): State<Arc<dyn Clock>>,
    PathText(name, _): PathText<PageRejection>,
    Posted {
        by: signed_in,
        form,
    }: Posted<SignedIn>,
) -> Response {
    let result = match ticked(&form) {
        Ok(()) => {
            directory
                .delete_workspace_client(&signed_in.actor(), &signed_in.customer.id, &name)
                .await
        }
        Err(e) => Err(e),
    };
    let outcome = match result {
        Ok(client) => Outcome::notice(format!(
            "The client {} ({}) is deleted. Applications using it stop working.",
            client.display_name, client.name
        )),
        Err(e) => Outcome::failed(&e),
    };
    page(&directory, clock.as_ref(), &signed_in, outcome).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_is_warned_about_from_fourteen_days_before_it_expires() {
        let at = |expires_at| SecretTimes {
            updated_at: 0,
            expires_at,
        };
        let now = 1_000 * DAY;
        assert!(Expiry::of(at(now + 15 * DAY), now).warning.is_none());
        let fourteen = Expiry::of(at(now + 14 * DAY), now);
        assert_eq!(
            fourteen.warning.as_deref(),
            Some("Expires in 14 days: rotate the secret")
        );
        let hours = Expiry::of(at(now + 3_600), now);
        assert_eq!(
            hours.warning.as_deref(),
            Some("Expires in 1 day: rotate the secret")
        );
        assert!(hours.usable);
        let past = Expiry::of(at(now), now);
        assert!(!past.usable);
        assert_eq!(
            past.warning.as_deref(),
            Some("Expired: this secret no longer works")
        );
    }

    #[test]
    fn typed_uris_are_one_per_line_without_blanks() {
        assert_eq!(
            typed_uris(" https://a.example/cb\r\n\r\nhttp://127.0.0.1/cb \n"),
            ["https://a.example/cb", "http://127.0.0.1/cb"]
        );
        assert!(typed_uris("  \n").is_empty());
    }
}
