//! One Workspace OAuth client: its details page (with the current and old secrets'
//! expiration dates, Rotate Client Secret and Expire Now), the Client settings tab (display
//! name, consent, redirect URIs), the page that explains a rotation before it is made, and the
//! one that confirms expiring the old secret.

use std::sync::Arc;

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use super::{
    Expiry, Outcome, Shown, at, checked, client_path, page, ticked, type_label, typed_uris,
};
use crate::clock::Clock;
use crate::domain::Directory;
use crate::domain::workspace_clients::{ClientType, WorkspaceClient, WorkspaceClientChanges};
use crate::error::Error;
use crate::http::path::PathText;
use crate::http::web::page::{Frame, PageRejection, explain, render, when};
use crate::http::web::session::{Posted, SignedIn};

/// A client as its pages show it.
struct View {
    name: String,
    display_name: String,
    client_id: String,
    client_type: &'static str,
    private: bool,
    enabled: bool,
    redirect_uris: Vec<String>,
    consent: bool,
    pkce: bool,
    offline: bool,
    owner: String,
    owner_contact: String,
    created: String,
    secret: Option<Expiry>,
    old_secret: Option<Expiry>,
}

impl View {
    fn of(client: &WorkspaceClient, now: i64) -> Self {
        View {
            name: client.name.clone(),
            display_name: client.display_name.clone(),
            client_id: client.client_id.clone(),
            client_type: type_label(client.client_type),
            private: client.client_type == ClientType::Private,
            enabled: client.enabled,
            redirect_uris: client.redirect_uris.clone(),
            consent: client.require_user_consent,
            pkce: client.require_pkce,
            offline: client.allow_offline_access,
            owner: client.owner.clone(),
            owner_contact: client.owner_contact.clone(),
            created: when(client.created_at),
            secret: client.secret.map(|t| Expiry::of(t, now)),
            old_secret: client.old_secret.map(|t| Expiry::of(t, now)),
        }
    }
}

/// Words for a page of one client: a notice, or an error with its status.
struct Said {
    status: StatusCode,
    notice: Option<String>,
    error: Option<String>,
}

impl Said {
    fn nothing() -> Self {
        Said {
            status: StatusCode::OK,
            notice: None,
            error: None,
        }
    }

    fn notice(text: &str) -> Self {
        Said {
            notice: Some(text.to_owned()),
            ..Said::nothing()
        }
    }

    fn error(error: &Error) -> Self {
        let (status, text) = explain(error);
        Said {
            status,
            error: Some(text),
            ..Said::nothing()
        }
    }
}

#[derive(Template)]
#[template(path = "workspace_client.html")]
struct DetailsPage {
    frame: Frame,
    csrf: String,
    client: View,
    shown: Option<Shown>,
    notice: Option<String>,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "workspace_client_settings.html")]
struct SettingsPage {
    frame: Frame,
    csrf: String,
    client: View,
    display_name: String,
    consent: bool,
    redirect_uris: String,
    notice: Option<String>,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "workspace_rotate.html")]
struct RotatePage {
    frame: Frame,
    csrf: String,
    client: View,
    lifetime_days: i64,
    notice: Option<String>,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "workspace_expire.html")]
struct ExpirePage {
    frame: Frame,
    csrf: String,
    client: View,
    notice: Option<String>,
    error: Option<String>,
}

/// The services and the administrator of a request about one client.
struct Context<'a> {
    directory: &'a Directory,
    clock: &'a dyn Clock,
    signed_in: &'a SignedIn,
}

