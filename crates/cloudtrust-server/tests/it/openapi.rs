//! `/openapi.json` describes every JSON endpoint; the snapshot makes any change to an endpoint's
//! contract show up in review (`cargo insta review` after an intended change).

use serde_json::Value;

use crate::support::{Backend, Env};

/// Every JSON endpoint the server has, as `METHOD path`.
const ENDPOINTS: &[&str] = &[
    "post /cctrustoauth2/{customerid}/tokens/clients",
    "post /{customerid}/tokens/clients",
    "get /.well-known/openid-configuration",
    "get /.well-known/oauth-authorization-server",
    "get /.well-known/jwks.json",
    "get /cvadapis/me",
    "get /cvad/manage/me",
    "get /administrators",
    "post /administrators/$create",
    "get /administrators/{id}",
    "delete /administrators/{id}",
    "get /administrators/{id}/access",
    "put /administrators/access",
    "delete /administrators/invitations",
    "get /secureClients",
    "post /secureClients/$create",
    "get /secureClients/{id}",
    "delete /secureClients/{id}",
    "get /systemlog/records",
    "get /v0/companies",
    "get /v0/roles",
    "get /v0/oauth/token",
    "get /v0/me",
    "get /healthz",
    "get /readyz",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_covers_every_json_endpoint() {
    let env = Env::new(Backend::Sqlite)
        .await
        .expect("sqlite is always there");
    let response = env
        .http
        .get(env.url("/openapi.json"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    let doc: Value = response.json().await.expect("json");
    assert!(doc["openapi"].as_str().expect("version").starts_with("3."));
    assert_eq!(doc["servers"][0]["url"], env.base());

    let mut documented: Vec<String> = doc["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .expect("path item")
                .keys()
                .map(move |method| format!("{method} {path}"))
        })
        .collect();
    documented.sort();
    let mut expected: Vec<String> = ENDPOINTS.iter().map(|e| (*e).to_owned()).collect();
    expected.sort();
    assert_eq!(documented, expected);

    for endpoint in ENDPOINTS {
        let (method, path) = endpoint.split_once(' ').expect("method and path");
        let operation = &doc["paths"][path][method];
        assert!(
            operation["responses"]
                .as_object()
                .is_some_and(|r| !r.is_empty()),
            "{endpoint} has responses"
        );
    }
    assert!(doc["components"]["schemas"]["AdministratorResult"].is_object());
    assert!(doc["components"]["securitySchemes"]["CwsAuth"].is_object());

    insta::assert_json_snapshot!("openapi", doc, { ".servers[].url" => "[base url]" });
}
