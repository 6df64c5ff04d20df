//! The web console (`/console`) and the developer portal (`/portal`): server-rendered pages
//! (askama) enhanced by htmx, calling the same directory functions as the REST API.

pub mod administrators;
pub mod api_access;
pub mod assets;
pub mod form;
pub mod page;
pub mod portal;
pub mod session;
pub mod sign_in;
pub mod users;
pub mod workspace_clients;

use axum::Router;
use axum::routing::{get, post};

use super::Services;

/// The routes of the console, the portal and their static files.
pub fn routes() -> Router<Services> {
    Router::new()
        .route("/console", get(sign_in::home))
        .route("/console/", get(sign_in::home))
        .route("/console/signin", get(sign_in::show).post(sign_in::submit))
        .route(
            "/console/customers",
            get(sign_in::customers).post(sign_in::choose),
        )
        .route("/console/signout", post(sign_in::sign_out))
        .route("/console/iam", get(administrators::iam))
        .route(
            administrators::PATH,
            get(administrators::show).post(administrators::invite),
        )
        .route(
            "/console/iam/administrators/{id}/access",
            post(administrators::set_access),
        )
        .route(
            "/console/iam/administrators/{id}/remove",
            post(administrators::remove),
        )
        .route(
            api_access::PATH,
            get(api_access::show).post(api_access::create),
        )
        .route(
            "/console/iam/api-access/{id}/delete",
            post(api_access::delete),
        )
        .route(
            workspace_clients::PATH,
            get(workspace_clients::show).post(workspace_clients::create),
        )
        .route(
            "/console/iam/workspace-api/{name}",
            get(workspace_clients::details::show),
        )
        .route(
            "/console/iam/workspace-api/{name}/settings",
            get(workspace_clients::details::settings).post(workspace_clients::details::save),
        )
        .route(
            "/console/iam/workspace-api/{name}/rotate",
            get(workspace_clients::details::rotation).post(workspace_clients::details::rotate),
        )
        .route(
            "/console/iam/workspace-api/{name}/expire-old",
            get(workspace_clients::details::expiry).post(workspace_clients::details::expire),
        )
        .route(
            "/console/iam/workspace-api/{name}/enable",
            post(workspace_clients::enable),
        )
        .route(
            "/console/iam/workspace-api/{name}/disable",
            post(workspace_clients::disable),
        )
        .route(
            "/console/iam/workspace-api/{name}/delete",
            post(workspace_clients::delete),
        )
        .route(users::PATH, get(users::show).post(users::add))
        .route(
            "/console/iam/users/{id}/reset-password",
            post(users::reset_password),
        )
        .route("/console/iam/users/{id}/remove", post(users::remove))
        .route(
            "/console/iam/users/{id}/withdraw-consent",
            post(users::withdraw_consent),
        )
        .route("/portal", get(portal::show))
        .route("/portal/", get(portal::show))
        .route("/portal/token", post(portal::generate))
        .route("/assets/{file}", get(assets::asset))
}
