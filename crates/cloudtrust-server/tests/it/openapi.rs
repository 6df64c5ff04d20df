//! `/openapi.json` describes every JSON endpoint; the snapshot makes any change to an endpoint's
//! contract show up in review (`cargo insta review` after an intended change).

use serde_json::{Value, json};

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
    "put /{customerid}/rpclients/{name}",
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
    "get /metrics",
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

/// A server on SQLite and the OpenAPI document it serves.
async fn served_document() -> (Env, Value) {
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
    (env, doc)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_two_fields_of_a_schema_meet_in_a_case_insensitive_decoder() {
    let (_env, doc) = served_document().await;
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

/// Asserts that `response` is one the document allows for `method path`: a documented status,
/// with the documented media type.
async fn assert_documented(doc: &Value, method: &str, path: &str, response: reqwest::Response) {
    let status = response.status().as_u16().to_string();
    let documented = &doc["paths"][path][method]["responses"][&status];
    assert!(
        documented.is_object(),
        "{method} {path}: {status} is not documented"
    );
    let media_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    if let Some(content) = documented["content"].as_object() {
        assert!(
            content.keys().any(|k| media_type.starts_with(k.as_str())),
            "{method} {path}: {status} answered `{media_type}`, documented {:?}",
            content.keys().collect::<Vec<_>>()
        );
    }
}

/// Answers that `.ci/api-fuzz` (schemathesis) found outside the document.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_the_fuzzer_found_undocumented_are_documented() {
    let (env, doc) = served_document().await;
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("path item") {
            for (status, response) in operation["responses"].as_object().expect("responses") {
                for media_type in response["content"].as_object().into_iter().flatten() {
                    // Prometheus reads its own text format.
                    let expected = if (path.as_str(), status.as_str()) == ("/metrics", "200") {
                        "text/plain"
                    } else {
                        "application/json"
                    };
                    assert_eq!(
                        media_type.0, expected,
                        "{method} {path} {status}: every body is JSON, but metrics"
                    );
                }
            }
        }
    }

    // A form endpoint of `/core` without a form: 415.
    for path in [
        "/core/connect/token",
        "/core/connect/revocation",
        "/core/connect/introspect",
    ] {
        let response = env.http.post(env.url(path)).send().await.expect("request");
        assert_eq!(response.status(), 415, "{path}");
        assert_documented(&doc, "post", path, response).await;
    }

    // A withdrawn invitation: `true`, as JSON.
    let seed = env.seed().await;
    let authorization = format!(
        "CwsAuth Bearer={}",
        env.token(&seed.client_id, &seed.secret).await
    );
    let invited = env
        .http
        .post(env.url("/administrators/$create"))
        .header("Authorization", &authorization)
        .json(
            &json!({"type": "AdministratorUser", "providerType": "CitrixSts",
                      "accessType": "Full", "email": "invited@acme.example"}),
        )
        .send()
        .await
        .expect("request");
    assert_documented(&doc, "post", "/administrators/$create", invited).await;
    let withdrawn = env
        .http
        .delete(env.url("/administrators/invitations?email=invited@acme.example"))
        .header("Authorization", &authorization)
        .send()
        .await
        .expect("request");
    assert_eq!(withdrawn.status(), 200);
    assert_documented(&doc, "delete", "/administrators/invitations", withdrawn).await;

    // A method the document does not list for a path: 405, with `Allow` listing the documented
    // methods (and HEAD, which comes with GET).
    let path = "/{customerid}/rpclients/{name}";
    let response = env
        .http
        .request(
            reqwest::Method::OPTIONS,
            env.url("/acme/rpclients/acme-private-1"),
        )
        .header("Authorization", &authorization)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 405);
    let mut allowed: Vec<String> = response
        .headers()
        .get("allow")
        .and_then(|v| v.to_str().ok())
        .expect("Allow")
        .split(',')
        .map(|m| m.trim().to_ascii_lowercase())
        .filter(|m| m != "head")
        .collect();
    allowed.sort();
    let mut documented: Vec<String> = doc["paths"][path]
        .as_object()
        .expect("path item")
        .keys()
        .cloned()
        .collect();
    documented.sort();
    assert_eq!(allowed, documented);
}
