//! The developer portal: "Set Authentication" (Client ID and Secret → a bearer token and the
//! ready `Authorization` value), and API Exploration, listing every operation of
//! `/openapi.json` with an Invoke API form that the browser sends with the generated token.

use std::sync::{Arc, OnceLock};

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::Value;

use super::page::{Frame, render, unavailable, when};
use super::session::{FormKey, FormToken, MaybeSignedIn, SignedOutForm};
use crate::auth::{Auth, ROOT, Refusal};
use crate::http::errors::ApiErrorResponse;
use crate::http::middleware::client_address::ClientAddress;
use crate::http::middleware::region::Served;
use crate::http::openapi;

/// One input of an Invoke API form.
pub struct Param {
    /// The parameter's name.
    pub name: String,
    /// `path`, `query` or `header`.
    pub location: String,
    /// Whether it must be given.
    pub required: bool,
    /// What it is.
    pub description: String,
    /// The element id, unique on the page.
    pub input_id: String,
    /// Whether it is the `Authorization` header (filled by Generate).
    pub authorization: bool,
    /// Whether it is `Citrix-CustomerId` (filled with the token's customer).
    pub customer: bool,
}

/// One operation of the API.
pub struct Endpoint {
    /// `operationId`.
    pub id: String,
    /// `GET`, `POST`, ….
    pub method: String,
    /// The path template, e.g. `/administrators/{id}`.
    pub path: String,
    /// What it does.
    pub summary: String,
    /// Its inputs.
    pub params: Vec<Param>,
    /// The media type of its body, if it takes one.
    pub body_type: Option<String>,
    /// A body to start from: the schema's fields with empty values.
    pub body_template: String,
}

/// The operations under one tag.
pub struct Group {
    /// The tag.
    pub name: String,
    /// What the tag covers.
    pub description: String,
    /// Its operations.
    pub endpoints: Vec<Endpoint>,
}

const METHODS: &[&str] = &["get", "put", "post", "delete", "patch"];

fn text(value: &Value, key: &str) -> String {
    value
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .trim()
        .to_owned()
}

