//! `/administrators`: Citrix Cloud's Administrators API, as Citrix's Go SDK (`ccadmins`) and
//! the Terraform provider call it. The caller acts with the current rights of the
//! administrator who owns its API client.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cloudtrust_proto::admin::{
    ADMINISTRATOR_USER, AccessPolicy, AdministratorAccess, AdministratorResult,
    AdministratorsResult, Checkable, CreateAdministratorInput, PROVIDER_CITRIX_STS, ScopeChoices,
};

use super::bearer::Caller;
use super::errors::ApiErrorResponse;
use super::json::{ApiJson, JsonAccepted, Query, rfc3339};
use super::path::PathText;
use crate::clock::Clock;
use crate::domain::Directory;
use crate::domain::administrators::Administrator;
use crate::domain::audit::Actor;
use crate::domain::directory::{AdministratorRef, NewAdministrator};
use crate::domain::paging::Page;
use crate::domain::permissions::{self, Access};
use crate::error::Error;
use crate::http::PublicUrl;
use crate::notify::Notifier;
use std::sync::Arc;

/// Largest `maxItemCount`.
pub const MAX_PAGE: usize = 1000;
/// `maxItemCount` when not given.
pub const DEFAULT_PAGE: usize = 100;

/// The wire form of an administrator.
pub fn result(admin: &Administrator, now: i64) -> AdministratorResult {
    AdministratorResult {
        customer_id: admin.customer_id.clone(),
        user_id: (!admin.pending).then(|| admin.id.clone()),
        uc_oid: admin.uc_oid(),
        admin_type: ADMINISTRATOR_USER.to_owned(),
        access_type: access_type(&admin.access).to_owned(),
        provider_type: PROVIDER_CITRIX_STS.to_owned(),
        first_name: admin.first_name.clone(),
        last_name: admin.last_name.clone(),
        display_name: admin.display_name.clone(),
        email: admin.email.clone(),
        pending: admin.pending,
        invitation_expired: admin.pending
            && admin.invitation_expires_at.is_some_and(|at| at <= now),
        created_date: rfc3339(admin.created_at),
        updated_date: rfc3339(admin.updated_at),
        e_tag: admin.etag.clone(),
    }
}

fn access_type(access: &Access) -> &'static str {
    match access {
        Access::Full => "Full",
        Access::Custom(_) => "Custom",
    }
}

/// The whole catalogue, each policy checked when `access` grants it; `canChangeValue` says
/// whether `actor` could grant or take it.
pub fn access_model(access: &Access, actor: &Actor) -> AdministratorAccess {
    let manages = actor.manages_administrators();
    AdministratorAccess {
        access_type: access_type(access).to_owned(),
        policies: permissions::CATALOGUE
            .iter()
            .map(|p| AccessPolicy {
                name: p.name.to_owned(),
                service_name: Some(p.service_name.to_owned()),
                display_name: Some(p.display_name.to_owned()),
                checkable: Checkable {
                    value: Some(access.allows(p.name)),
                    can_change_value: Some(manages && actor.allows(p.name)),
                },
                scope_choices: Some(ScopeChoices {
                    all_scopes_selected: true,
                    choices: None,
                }),
            })
            .collect(),
    }
}

/// Reads `Full` / `Custom` and the checked policies into an access.
fn parse_access(
    access_type: &str,
    policies: Option<&[AccessPolicy]>,
) -> Result<Access, ApiErrorResponse> {
    if access_type.eq_ignore_ascii_case("full") {
        return Ok(Access::Full);
    }
    if !access_type.eq_ignore_ascii_case("custom") {
        return Err(ApiErrorResponse::bad_request(
            "invalidEnum",
            format!("accessType `{access_type}` is not one of Full, Custom"),
            "accessType",
        ));
    }
    let mut names = Vec::new();
    for policy in policies.unwrap_or_default() {
        if policy.checkable.value == Some(false) {
            continue;
        }
        let known = permissions::find(&policy.name).or_else(|| {
            policy.display_name.as_deref().and_then(|display| {
                permissions::CATALOGUE
                    .iter()
                    .find(|p| p.display_name.eq_ignore_ascii_case(display.trim()))
            })
        });
        match known {
            Some(p) => names.push(p.name),
            None => {
                return Err(ApiErrorResponse::bad_request(
                    "invalidString",
                    format!(
                        "policy `{}` is not in the permission catalogue",
                        policy.name
                    ),
                    "policies",
                ));
            }
        }
    }
    Access::custom(names).map_err(ApiErrorResponse::from)
}

