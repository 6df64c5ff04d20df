//! Identity and Access Management → API Access: the customer id above the Create Client
//! button, "Name your Secure Client", the dialog with the new ID and Secret (copy, download as
//! CSV), and the administrator's own API clients with created and last-used times.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use super::page::{Frame, PageRejection, explain, render, when};
use super::session::{Posted, SignedIn};
use crate::domain::Directory;
use crate::domain::directory::AdministratorRef;
use crate::domain::permissions;
use crate::http::path::PathText;

/// The page's path.
pub const PATH: &str = "/console/iam/api-access";

/// The name of the downloaded file, as Citrix Cloud names it.
pub const CSV_FILE_NAME: &str = "secureclient.csv";

/// One API client in the list.
struct Row {
    id: String,
    name: String,
    created: String,
    last_used: String,
}

/// A client just created, shown once.
struct Created {
    name: String,
    id: String,
    secret: String,
    csv_href: String,
}

#[derive(Template)]
#[template(path = "api_access.html")]
struct ApiAccessPage {
    frame: Frame,
    csrf: String,
    customer_id: String,
    may_create: bool,
    rows: Vec<Row>,
    created: Option<Created>,
    name: String,
    notice: Option<String>,
    error: Option<String>,
}

/// The CSV the Download button saves: a header line and the new client's values.
pub fn csv(id: &str, secret: &str, customer_id: &str) -> String {
    let field = |value: &str| {
        if value.contains([',', '"', '\r', '\n']) {
            format!("\"{}\"", value.replace('"', "\"\""))
        } else {
            value.to_owned()
        }
    };
    format!(
        "Client ID,Secret,Customer ID\r\n{},{},{}\r\n",
        field(id),
        field(secret),
        field(customer_id)
    )
}

/// A `data:` URL carrying `csv`, for a download link that needs no second request (the secret
/// is not kept anywhere to serve it from).
pub fn data_url(csv: &str) -> String {
    let mut url = String::from("data:text/csv;charset=utf-8,");
    for byte in csv.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            url.push(char::from(byte));
        } else {
            url.push_str(&format!("%{byte:02X}"));
        }
    }
    url
}

struct Outcome {
    status: StatusCode,
    created: Option<Created>,
    name: String,
    notice: Option<String>,
    error: Option<String>,
}

impl Outcome {
    fn ok() -> Self {
        Outcome {
            status: StatusCode::OK,
            created: None,
            name: String::new(),
            notice: None,
            error: None,
        }
    }
}

async fn page(directory: &Directory, signed_in: &SignedIn, outcome: Outcome) -> Response {
    let listed = directory
        .list_api_clients(
            &signed_in.actor(),
            &signed_in.customer.id,
            Some(AdministratorRef::Id(&signed_in.administrator.id)),
            None,
        )
        .await;
    let clients = match listed {
        Ok(page) => page.items,
        Err(e) => return super::administrators::refused(signed_in, &e),
    };
    render(
        outcome.status,
        &ApiAccessPage {
            frame: Frame::of(signed_in),
            csrf: signed_in.session.csrf_token.clone(),
            customer_id: signed_in.customer.id.clone(),
            may_create: signed_in.actor().allows(permissions::API_CLIENTS),
            rows: clients
                .iter()
                .map(|c| Row {
                    id: c.id.clone(),
                    name: c.name.clone(),
                    created: when(c.created_at),
                    last_used: c.last_used_at.map_or_else(|| "Never".to_owned(), when),
                })
                .collect(),
            created: outcome.created,
            name: outcome.name,
            notice: outcome.notice,
            error: outcome.error,
        },
    )
}

/// `GET /console/iam/api-access`.
pub async fn show(State(directory): State<Directory>, signed_in: SignedIn) -> Response {
    page(&directory, &signed_in, Outcome::ok()).await
}

/// `POST /console/iam/api-access`: Create Client.
pub async fn create(
    State(directory): State<Directory>,
    Posted {
        by: signed_in,
        form,
    }: Posted<SignedIn>,
) -> Response {
    let name = form.text("name").to_owned();
    let result = directory
        .create_api_client(
            &signed_in.actor(),
            &signed_in.customer.id,
            AdministratorRef::Id(&signed_in.administrator.id),
            &name,
        )
        .await;
    let outcome = match result {
        Ok(created) => {
            let csv = csv(&created.client.id, &created.secret, &signed_in.customer.id);
            Outcome {
                created: Some(Created {
                    name: created.client.name,
                    csv_href: data_url(&csv),
                    id: created.client.id,
                    secret: created.secret,
                }),
                ..Outcome::ok()
            }
        }
        Err(e) => {
            let (status, text) = explain(&e);
            Outcome {
                status,
                name,
                error: Some(text),
                ..Outcome::ok()
            }
        }
    };
    page(&directory, &signed_in, outcome).await
}

/// `POST /console/iam/api-access/{id}/delete`: deletes one of the administrator's clients.
pub async fn delete(
    State(directory): State<Directory>,
    PathText(id, _): PathText<PageRejection>,
    Posted { by: signed_in, .. }: Posted<SignedIn>,
) -> Response {
    let result = directory
        .delete_api_client(&signed_in.actor(), &signed_in.customer.id, &id)
        .await;
    let outcome = match result {
        Ok(client) => Outcome {
            notice: Some(format!(
                "The API client {} is deleted. Its tokens no longer work.",
                client.name
            )),
            ..Outcome::ok()
        },
        Err(e) => {
            let (status, text) = explain(&e);
            Outcome {
                status,
                error: Some(text),
                ..Outcome::ok()
            }
        }
    };
    page(&directory, &signed_in, outcome).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_csv_has_a_header_and_one_row_and_travels_in_a_data_url() {
        let text = csv("id-1", "s3cr-t_", "acme");
        assert_eq!(
            text,
            "Client ID,Secret,Customer ID\r\nid-1,s3cr-t_,acme\r\n"
        );
        assert_eq!(
            csv("a,b", "x\"y", "c"),
            "Client ID,Secret,Customer ID\r\n\"a,b\",\"x\"\"y\",c\r\n"
        );
        let url = data_url(&text);
        assert!(url.starts_with("data:text/csv;charset=utf-8,Client%20ID%2CSecret"));
        assert!(!url.contains(['\r', '\n', ' ', '"']));
    }
}