impl Context<'_> {
    async fn client(&self, name: &str) -> Result<WorkspaceClient, Error> {
        self.directory
            .get_workspace_client(&self.signed_in.actor(), &self.signed_in.customer.id, name)
            .await
    }

    fn view(&self, client: &WorkspaceClient) -> View {
        View::of(client, self.clock.now())
    }

    /// The list with the error of a client that cannot be shown (gone, or not allowed).
    async fn list_failed(&self, error: &Error) -> Response {
        page(
            self.directory,
            self.clock,
            self.signed_in,
            Outcome::failed(error),
        )
        .await
    }

    fn details(&self, client: &WorkspaceClient, shown: Option<Shown>, said: Said) -> Response {
        let response = render(
            said.status,
            &DetailsPage {
                frame: Frame::of(self.signed_in),
                csrf: self.signed_in.session.csrf_token.clone(),
                client: self.view(client),
                shown,
                notice: said.notice,
                error: said.error,
            },
        );
        at(response, &client_path(&client.name))
    }

    fn rotate_page(&self, client: &WorkspaceClient, said: Said) -> Response {
        let response = render(
            said.status,
            &RotatePage {
                frame: Frame::of(self.signed_in),
                csrf: self.signed_in.session.csrf_token.clone(),
                client: self.view(client),
                lifetime_days: self.directory.workspace_secret_lifetime_days(),
                notice: said.notice,
                error: said.error,
            },
        );
        at(response, &format!("{}/rotate", client_path(&client.name)))
    }

    /// The settings form of `client`, holding `typed` (display name, consent, URIs as typed)
    /// when given.
    fn settings(
        &self,
        client: &WorkspaceClient,
        typed: Option<(String, bool, String)>,
        said: Said,
    ) -> Response {
        let (display_name, consent, redirect_uris) = typed.unwrap_or_else(|| {
            (
                client.display_name.clone(),
                client.require_user_consent,
                client.redirect_uris.join("\n"),
            )
        });
        let response = render(
            said.status,
            &SettingsPage {
                frame: Frame::of(self.signed_in),
                csrf: self.signed_in.session.csrf_token.clone(),
                client: self.view(client),
                display_name,
                consent,
                redirect_uris,
                notice: said.notice,
                error: said.error,
            },
        );
        at(response, &format!("{}/settings", client_path(&client.name)))
    }
}

/// `GET /console/iam/workspace-api/{name}`: Client details.
pub async fn show(
    State(directory): State<Directory>,
    State(clock): State<Arc<dyn Clock>>,
    PathText(name, _): PathText<PageRejection>,
    signed_in: SignedIn,
) -> Response {
    let context = Context {
        directory: &directory,
        clock: clock.as_ref(),
        signed_in: &signed_in,
    };
    match context.client(&name).await {
        Ok(client) => context.details(&client, None, Said::nothing()),
        Err(e) => context.list_failed(&e).await,
    }
}

/// `GET /console/iam/workspace-api/{name}/settings`: Client settings.
pub async fn settings(
    State(directory): State<Directory>,
    State(clock): State<Arc<dyn Clock>>,
    PathText(name, _): PathText<PageRejection>,
    signed_in: SignedIn,
) -> Response {
    let context = Context {
        directory: &directory,
        clock: clock.as_ref(),
        signed_in: &signed_in,
    };
    match context.client(&name).await {
        Ok(client) => context.settings(&client, None, Said::nothing()),
        Err(e) => context.list_failed(&e).await,
    }
}

/// `POST /console/iam/workspace-api/{name}/settings`: Save.
pub async fn save(
    State(directory): State<Directory>,
    State(clock): State<Arc<dyn Clock>>,
    PathText(name, _): PathText<PageRejection>,
    Posted {
        by: signed_in,
        form,
    }: Posted<SignedIn>,
) -> Response {
    let context = Context {
        directory: &directory,
        clock: clock.as_ref(),
        signed_in: &signed_in,
    };
    let display_name = form.text("display_name").to_owned();
    let consent = checked(&form, "require_user_consent");
    let uris = form.get("redirect_uris").unwrap_or_default().to_owned();
    let changes = WorkspaceClientChanges {
        display_name: Some(display_name.clone()),
        require_user_consent: Some(consent),
        redirect_uris: Some(typed_uris(&uris)),
        ..WorkspaceClientChanges::default()
    };
    let saved = directory
        .edit_workspace_client(&signed_in.actor(), &signed_in.customer.id, &name, changes)
        .await;
    match saved {
        Ok(client) => context.settings(&client, None, Said::notice("The settings are saved.")),
        // The form again, as typed, with what is wrong with it.
        Err(e @ Error::Invalid { .. }) => match context.client(&name).await {
            Ok(client) => context.settings(
                &client,
                Some((display_name, consent, uris)),
                Said::error(&e),
            ),
            Err(gone) => context.list_failed(&gone).await,
        },
        Err(e) => context.list_failed(&e).await,
    }
}

/// `GET /console/iam/workspace-api/{name}/rotate`: what a rotation does, and the terms to
/// agree to before it.
pub async fn rotation(
    State(directory): State<Directory>,
    State(clock): State<Arc<dyn Clock>>,
    PathText(name, _): PathText<PageRejection>,
    signed_in: SignedIn,
) -> Response {
    let context = Context {
        directory: &directory,
        clock: clock.as_ref(),
        signed_in: &signed_in,
    };
    match context.client(&name).await {
        Ok(client) if client.client_type == ClientType::Public => {
            context.details(&client, None, Said::error(&no_secret()))
        }
        Ok(client) => context.rotate_page(&client, Said::nothing()),
        Err(e) => context.list_failed(&e).await,
    }
}

