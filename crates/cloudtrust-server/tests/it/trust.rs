//! The deprecated trust-service endpoint `POST /{customerid}/tokens/clients`.

use serde_json::json;

use crate::support::{db_test, oauth_error};

db_test! {
    async fn json_keys_in_any_case_get_a_token_and_an_id_token(env) {
        let seed = env.seed().await;
        for (customer, body) in [
            ("root", json!({"ClientId": seed.client_id, "ClientSecret": seed.secret})),
            ("acme", json!({"clientId": seed.client_id, "clientSecret": seed.secret})),
        ] {
            let response = env.http.post(env.url(&format!("/{customer}/tokens/clients")))
                .header("accept", "application/json")
                .json(&body)
                .send().await.expect("request");
            assert_eq!(response.status(), 200);
            assert_eq!(response.headers()["content-type"], "application/json; charset=utf-8");
            assert_eq!(response.headers()["cache-control"], "no-store");
            assert_eq!(response.headers()["pragma"], "no-cache");
            assert!(response.headers().contains_key("x-cws-transactionid"));
            let body: serde_json::Value = response.json().await.expect("json");
            assert_eq!(body["principal"], seed.admin);
            assert_eq!(body["subject"], seed.client_id);
            assert_eq!(body["expiresIn"], 3600, "expiresIn is a number here");
            assert_eq!(body["customerId"], "acme");
            assert!(body["userId"].is_string());
            assert_eq!(body["expiresAt"], 3600, "expiresAt is the lifetime in seconds, as Citrix's Go SDK reads it");
            let token = body["token"].as_str().expect("token");
            let id_token = body["openIdToken"].as_str().expect("openIdToken");
            assert_eq!(env.me(&format!("CwsAuth Bearer={token}")).await.status(), 200);
            // The ID token describes the caller; it is not a bearer token.
            let refused = env.me(&format!("CwsAuth Bearer={id_token}")).await;
            assert_eq!(refused.status(), 401);
        }
    }
}

db_test! {
    async fn bad_input_gets_documented_errors(env) {
        let seed = env.seed().await;
        let url = env.url("/root/tokens/clients");
        let cases: Vec<(&str, reqwest::RequestBuilder, u16, &str)> = vec![
            ("wrong secret", env.http.post(&url).json(&json!({"ClientId": seed.client_id, "ClientSecret": "x"})), 400, "invalid_client"),
            ("other customer", env.http.post(env.url("/nobody/tokens/clients")).json(&json!({"ClientId": seed.client_id, "ClientSecret": seed.secret})), 400, "invalid_client"),
            ("missing secret", env.http.post(&url).json(&json!({"ClientId": seed.client_id})), 400, "invalid_request"),
            ("not an object", env.http.post(&url).json(&json!([1, 2])), 400, "invalid_request"),
            ("malformed json", env.http.post(&url).header("content-type", "application/json").body("{\"ClientId\":"), 400, "invalid_request"),
            ("form body", env.http.post(&url).form(&[("ClientId", "a")]), 415, "invalid_request"),
            ("oversize", env.http.post(&url).header("content-type", "application/json").body(format!("{{\"pad\":\"{}\"}}", "a".repeat(200_000))), 413, "invalid_request"),
        ];
        for (name, request, status, error) in cases {
            let (got, body) = oauth_error(request.send().await.expect("request")).await;
            assert_eq!((got, body["error"].as_str()), (status, Some(error)), "{name}: {body}");
        }
    }
}
