//! `/secureClients`: the caller's own API clients, in the style of Citrix Cloud's APIs. The
//! command line's `client` commands and these handlers call the same directory functions.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use cloudtrust_proto::admin::{
    CreateSecureClientInput, CreatedSecureClient, SecureClient, SecureClientOwner,
    SecureClientsResult,
};

use super::administrators::{DEFAULT_PAGE, MAX_PAGE};
use super::bearer::Caller;
use super::errors::ApiErrorResponse;
use super::json::{ApiJson, JsonAccepted, Query, rfc3339};
use super::path::PathText;
use crate::domain::Directory;
use crate::domain::administrators::Administrator;
use crate::domain::api_clients::ApiClient;
use crate::domain::directory::AdministratorRef;

/// The wire form of an API client owned by `owner`.
pub fn secure_client(client: &ApiClient, owner: &Administrator) -> SecureClient {
    SecureClient {
        id: client.id.clone(),
        name: client.name.clone(),
        customer_id: client.customer_id.clone(),
        owner: SecureClientOwner {
            user_id: owner.id.clone(),
            email: owner.email.clone(),
        },
        created_date: rfc3339(client.created_at),
        last_accessed_date: client.last_used_at.map(rfc3339),
    }
}

/// `GET /secureClients`: one page of the caller's own clients.
#[utoipa::path(
    get,
    path = "/secureClients",
    operation_id = "fetchSecureClients",
    tag = "API clients",
    params(("Citrix-CustomerId" = Option<String>, Header, description = "The customer; must be the token's"), ("maxItemCount" = Option<u32>, Query, description = "Page size, 1 to 1000 (default 100)"), ("requestContinuation" = Option<String>, Query, description = "`continuationToken` of the previous page")),
    responses((status = 200, description = "One page of the caller's own clients", body = SecureClientsResult), super::openapi::CommonErrors),
    security(("CwsAuth" = []))
)]
pub async fn list(
    State(directory): State<Directory>,
    _: JsonAccepted,
    caller: Caller,
    query: Query,
) -> Result<Json<SecureClientsResult>, ApiErrorResponse> {
    let page = query.page(
        "maxItemCount",
        "requestContinuation",
        DEFAULT_PAGE,
        MAX_PAGE,
    )?;
    let owner = &caller.owner;
    let page = directory.page_own_api_clients(owner, &page).await?;
    Ok(Json(SecureClientsResult {
        items: page.items.iter().map(|c| secure_client(c, owner)).collect(),
        continuation_token: page.continuation,
    }))
}

/// `POST /secureClients/$create`: a new client of the caller's administrator; the secret is
/// in this answer and nowhere else.
#[utoipa::path(
    post,
    path = "/secureClients/$create",
    operation_id = "createSecureClient",
    tag = "API clients",
    params(("Citrix-CustomerId" = Option<String>, Header, description = "The customer; must be the token's")),
    request_body = CreateSecureClientInput,
    responses((status = 201, description = "The client and its secret, shown this once", body = CreatedSecureClient), super::openapi::CommonErrors, super::openapi::BodyErrors),
    security(("CwsAuth" = []))
)]
pub async fn create(
    State(directory): State<Directory>,
    _: JsonAccepted,
    caller: Caller,
    ApiJson(input): ApiJson<CreateSecureClientInput>,
) -> Result<Response, ApiErrorResponse> {
    let owner = &caller.owner;
    let created = directory
        .create_api_client(
            &caller.actor(),
            &caller.claims.customer,
            AdministratorRef::Id(&owner.id),
            &input.name,
        )
        .await?;
    let body = CreatedSecureClient {
        client: secure_client(&created.client, owner),
        secret: created.secret,
    };
    let mut response = (StatusCode::CREATED, Json(body)).into_response();
    response.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    Ok(response)
}

/// `GET /secureClients/{id}`: one of the caller's clients.
#[utoipa::path(
    get,
    path = "/secureClients/{id}",
    operation_id = "getSecureClient",
    tag = "API clients",
    params(("Citrix-CustomerId" = Option<String>, Header, description = "The customer; must be the token's"), ("id" = String, Path, description = "The client id")),
    responses((status = 200, description = "One of the caller's clients", body = SecureClient), super::openapi::CommonErrors),
    security(("CwsAuth" = []))
)]
pub async fn get(
    State(directory): State<Directory>,
    _: JsonAccepted,
    caller: Caller,
    PathText(id, _): PathText<ApiErrorResponse>,
) -> Result<Json<SecureClient>, ApiErrorResponse> {
    let owner = &caller.owner;
    let client = directory
        .get_api_client(&caller.actor(), &caller.claims.customer, &id)
        .await?;
    Ok(Json(secure_client(&client, owner)))
}

/// `DELETE /secureClients/{id}`: deletes one of the caller's clients; its tokens stop working.
#[utoipa::path(
    delete,
    path = "/secureClients/{id}",
    operation_id = "deleteSecureClient",
    tag = "API clients",
    params(("Citrix-CustomerId" = Option<String>, Header, description = "The customer; must be the token's"), ("id" = String, Path, description = "The client id")),
    responses((status = 204, description = "Deleted; its tokens stop working"), super::openapi::CommonErrors),
    security(("CwsAuth" = []))
)]
pub async fn delete(
    State(directory): State<Directory>,
    caller: Caller,
    PathText(id, _): PathText<ApiErrorResponse>,
) -> Result<StatusCode, ApiErrorResponse> {
    directory
        .delete_api_client(&caller.actor(), &caller.claims.customer, &id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
