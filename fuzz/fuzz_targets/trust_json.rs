//! JSON request bodies through the resource APIs' reader (`http::json::parse`): the trust
//! endpoint's `TrustTokenRequest`, and `NewWorkspaceClient` (nested lists, an enum, refused
//! unknown fields) for the error paths. A body is accepted exactly when serde accepts it, the
//! values read are the body's, and a refusal is a 400 in the common shape naming a field.

#![no_main]

use cloudtrust_proto::TrustTokenRequest;
use cloudtrust_proto::workspace::NewWorkspaceClient;
use cloudtrust_server::http::errors::ApiErrorResponse;
use cloudtrust_server::http::json::parse;
use libfuzzer_sys::fuzz_target;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// What serde alone makes of the body, read the same way (through a `Value`, so a repeated
/// key keeps its last value).
fn reference<T: DeserializeOwned>(body: &[u8]) -> Option<T> {
    let value: Value = serde_json::from_slice(body).ok()?;
    serde_json::from_value(value).ok()
}

fn check_refusal(refused: &ApiErrorResponse) {
    let error = refused.body();
    assert!(
        matches!(error.name(), "invalidJson" | "missing" | "invalidEnum"),
        "unexpected error name {}",
        error.name()
    );
    let field = error.parameter("name").expect("the field is named");
    assert!(!field.is_empty(), "an empty field name");
    assert!(!error.detail.is_empty(), "no detail");
}

fuzz_target!(|body: &[u8]| {
    match parse::<TrustTokenRequest>(body) {
        Ok(request) => {
            let value: Value = serde_json::from_slice(body).expect("accepted bodies are JSON");
            // serde also reads a struct from an array of its fields in order.
            let (id, secret) = match &value {
                Value::Object(_) => (&value["ClientId"], &value["ClientSecret"]),
                _ => (&value[0], &value[1]),
            };
            assert_eq!(id.as_str(), Some(request.client_id.as_str()));
            assert_eq!(secret.as_str(), Some(request.client_secret.as_str()));
            assert_eq!(reference::<TrustTokenRequest>(body), Some(request));
        }
        Err(refused) => {
            check_refusal(&refused);
            assert!(reference::<TrustTokenRequest>(body).is_none());
        }
    }
    match parse::<NewWorkspaceClient>(body) {
        Ok(client) => assert_eq!(reference::<NewWorkspaceClient>(body), Some(client)),
        Err(refused) => {
            check_refusal(&refused);
            assert!(reference::<NewWorkspaceClient>(body).is_none());
        }
    }
});