fn require_enum(value: &str, allowed: &str, field: &str) -> Result<(), ApiErrorResponse> {
    if value.eq_ignore_ascii_case(allowed) {
        Ok(())
    } else {
        Err(ApiErrorResponse::bad_request(
            "invalidEnum",
            format!("{field} `{value}` is not supported; cloudtrust has `{allowed}` only"),
            field,
        ))
    }
}

/// `GET /administrators`: one page, with the filters of the Go SDK.
#[utoipa::path(
    get,
    path = "/administrators",
    operation_id = "fetchAdministrators",
    tag = "Administrators",
    params(("Citrix-CustomerId" = Option<String>, Header, description = "The customer; must be the token's"), ("maxItemCount" = Option<u32>, Query, description = "Page size, 1 to 1000 (default 100)"), ("requestContinuation" = Option<String>, Query, description = "`continuationToken` of the previous page"),
        ("type" = Option<String>, Query, description = "Only this type (`AdministratorUser`)"),
        ("providerType" = Option<String>, Query, description = "Only this provider (`CitrixSts`)"),
        ("id" = Option<String>, Query, description = "Only this administrator (`userId` or `ucOid`)")),
    responses((status = 200, description = "One page; `continuationToken` is null on the last", body = AdministratorsResult), super::openapi::CommonErrors),
    security(("CwsAuth" = []))
)]
pub async fn list(
    State(clock): State<Arc<dyn Clock>>,
    State(directory): State<Directory>,
    _: JsonAccepted,
    caller: Caller,
    query: Query,
) -> Result<Json<AdministratorsResult>, ApiErrorResponse> {
    let actor = caller.actor();
    actor.require(permissions::ADMINISTRATORS)?;
    let customer = &caller.claims.customer;
    let page = query.page(
        "maxItemCount",
        "requestContinuation",
        DEFAULT_PAGE,
        MAX_PAGE,
    )?;
    let now = clock.now();
    let wanted = |name: &str, value: &str| {
        query
            .get(name)
            .is_none_or(|v| v.eq_ignore_ascii_case(value))
    };
    let page =
        if !wanted("type", ADMINISTRATOR_USER) || !wanted("providerType", PROVIDER_CITRIX_STS) {
            Page::default()
        } else if let Some(id) = query.get("id") {
            match directory
                .get_administrator(&actor, customer, AdministratorRef::Id(id))
                .await
            {
                Ok(admin) => Page {
                    items: vec![admin],
                    continuation: None,
                },
                Err(Error::NotFound { .. }) => Page::default(),
                Err(e) => return Err(e.into()),
            }
        } else {
            directory
                .list_administrators(&actor, customer, Some(&page))
                .await?
        };
    Ok(Json(AdministratorsResult {
        items: page.items.iter().map(|a| result(a, now)).collect(),
        continuation_token: page.continuation,
    }))
}

