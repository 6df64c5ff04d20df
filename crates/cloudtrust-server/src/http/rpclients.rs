//! `/{customerid}/rpclients`: Workspace OAuth clients, with Citrix's paths and snake_case
//! shapes. The path's customer must be the token's; the caller's owner needs Full access or
//! `Workspace OAuth Clients` (checked by the directory, against its current access).

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{FromRef, FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cloudtrust_proto::workspace::{
    CreatedWorkspaceClient, NewWorkspaceClient, RotatedWorkspaceSecret, WorkspaceClient,
    WorkspaceClientChanges, WorkspaceClientType,
};

use super::bearer::Caller;
use super::errors::ApiErrorResponse;
use super::json::{ApiJson, JsonAccepted};
use crate::auth::Auth;
use crate::domain::Directory;
use crate::domain::directory::AdministratorRef;
use crate::domain::workspace_clients as domain;

/// The wire form of a client.
pub fn wire(client: domain::WorkspaceClient) -> WorkspaceClient {
    let times = |t: Option<domain::SecretTimes>| (t.map(|t| t.updated_at), t.map(|t| t.expires_at));
    let (secret_update_time, secret_expiration) = times(client.secret);
    let (secret_update_time_old, secret_expiration_old) = times(client.old_secret);
    WorkspaceClient {
        name: client.name,
        display_name: client.display_name,
        api_key: client.client_id.clone(),
        secret_update_time,
        secret_expiration,
        secret_update_time_old,
        secret_expiration_old,
        owner: client.owner,
        client_id: client.client_id,
        client_type: match client.client_type {
            domain::ClientType::Private => WorkspaceClientType::Private,
            domain::ClientType::Public => WorkspaceClientType::Public,
        },
        redirect_uris: client.redirect_uris,
        post_logout_redirect_uris: client.post_logout_redirect_uris,
        require_user_consent: client.require_user_consent,
        require_pkce: client.require_pkce,
        allow_offline_access: client.allow_offline_access,
        enabled: client.enabled,
        owner_contact: client.owner_contact,
        created_time: client.created_at,
    }
}

/// The caller and the client (`{name}`, empty on the collection's routes) a request is
/// about. The path's customer must be the token's: another customer's path is refused (403)
/// before the body is read, whatever the caller's access there.
pub struct Target {
    caller: Caller,
    name: String,
}

impl Target {
    /// The customer: the token's, which the path names.
    fn customer(&self) -> &str {
        &self.caller.claims.customer
    }
}

impl<S> FromRequestParts<S> for Target
where
    S: Send + Sync,
    Arc<Auth>: FromRef<S>,
{
    type Rejection = ApiErrorResponse;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let caller = Caller::from_request_parts(parts, state).await?;
        let Path(mut params) = Path::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(|e: PathRejection| ApiErrorResponse::from(e))?;
        let customer = params.remove("customerid").unwrap_or_default();
        if !customer
            .trim()
            .eq_ignore_ascii_case(&caller.claims.customer)
        {
            return Err(ApiErrorResponse::authorization("customer", &customer));
        }
        Ok(Target {
            caller,
            name: params.remove("name").unwrap_or_default(),
        })
    }
}

/// A secret in the answer: never cached on the way.
fn no_store(status: StatusCode, body: impl serde::Serialize) -> Response {
    let mut response = (status, Json(body)).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `GET /{customerid}/rpclients`: every Workspace OAuth client of the customer.
#[utoipa::path(
    get,
    path = "/{customerid}/rpclients",
    operation_id = "listWorkspaceClients",
    tag = "Workspace OAuth clients",
    params(("customerid" = String, Path, description = "The customer; must be the token's")),
    responses((status = 200, description = "Every client of the customer, without secrets", body = [WorkspaceClient]), super::openapi::CommonErrors),
    security(("CwsAuth" = []))
)]
pub async fn list(
    State(directory): State<Directory>,
    _: JsonAccepted,
    target: Target,
) -> Result<Json<Vec<WorkspaceClient>>, ApiErrorResponse> {
    let clients = directory
        .list_workspace_clients(&target.caller.actor(), target.customer())
        .await?;
    Ok(Json(clients.into_iter().map(wire).collect()))
}