/// The operations of the OpenAPI document, grouped by tag in the document's order.
fn catalogue() -> &'static [Group] {
    static GROUPS: OnceLock<Vec<Group>> = OnceLock::new();
    GROUPS.get_or_init(|| {
        let doc = serde_json::to_value(openapi::document()).unwrap_or_default();
        let mut groups: Vec<Group> = doc
            .get("tags")
            .and_then(Value::as_array)
            .map(|tags| {
                tags.iter()
                    .map(|t| Group {
                        name: text(t, "name"),
                        description: text(t, "description"),
                        endpoints: Vec::new(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let paths = doc.get("paths").and_then(Value::as_object);
        for (path, item) in paths.into_iter().flatten() {
            for method in METHODS {
                let Some(op) = item.get(*method) else {
                    continue;
                };
                let endpoint = endpoint(&doc, path, method, op);
                let tag = op
                    .get("tags")
                    .and_then(|t| t.get(0))
                    .and_then(Value::as_str)
                    .unwrap_or("Other")
                    .to_owned();
                match groups.iter_mut().find(|g| g.name == tag) {
                    Some(group) => group.endpoints.push(endpoint),
                    None => groups.push(Group {
                        name: tag,
                        description: String::new(),
                        endpoints: vec![endpoint],
                    }),
                }
            }
        }
        groups.retain(|g| !g.endpoints.is_empty());
        groups
    })
}

/// A body to start from for `schema` in `media_type`: each property with an empty value of
/// its type (`grant_type` filled in, as it has one possible value), as JSON or as a form.
fn body_template(doc: &Value, media_type: &str, schema: &Value) -> String {
    let schema = match schema.get("$ref").and_then(Value::as_str) {
        Some(reference) => reference
            .strip_prefix("#/components/schemas/")
            .and_then(|name| doc.pointer(&format!("/components/schemas/{name}")))
            .unwrap_or(&Value::Null),
        None => schema,
    };
    let properties = schema.get("properties").and_then(Value::as_object);
    let fields: Vec<(&String, &Value)> = properties.into_iter().flatten().collect();
    if media_type == "application/x-www-form-urlencoded" {
        return fields
            .iter()
            .map(|(name, _)| match name.as_str() {
                "grant_type" => "grant_type=client_credentials".to_owned(),
                other => format!("{other}="),
            })
            .collect::<Vec<_>>()
            .join("&");
    }
    let mut object = serde_json::Map::new();
    for (name, property) in fields {
        let empty = match property.get("type").and_then(Value::as_str) {
            Some("integer" | "number") => Value::from(0),
            Some("boolean") => Value::Bool(false),
            Some("array") => Value::Array(Vec::new()),
            Some("object") => Value::Object(serde_json::Map::new()),
            Some("string") => Value::from(""),
            _ => Value::Null,
        };
        object.insert(name.clone(), empty);
    }
    serde_json::to_string_pretty(&Value::Object(object)).unwrap_or_default()
}

fn endpoint(doc: &Value, path: &str, method: &str, op: &Value) -> Endpoint {
    let id = text(op, "operationId");
    let mut params: Vec<Param> = op
        .get("parameters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|p| {
            let name = text(p, "name");
            Param {
                input_id: format!("{id}-{}", name.to_ascii_lowercase()),
                customer: name.eq_ignore_ascii_case("Citrix-CustomerId"),
                authorization: false,
                location: text(p, "in"),
                required: p.get("required").and_then(Value::as_bool).unwrap_or(false),
                description: text(p, "description").replace('`', ""),
                name,
            }
        })
        .collect();
    let secured = op
        .get("security")
        .and_then(Value::as_array)
        .is_some_and(|s| !s.is_empty());
    if secured {
        let bearer = op["security"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|s| s.get("CwsAuth").is_some());
        params.insert(
            0,
            Param {
                name: "Authorization".to_owned(),
                location: "header".to_owned(),
                required: true,
                description: if bearer {
                    "CwsAuth Bearer=<token>".to_owned()
                } else {
                    "Basic <base64 of key:secret>".to_owned()
                },
                input_id: format!("{id}-authorization"),
                authorization: bearer,
                customer: false,
            },
        );
    }
    let summary = match text(op, "summary") {
        s if s.is_empty() => text(op, "description"),
        s => s,
    };
    // Doc comments name the route first (`GET /path`: what it does); the page shows the route
    // already.
    let summary = match summary.split_once("`: ") {
        Some((route, rest)) if route.starts_with('`') => rest.to_owned(),
        _ => summary,
    }
    .replace('`', "");
    let body = op
        .get("requestBody")
        .and_then(|b| b.get("content"))
        .and_then(Value::as_object)
        .and_then(|c| c.iter().next());
    Endpoint {
        body_type: body.map(|(media_type, _)| media_type.clone()),
        body_template: body
            .map(|(media_type, content)| {
                body_template(
                    doc,
                    media_type,
                    content.get("schema").unwrap_or(&Value::Null),
                )
            })
            .unwrap_or_default(),
        method: method.to_ascii_uppercase(),
        path: path.to_owned(),
        summary,
        params,
        id,
    }
}

/// A generated token, or why there is none.
#[derive(Default)]
pub struct Generated {
    /// The bearer token.
    pub token: Option<String>,
    /// The client's customer.
    pub customer_id: String,
    /// Seconds it lives.
    pub expires_in: String,
    /// When it expires, for people.
    pub expires_at: String,
    /// Why no token was issued.
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "portal.html")]
struct PortalPage<'a> {
    frame: Frame,
    csrf: String,
    customer_id: String,
    groups: &'a [Group],
    generated: Generated,
}

#[derive(Template)]
#[template(path = "portal_token.html")]
struct TokenFragment {
    generated: Generated,
}

fn portal_page(
    status: StatusCode,
    signed_in: MaybeSignedIn,
    token: &FormToken,
    generated: Generated,
) -> Response {
    let (frame, customer_id) = match &signed_in.0 {
        Some(s) => (Frame::of(s), s.customer.id.clone()),
        None => (Frame::signed_out(), String::new()),
    };
    token.apply(render(
        status,
        &PortalPage {
            frame,
            csrf: token.value.clone(),
            customer_id,
            groups: catalogue(),
            generated,
        },
    ))
}

/// `GET /portal`.
pub async fn show(
    State(form_key): State<FormKey>,
    Served(serving): Served,
    signed_in: MaybeSignedIn,
    headers: HeaderMap,
) -> Response {
    let token = FormToken::for_page(&headers, &serving, &form_key);
    portal_page(StatusCode::OK, signed_in, &token, Generated::default())
}

/// `POST /portal/token`: Generate. Answers the result alone to the page's own request, or
/// the whole page to a plain form post.
pub async fn generate(
    State(form_key): State<FormKey>,
    State(auth): State<Arc<Auth>>,
    ClientAddress(source): ClientAddress,
    Served(serving): Served,
    signed_in: MaybeSignedIn,
    headers: HeaderMap,
    SignedOutForm(form): SignedOutForm,
) -> Response {
    let customer = match form.text("customer_id") {
        "" => ROOT,
        given => given,
    };
    let client_id = form.text("client_id");
    let secret = form.get("client_secret").unwrap_or_default().trim();
    let (status, generated) = if client_id.is_empty() || secret.is_empty() {
        (
            StatusCode::BAD_REQUEST,
            Generated {
                error: Some("Enter the Client ID and the Secret of an API client.".to_owned()),
                ..Generated::default()
            },
        )
    } else {
        match auth
            .issue_api_client_token(&serving, source, customer, client_id, secret)
            .await
        {
            Ok(Ok(issued)) => (
                StatusCode::OK,
                Generated {
                    customer_id: issued.client.customer_id.clone(),
                    expires_in: auth.token_lifetime_secs().to_string(),
                    expires_at: when(issued.token.expires_at),
                    token: Some(issued.token.token),
                    error: None,
                },
            ),
            Ok(Err(refusal)) => {
                let (status, text) = match refusal {
                    Refusal::Throttled(wait) | Refusal::Busy(wait) => (
                        StatusCode::TOO_MANY_REQUESTS,
                        format!(
                            "Too many failed attempts with this Client ID. Try again in {wait} \
                             seconds."
                        ),
                    ),
                    Refusal::Invalid => (
                        StatusCode::BAD_REQUEST,
                        "The Client ID or the Secret is not right, or the client was deleted. \
                         Check both and try again."
                            .to_owned(),
                    ),
                    Refusal::Elsewhere(elsewhere) => (
                        StatusCode::FORBIDDEN,
                        ApiErrorResponse::served_elsewhere(&elsewhere)
                            .body()
                            .detail
                            .clone(),
                    ),
                };
                (
                    status,
                    Generated {
                        error: Some(text),
                        ..Generated::default()
                    },
                )
            }
            Err(e) => {
                tracing::error!(error = %e, "generating a token failed");
                return unavailable();
            }
        }
    };
    if headers.contains_key("hx-request") && !headers.contains_key("hx-boosted") {
        render(status, &TokenFragment { generated })
    } else {
        let token = FormToken::for_page(&headers, &serving, &form_key);
        portal_page(status, signed_in, &token, generated)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_of_the_document_is_listed() {
        let doc = serde_json::to_value(openapi::document()).expect("document");
        let operations: usize = doc["paths"]
            .as_object()
            .expect("paths")
            .values()
            .map(|item| METHODS.iter().filter(|m| item.get(**m).is_some()).count())
            .sum();
        let listed: usize = catalogue().iter().map(|g| g.endpoints.len()).sum();
        assert_eq!(listed, operations);
        let me = catalogue()
            .iter()
            .flat_map(|g| &g.endpoints)
            .find(|e| e.path == "/cvadapis/me")
            .expect("/cvadapis/me is listed");
        assert!(me.params.iter().any(|p| p.authorization));
        let bodies: Vec<(&str, &str)> = catalogue()
            .iter()
            .flat_map(|g| &g.endpoints)
            .filter(|e| e.body_type.is_some())
            .map(|e| (e.path.as_str(), e.body_template.as_str()))
            .collect();
        assert!(
            bodies.contains(&("/secureClients/$create", "{\n  \"name\": \"\"\n}")),
            "{bodies:?}"
        );
        assert!(
            bodies.contains(&(
                "/cctrustoauth2/{customerid}/tokens/clients",
                "client_id=&client_secret=&grant_type=client_credentials"
            )),
            "{bodies:?}"
        );
    }
}