/// `POST /administrators/$create`: invites an administrator, pending until accepted.
#[utoipa::path(
    post,
    path = "/administrators/$create",
    operation_id = "createAdministrator",
    tag = "Administrators",
    params(("Citrix-CustomerId" = Option<String>, Header, description = "The customer; must be the token's")),
    request_body = CreateAdministratorInput,
    responses(
        (status = 201, description = "The invited administrator, pending until accepted", body = AdministratorResult),
        (status = 409, description = "An administrator with this email exists", body = cloudtrust_proto::ApiError),
        super::openapi::CommonErrors, super::openapi::BodyErrors),
    security(("CwsAuth" = []))
)]
pub async fn create(
    State(clock): State<Arc<dyn Clock>>,
    State(directory): State<Directory>,
    State(notifier): State<Arc<Notifier>>,
    State(public_url): State<PublicUrl>,
    _: JsonAccepted,
    caller: Caller,
    ApiJson(input): ApiJson<CreateAdministratorInput>,
) -> Result<Response, ApiErrorResponse> {
    require_enum(&input.admin_type, ADMINISTRATOR_USER, "type")?;
    require_enum(&input.provider_type, PROVIDER_CITRIX_STS, "providerType")?;
    let access = parse_access(&input.access_type, input.policies.as_deref())?;
    let email = input
        .email
        .as_deref()
        .filter(|e| !e.trim().is_empty())
        .ok_or_else(|| ApiErrorResponse::bad_request("missing", "email is required", "email"))?;
    let actor = caller.actor();
    let new = NewAdministrator {
        email: email.to_owned(),
        display_name: input.display_name,
        first_name: input.first_name,
        last_name: input.last_name,
        access,
    };
    let invitation = directory
        .invite_administrator(&actor, &caller.claims.customer, new)
        .await?;
    notifier.invitation(&invitation, &public_url.0);
    let body = result(&invitation.administrator, clock.now());
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// `GET /administrators/{id}`: one administrator, by id or `ucOid`.
#[utoipa::path(
    get,
    path = "/administrators/{id}",
    operation_id = "getAdministrator",
    tag = "Administrators",
    params(("Citrix-CustomerId" = Option<String>, Header, description = "The customer; must be the token's"), ("id" = String, Path, description = "`userId` or `ucOid`")),
    responses((status = 200, description = "The administrator", body = AdministratorResult), super::openapi::CommonErrors),
    security(("CwsAuth" = []))
)]
pub async fn get(
    State(clock): State<Arc<dyn Clock>>,
    State(directory): State<Directory>,
    _: JsonAccepted,
    caller: Caller,
    PathText(id, _): PathText<ApiErrorResponse>,
) -> Result<Json<AdministratorResult>, ApiErrorResponse> {
    let actor = caller.actor();
    let admin = directory
        .get_administrator(&actor, &caller.claims.customer, AdministratorRef::Id(&id))
        .await?;
    Ok(Json(result(&admin, clock.now())))
}

fn with_etag(body: AdministratorAccess, etag: &str) -> Response {
    let mut response = Json(body).into_response();
    if let Ok(value) = HeaderValue::from_str(&format!("\"{etag}\"")) {
        response.headers_mut().insert(header::ETAG, value);
    }
    response
}

/// `GET /administrators/{id}/access`: the catalogue, with what the administrator holds.
#[utoipa::path(
    get,
    path = "/administrators/{id}/access",
    operation_id = "getAdministratorAccess",
    tag = "Administrators",
    params(("Citrix-CustomerId" = Option<String>, Header, description = "The customer; must be the token's"), ("id" = String, Path, description = "`userId` or `ucOid`")),
    responses((status = 200, description = "The permission catalogue, granted policies checked; `ETag` header", body = AdministratorAccess), super::openapi::CommonErrors),
    security(("CwsAuth" = []))
)]
pub async fn get_access(
    State(directory): State<Directory>,
    _: JsonAccepted,
    caller: Caller,
    PathText(id, _): PathText<ApiErrorResponse>,
) -> Result<Response, ApiErrorResponse> {
    let actor = caller.actor();
    let admin = directory
        .get_administrator(&actor, &caller.claims.customer, AdministratorRef::Id(&id))
        .await?;
    Ok(with_etag(access_model(&admin.access, &actor), &admin.etag))
}