/// `POST /{customerid}/rpclients`: a new client owned by the caller's administrator; a private
/// client's secret is in this answer and nowhere else.
#[utoipa::path(
    post,
    path = "/{customerid}/rpclients",
    operation_id = "createWorkspaceClient",
    tag = "Workspace OAuth clients",
    params(("customerid" = String, Path, description = "The customer; must be the token's")),
    request_body = NewWorkspaceClient,
    responses((status = 201, description = "The client, and its secret (`null` for a public client), shown this once", body = CreatedWorkspaceClient), super::openapi::CommonErrors, super::openapi::BodyErrors),
    security(("CwsAuth" = []))
)]
pub async fn create(
    State(directory): State<Directory>,
    _: JsonAccepted,
    target: Target,
    ApiJson(input): ApiJson<NewWorkspaceClient>,
) -> Result<Response, ApiErrorResponse> {
    let new = domain::NewWorkspaceClient {
        display_name: input.display_name,
        client_type: match input.client_type {
            WorkspaceClientType::Private => domain::ClientType::Private,
            WorkspaceClientType::Public => domain::ClientType::Public,
        },
        redirect_uris: input.redirect_uris,
        post_logout_redirect_uris: input.post_logout_redirect_uris,
        require_user_consent: input.require_user_consent,
        require_pkce: input.require_pkce,
        allow_offline_access: input.allow_offline_access,
        owner_contact: input.owner_contact,
    };
    let created = directory
        .create_workspace_client(
            &target.caller.actor(),
            target.customer(),
            AdministratorRef::Id(&target.caller.owner.id),
            new,
        )
        .await?;
    let body = CreatedWorkspaceClient {
        client: wire(created.client),
        secret: created.secret,
    };
    Ok(no_store(StatusCode::CREATED, body))
}

/// `GET /{customerid}/rpclients/{name}`: one client.
#[utoipa::path(
    get,
    path = "/{customerid}/rpclients/{name}",
    operation_id = "getWorkspaceClient",
    tag = "Workspace OAuth clients",
    params(("customerid" = String, Path, description = "The customer; must be the token's"), ("name" = String, Path, description = "The client's name, e.g. `acme-private-1`")),
    responses((status = 200, description = "The client", body = WorkspaceClient), super::openapi::CommonErrors),
    security(("CwsAuth" = []))
)]
pub async fn get(
    State(directory): State<Directory>,
    _: JsonAccepted,
    target: Target,
) -> Result<Json<WorkspaceClient>, ApiErrorResponse> {
    let client = directory
        .get_workspace_client(&target.caller.actor(), target.customer(), &target.name)
        .await?;
    Ok(Json(wire(client)))
}

/// `PATCH /{customerid}/rpclients/{name}`: changes the display name, consent, redirect URIs
/// or owner contact; any other field is refused, by name.
#[utoipa::path(
    patch,
    path = "/{customerid}/rpclients/{name}",
    operation_id = "editWorkspaceClient",
    tag = "Workspace OAuth clients",
    params(("customerid" = String, Path, description = "The customer; must be the token's"), ("name" = String, Path, description = "The client's name")),
    request_body = WorkspaceClientChanges,
    responses((status = 200, description = "The changed client", body = WorkspaceClient), super::openapi::CommonErrors, super::openapi::BodyErrors),
    security(("CwsAuth" = []))
)]
pub async fn edit(
    State(directory): State<Directory>,
    _: JsonAccepted,
    target: Target,
    ApiJson(input): ApiJson<WorkspaceClientChanges>,
) -> Result<Json<WorkspaceClient>, ApiErrorResponse> {
    let changes = domain::WorkspaceClientChanges {
        display_name: input.display_name,
        require_user_consent: input.require_user_consent,
        redirect_uris: input.redirect_uris,
        post_logout_redirect_uris: input.post_logout_redirect_uris,
        owner_contact: input.owner_contact,
    };
    let client = directory
        .edit_workspace_client(
            &target.caller.actor(),
            target.customer(),
            &target.name,
            changes,
        )
        .await?;
    Ok(Json(wire(client)))
}

/// `PUT /{customerid}/rpclients/{name}`: the same change as `PATCH`, for clients that send
/// `PUT`; fields left out keep their values.
#[utoipa::path(
    put,
    path = "/{customerid}/rpclients/{name}",
    operation_id = "replaceWorkspaceClient",
    tag = "Workspace OAuth clients",
    params(("customerid" = String, Path, description = "The customer; must be the token's"), ("name" = String, Path, description = "The client's name")),
    request_body = WorkspaceClientChanges,
    responses((status = 200, description = "The changed client", body = WorkspaceClient), super::openapi::CommonErrors, super::openapi::BodyErrors),
    security(("CwsAuth" = []))
)]
pub async fn replace(
    directory: State<Directory>,
    accepted: JsonAccepted,
    target: Target,
    input: ApiJson<WorkspaceClientChanges>,
) -> Result<Json<WorkspaceClient>, ApiErrorResponse> {
    edit(directory, accepted, target, input).await
}

