//! `/openapi.json` describes every JSON endpoint; the snapshot makes any change to an endpoint's
//! contract show up in review (`cargo insta review` after an intended change).

use serde_json::Value;

use crate::support::{Backend, Env};

/// Every JSON endpoint the server has, as `METHOD path`.
const ENDPOINTS: &[&str] = &[
    "post /cctrustoauth2/{customerid}/tokens/clients",
    "post /cctrustoauth2/{customerid}/tokens/introspect",
    "post /cctrustoauth2/{customerid}/tokens/revoke",
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
    "get /{customerid}/rpclients",
    "post /{customerid}/rpclients",
    "get /{customerid}/rpclients/{name}",
    "patch /{customerid}/rpclients/{name}",
    "delete /{customerid}/rpclients/{name}",
    "post /{customerid}/rpclients/{name}/$enable",
    "post /{customerid}/rpclients/{name}/$disable",
    "post /{customerid}/rpclients/{name}/$rotateSecret",
    "post /{customerid}/rpclients/{name}/$expireOldSecret",
    "get /core/.well-known/openid-configuration",
    "get /core/.well-known/openid-configuration/jwks",
    "post /core/connect/token",
    "get /core/connect/userinfo",
    "post /core/connect/userinfo",
    "post /core/connect/revocation",
    "post /core/connect/introspect",
    "get /citrixapi/discovery/configurations",
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

/// Property names that real clients fold together although they differ: Go's `encoding/json`
/// and PowerShell's `ConvertFrom-Json` ignore letter case (PowerShell refuses an object whose
/// keys differ only in case), and some mappers also drop `_` and `-`. Only these pairs may
/// meet that way, and each carries the same value (the Smart Tools test asserts it).
const ALIASES: &[(&str, &str, &str)] = &[
    ("SmartToken", "tokenType", "token_type"),
    ("SmartToken", "expiresIn", "expires_in"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_two_fields_of_a_schema_meet_in_a_case_insensitive_decoder() {
    let env = Env::new(Backend::Sqlite)
        .await
        .expect("sqlite is always there");
    let doc: Value = env
        .http
        .get(env.url("/openapi.json"))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    let schemas = doc["components"]["schemas"].as_object().expect("schemas");
    let mut checked = 0;
    for (schema, body) in schemas {
        let Some(properties) = body["properties"].as_object() else {
            continue;
        };
        let names: Vec<&String> = properties.keys().collect();
        for (i, a) in names.iter().enumerate() {
            for b in &names[i + 1..] {
                assert!(
                    !a.eq_ignore_ascii_case(b),
                    "{schema}: {a} and {b} differ only in letter case"
                );
                let fold = |s: &str| {
                    s.chars()
                        .filter(|c| *c != '_' && *c != '-')
                        .map(|c| c.to_ascii_lowercase())
                        .collect::<String>()
                };
                if fold(a) == fold(b) {
                    assert!(
                        ALIASES.iter().any(|&(s, x, y)| s == schema
                            && ((x == *a && y == *b) || (x == *b && y == *a))),
                        "{schema}: {a} and {b} meet once `_` is ignored"
                    );
                }
            }
        }
        checked += 1;
    }
    assert!(checked > 10, "the document has schemas with properties");
}