/// `PUT /administrators/access?id=`: replaces an administrator's access. With `If-Match`, a
/// change based on an older `eTag` gets 409 `optimisticConcurrency`.
#[utoipa::path(
    put,
    path = "/administrators/access",
    operation_id = "updateAdministratorAccess",
    tag = "Administrators",
    params(("Citrix-CustomerId" = Option<String>, Header, description = "The customer; must be the token's"), ("id" = String, Query, description = "`userId` or `ucOid`"),
        ("If-Match" = Option<String>, Header, description = "The `eTag` the change is based on")),
    request_body = AdministratorAccess,
    responses(
        (status = 200, description = "The new access; `ETag` header", body = AdministratorAccess),
        (status = 409, description = "`optimisticConcurrency`: the administrator changed since that `eTag`", body = cloudtrust_proto::ApiError),
        super::openapi::CommonErrors, super::openapi::BodyErrors),
    security(("CwsAuth" = []))
)]
pub async fn set_access(
    State(directory): State<Directory>,
    _: JsonAccepted,
    caller: Caller,
    query: Query,
    headers: HeaderMap,
    ApiJson(input): ApiJson<AdministratorAccess>,
) -> Result<Response, ApiErrorResponse> {
    let id = query
        .get("id")
        .ok_or_else(|| ApiErrorResponse::bad_request("missing", "id is required", "id"))?;
    let access = parse_access(&input.access_type, Some(&input.policies))?;
    // An `If-Match` that is not text matches no `eTag`, rather than being ignored.
    let if_match = headers
        .get(header::IF_MATCH)
        .map(|v| v.to_str().unwrap_or("\u{fffd}"))
        .filter(|v| v.trim() != "*");
    let actor = caller.actor();
    let admin = directory
        .set_access(
            &actor,
            &caller.claims.customer,
            AdministratorRef::Id(id),
            access,
            if_match,
        )
        .await?;
    Ok(with_etag(access_model(&admin.access, &actor), &admin.etag))
}

/// `DELETE /administrators/{id}`: removes the administrator, its API clients and the
/// validity of their tokens, in one transaction.
#[utoipa::path(
    delete,
    path = "/administrators/{id}",
    operation_id = "deleteAdministrator",
    tag = "Administrators",
    params(("Citrix-CustomerId" = Option<String>, Header, description = "The customer; must be the token's"), ("id" = String, Path, description = "`userId` or `ucOid`")),
    responses((status = 204, description = "Removed, with its API clients"), super::openapi::CommonErrors),
    security(("CwsAuth" = []))
)]
pub async fn delete(
    State(directory): State<Directory>,
    caller: Caller,
    PathText(id, _): PathText<ApiErrorResponse>,
) -> Result<StatusCode, ApiErrorResponse> {
    let actor = caller.actor();
    directory
        .remove_administrator(&actor, &caller.claims.customer, AdministratorRef::Id(&id))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /administrators/invitations?email=`: withdraws a pending invitation; answers `true`.
#[utoipa::path(
    delete,
    path = "/administrators/invitations",
    operation_id = "deleteInvitation",
    tag = "Administrators",
    params(("Citrix-CustomerId" = Option<String>, Header, description = "The customer; must be the token's"), ("email" = String, Query, description = "The invited address")),
    responses((status = 200, description = "Withdrawn", body = bool, content_type = "application/json"), super::openapi::CommonErrors),
    security(("CwsAuth" = []))
)]
pub async fn delete_invitation(
    State(directory): State<Directory>,
    caller: Caller,
    query: Query,
) -> Result<Json<bool>, ApiErrorResponse> {
    let email = query
        .get("email")
        .ok_or_else(|| ApiErrorResponse::bad_request("missing", "email is required", "email"))?;
    let actor = caller.actor();
    directory
        .delete_invitation(&actor, &caller.claims.customer, email)
        .await?;
    Ok(Json(true))
}