/// `DELETE /{customerid}/rpclients/{name}`: the client, its tokens and refresh tokens stop
/// working.
#[utoipa::path(
    delete,
    path = "/{customerid}/rpclients/{name}",
    operation_id = "deleteWorkspaceClient",
    tag = "Workspace OAuth clients",
    params(("customerid" = String, Path, description = "The customer; must be the token's"), ("name" = String, Path, description = "The client's name")),
    responses((status = 204, description = "Deleted"), super::openapi::CommonErrors),
    security(("CwsAuth" = []))
)]
pub async fn delete(
    State(directory): State<Directory>,
    target: Target,
) -> Result<StatusCode, ApiErrorResponse> {
    directory
        .delete_workspace_client(&target.caller.actor(), target.customer(), &target.name)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /{customerid}/rpclients/{name}/$enable` (also `%24enable`).
#[utoipa::path(
    post,
    path = "/{customerid}/rpclients/{name}/$enable",
    operation_id = "enableWorkspaceClient",
    tag = "Workspace OAuth clients",
    params(("customerid" = String, Path, description = "The customer; must be the token's"), ("name" = String, Path, description = "The client's name")),
    responses((status = 200, description = "The client, enabled", body = WorkspaceClient), super::openapi::CommonErrors),
    security(("CwsAuth" = []))
)]
pub async fn enable(
    State(directory): State<Directory>,
    _: JsonAccepted,
    target: Target,
) -> Result<Json<WorkspaceClient>, ApiErrorResponse> {
    set_enabled(directory, target, true).await
}

/// `POST /{customerid}/rpclients/{name}/$disable` (also `%24disable`): the client authenticates
/// nowhere until it is enabled again.
#[utoipa::path(
    post,
    path = "/{customerid}/rpclients/{name}/$disable",
    operation_id = "disableWorkspaceClient",
    tag = "Workspace OAuth clients",
    params(("customerid" = String, Path, description = "The customer; must be the token's"), ("name" = String, Path, description = "The client's name")),
    responses((status = 200, description = "The client, disabled", body = WorkspaceClient), super::openapi::CommonErrors),
    security(("CwsAuth" = []))
)]
pub async fn disable(
    State(directory): State<Directory>,
    _: JsonAccepted,
    target: Target,
) -> Result<Json<WorkspaceClient>, ApiErrorResponse> {
    set_enabled(directory, target, false).await
}

async fn set_enabled(
    directory: Directory,
    target: Target,
    enabled: bool,
) -> Result<Json<WorkspaceClient>, ApiErrorResponse> {
    let client = directory
        .set_workspace_client_enabled(
            &target.caller.actor(),
            target.customer(),
            &target.name,
            enabled,
        )
        .await?;
    Ok(Json(wire(client)))
}

/// `POST /{customerid}/rpclients/{name}/$rotateSecret` (also `%24rotateSecret`): a new secret
/// for the full lifetime; the one it replaces keeps working until its own expiry.
#[utoipa::path(
    post,
    path = "/{customerid}/rpclients/{name}/$rotateSecret",
    operation_id = "rotateWorkspaceClientSecret",
    tag = "Workspace OAuth clients",
    params(("customerid" = String, Path, description = "The customer; must be the token's"), ("name" = String, Path, description = "The client's name")),
    responses((status = 200, description = "The client and its new secret, shown this once", body = RotatedWorkspaceSecret), super::openapi::CommonErrors),
    security(("CwsAuth" = []))
)]
pub async fn rotate_secret(
    State(directory): State<Directory>,
    _: JsonAccepted,
    target: Target,
) -> Result<Response, ApiErrorResponse> {
    let (client, secret) = directory
        .rotate_workspace_secret(&target.caller.actor(), target.customer(), &target.name)
        .await?;
    let body = RotatedWorkspaceSecret {
        client: wire(client),
        secret,
    };
    Ok(no_store(StatusCode::OK, body))
}

/// `POST /{customerid}/rpclients/{name}/$expireOldSecret` (also `%24expireOldSecret`): the old
/// secret stops working at once. `200` with an empty body, as Citrix answers.
#[utoipa::path(
    post,
    path = "/{customerid}/rpclients/{name}/$expireOldSecret",
    operation_id = "expireOldWorkspaceClientSecret",
    tag = "Workspace OAuth clients",
    params(("customerid" = String, Path, description = "The customer; must be the token's"), ("name" = String, Path, description = "The client's name")),
    responses((status = 200, description = "The old secret no longer works; empty body"), super::openapi::CommonErrors),
    security(("CwsAuth" = []))
)]
pub async fn expire_old_secret(
    State(directory): State<Directory>,
    target: Target,
) -> Result<StatusCode, ApiErrorResponse> {
    directory
        .expire_old_workspace_secret(&target.caller.actor(), target.customer(), &target.name)
        .await?;
    Ok(StatusCode::OK)
}