/// What Expire Now says when there is no old secret that still works.
const NOTHING_TO_EXPIRE: &str =
    "This client has no old secret that still works: nothing to expire.";

fn no_secret() -> Error {
    Error::invalid("client_type", "a public client has no secret to rotate")
}

/// `POST /console/iam/workspace-api/{name}/rotate`: Rotate; the new secret is shown once.
pub async fn rotate(
    State(directory): State<Directory>,
    State(clock): State<Arc<dyn Clock>>,
    PathText(name, _): PathText<PageRejection>,
    Posted {
        by: signed_in,
        form,
    }: Posted<SignedIn>,
) -> Response {
    let context = Context {
        directory: &directory,
        clock: clock.as_ref(),
        signed_in: &signed_in,
    };
    if let Err(e) = ticked(&form) {
        return match context.client(&name).await {
            Ok(client) => context.rotate_page(&client, Said::error(&e)),
            Err(gone) => context.list_failed(&gone).await,
        };
    }
    let rotated = directory
        .rotate_workspace_secret(&signed_in.actor(), &signed_in.customer.id, &name)
        .await;
    match rotated {
        Ok((client, secret)) => {
            let shown = Shown::of(
                "rotated-secret",
                "The Client secret has been rotated",
                &client,
                Some(secret),
            );
            let notice = match client.old_secret {
                Some(old) => format!(
                    "The secret is rotated. The old secret keeps working until {}, or until \
                     you expire it.",
                    when(old.expires_at)
                ),
                None => "The secret is rotated.".to_owned(),
            };
            context.details(&client, Some(shown), Said::notice(&notice))
        }
        Err(e @ Error::Invalid { .. }) => match context.client(&name).await {
            Ok(client) => context.details(&client, None, Said::error(&e)),
            Err(gone) => context.list_failed(&gone).await,
        },
        Err(e) => context.list_failed(&e).await,
    }
}

/// `GET /console/iam/workspace-api/{name}/expire-old`: the confirmation before Expire Now.
pub async fn expiry(
    State(directory): State<Directory>,
    State(clock): State<Arc<dyn Clock>>,
    PathText(name, _): PathText<PageRejection>,
    signed_in: SignedIn,
) -> Response {
    let context = Context {
        directory: &directory,
        clock: clock.as_ref(),
        signed_in: &signed_in,
    };
    let client = match context.client(&name).await {
        Ok(client) => client,
        Err(e) => return context.list_failed(&e).await,
    };
    let now = clock.now();
    if !client.old_secret.is_some_and(|old| old.is_valid_at(now)) {
        return context.details(&client, None, Said::notice(NOTHING_TO_EXPIRE));
    }
    let response = render(
        StatusCode::OK,
        &ExpirePage {
            frame: Frame::of(&signed_in),
            csrf: signed_in.session.csrf_token.clone(),
            client: context.view(&client),
            notice: None,
            error: None,
        },
    );
    at(
        response,
        &format!("{}/expire-old", client_path(&client.name)),
    )
}

/// `POST /console/iam/workspace-api/{name}/expire-old`: Expire Now.
pub async fn expire(
    State(directory): State<Directory>,
    State(clock): State<Arc<dyn Clock>>,
    PathText(name, _): PathText<PageRejection>,
    Posted { by: signed_in, .. }: Posted<SignedIn>,
) -> Response {
    let context = Context {
        directory: &directory,
        clock: clock.as_ref(),
        signed_in: &signed_in,
    };
    // The directory expires nothing quietly when there is no old secret; the page says so
    // instead of confirming an expiry that did not happen.
    match context.client(&name).await {
        Ok(client)
            if !client
                .old_secret
                .is_some_and(|old| old.is_valid_at(clock.now())) =>
        {
            return context.details(&client, None, Said::notice(NOTHING_TO_EXPIRE));
        }
        Ok(_) => {}
        Err(e) => return context.list_failed(&e).await,
    }
    let expired = directory
        .expire_old_workspace_secret(&signed_in.actor(), &signed_in.customer.id, &name)
        .await;
    match expired {
        Ok(client) => context.details(
            &client,
            None,
            Said::notice(
                "The old Client secret has been expired and no longer works. Only the current \
                 secret authenticates now.",
            ),
        ),
        Err(e) => context.list_failed(&e).await,
    }
}
