//! `POST /cctrustoauth2/{customerid}/tokens/clients`.

use std::time::Duration;

use base64::Engine;
use oauth2::basic::{
    BasicErrorResponse, BasicErrorResponseType, BasicRevocationErrorResponse,
    BasicTokenIntrospectionResponse, BasicTokenType,
};
use oauth2::{
    AccessToken, AuthType, ClientId, ClientSecret, EndpointNotSet, EndpointSet, RefreshToken,
    RequestTokenError, Scope, StandardRevocableToken, TokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};

use crate::support::{db_test, oauth_error};

/// Citrix's token response: `expires_in` is a string, which `oauth2`'s standard response
/// refuses, so independent clients use a response type of their own — as this one does.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct CitrixTokenResponse {
    access_token: AccessToken,
    token_type: BasicTokenType,
    expires_in: String,
}

impl TokenResponse for CitrixTokenResponse {
    type TokenType = BasicTokenType;
    fn access_token(&self) -> &AccessToken {
        &self.access_token
    }
    fn token_type(&self) -> &BasicTokenType {
        &self.token_type
    }
    fn expires_in(&self) -> Option<Duration> {
        self.expires_in.parse().ok().map(Duration::from_secs)
    }
    fn refresh_token(&self) -> Option<&RefreshToken> {
        None
    }
    fn scopes(&self) -> Option<&Vec<Scope>> {
        None
    }
}

type CitrixClient = oauth2::Client<
    BasicErrorResponse,
    CitrixTokenResponse,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

fn oauth2_client(base: &str, id: &str, secret: &str, auth: AuthType) -> CitrixClient {
    oauth2::Client::new(ClientId::new(id.to_owned()))
        .set_client_secret(ClientSecret::new(secret.to_owned()))
        .set_token_uri(
            TokenUrl::new(format!("{base}/cctrustoauth2/root/tokens/clients")).expect("url"),
        )
        .set_auth_type(auth)
}

fn oauth2_http() -> oauth2::reqwest::Client {
    oauth2::reqwest::ClientBuilder::new()
        .redirect(oauth2::reqwest::redirect::Policy::none())
        .build()
        .expect("http client")
}

db_test! {
    async fn success_has_the_exact_citrix_shape_and_headers(env) {
        let seed = env.seed().await;
        let response = env.request_token("root", &seed.client_id, &seed.secret).await;
        assert_eq!(response.status(), 200);
        let headers = response.headers().clone();
        assert_eq!(headers["content-type"], "application/json");
        assert_eq!(headers["cache-control"], "no-store");
        assert_eq!(headers["pragma"], "no-cache");
        assert_eq!(headers["access-control-expose-headers"], "X-Cws-TransactionId");
        assert_eq!(headers["x-cc-localgeo"], "US");
        assert_eq!(headers["x-content-type-options"], "nosniff");
        let txid = headers["x-cws-transactionid"].to_str().expect("ascii");
        uuid::Uuid::parse_str(txid).expect("transaction id is a uuid");
        let body: serde_json::Value = response.json().await.expect("json");
        let object = body.as_object().expect("object");
        let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["access_token", "expires_in", "token_type"]);
        assert_eq!(body["token_type"], "bearer");
        assert_eq!(body["expires_in"], "3600", "expires_in must be a JSON string");
        assert!(body["access_token"].as_str().expect("token").starts_with("eyJ"));
    }
}

db_test! {
    async fn customer_in_the_path_is_root_or_the_clients_own(env) {
        let seed = env.seed().await;
        for customer in ["root", "acme", "ROOT"] {
            let response = env.request_token(customer, &seed.client_id, &seed.secret).await;
            assert_eq!(response.status(), 200, "customer {customer}");
        }
        env.directory()
            .create_customer(&cloudtrust_server::domain::audit::Actor::operator(), Some("other"), "Other", cloudtrust_server::domain::customers::Region::Us)
            .await
            .expect("customer");
        let (status, body) =
            oauth_error(env.request_token("other", &seed.client_id, &seed.secret).await).await;
        assert_eq!(status, 400);
        assert_eq!(body["error"], "invalid_client");
        assert_eq!(body["error_description"], "Invalid client id or client secret.");
    }
}

db_test! {
    async fn the_oauth2_crate_gets_tokens_with_post_and_basic_authentication(env) {
        let seed = env.seed().await;
        let http = oauth2_http();
        for auth in [AuthType::RequestBody, AuthType::BasicAuth] {
            let token = oauth2_client(env.base(), &seed.client_id, &seed.secret, auth.clone())
                .exchange_client_credentials()
                .request_async(&http)
                .await
                .expect("token");
            assert_eq!(token.expires_in(), Some(Duration::from_secs(3600)));
            assert_eq!(*token.token_type(), BasicTokenType::Bearer);
            let me = env
                .me(&format!("CwsAuth Bearer={}", token.access_token().secret()))
                .await;
            assert_eq!(me.status(), 200, "{auth:?}");
        }
        for auth in [AuthType::RequestBody, AuthType::BasicAuth] {
            let refused = oauth2_client(env.base(), &seed.client_id, "wrong", auth.clone())
                .exchange_client_credentials()
                .request_async(&http)
                .await
                .expect_err("wrong secret is refused");
            match refused {
                RequestTokenError::ServerResponse(e) => {
                    assert_eq!(*e.error(), BasicErrorResponseType::InvalidClient, "{auth:?}");
                }
                other => panic!("unexpected error {other:?}"),
            }
        }
    }
}

db_test! {
    async fn bad_credentials_and_bad_requests_get_documented_errors(env) {
        let seed = env.seed().await;
        let url = env.url("/cctrustoauth2/root/tokens/clients");
        let form = |pairs: &[(&str, &str)]| {
            env.http.post(&url).form(pairs)
        };
        let cases: Vec<(&str, reqwest::RequestBuilder, u16, &str)> = vec![
            ("wrong secret", form(&[("grant_type", "client_credentials"), ("client_id", &seed.client_id), ("client_secret", "nope")]), 400, "invalid_client"),
            ("unknown client", form(&[("grant_type", "client_credentials"), ("client_id", "00000000-0000-0000-0000-000000000000"), ("client_secret", &seed.secret)]), 400, "invalid_client"),
            ("no credentials", form(&[("grant_type", "client_credentials")]), 400, "invalid_client"),
            ("missing grant type", form(&[("client_id", &seed.client_id), ("client_secret", &seed.secret)]), 400, "invalid_request"),
            ("unknown grant type", form(&[("grant_type", "password"), ("client_id", &seed.client_id), ("client_secret", &seed.secret)]), 400, "unsupported_grant_type"),
            ("repeated parameter", env.http.post(&url).header("content-type", "application/x-www-form-urlencoded").body(format!("grant_type=client_credentials&client_id={0}&client_id={0}&client_secret={1}", seed.client_id, seed.secret)), 400, "invalid_request"),
            // Decoded strictly: a lossy decoding would compare U+FFFD instead of the bytes sent.
            ("secret not UTF-8 once decoded", env.http.post(&url).header("content-type", "application/x-www-form-urlencoded").body(format!("grant_type=client_credentials&client_id={}&client_secret={}%FF", seed.client_id, seed.secret)), 400, "invalid_request"),
            ("malformed form", env.http.post(&url).header("content-type", "application/x-www-form-urlencoded").body(vec![0xff, 0xfe, b'=', b'%', b'z']), 400, "invalid_request"),
            ("json body", env.http.post(&url).json(&serde_json::json!({"grant_type": "client_credentials"})), 415, "invalid_request"),
            ("no content type", env.http.post(&url).body("grant_type=client_credentials"), 415, "invalid_request"),
            ("oversize body", env.http.post(&url).header("content-type", "application/x-www-form-urlencoded").body(format!("grant_type=client_credentials&pad={}", "a".repeat(200_000))), 413, "invalid_request"),
            ("basic and form disagree", form(&[("grant_type", "client_credentials"), ("client_id", "someone-else"), ("client_secret", &seed.secret)]).basic_auth(&seed.client_id, Some(&seed.secret)), 400, "invalid_request"),
        ];
        for (name, request, status, error) in cases {
            let (got, body) = oauth_error(request.send().await.expect("request")).await;
            assert_eq!((got, body["error"].as_str()), (status, Some(error)), "{name}: {body}");
        }
        // A charset parameter is accepted.
        let ok = env.http.post(&url)
            .header("content-type", "application/x-www-form-urlencoded; charset=utf-8")
            .body(format!("grant_type=client_credentials&client_id={}&client_secret={}", seed.client_id, seed.secret))
            .send().await.expect("request");
        assert_eq!(ok.status(), 200);
    }
}

db_test! {
    async fn basic_authentication_failures_get_401_with_a_challenge(env) {
        let seed = env.seed().await;
        let url = env.url("/cctrustoauth2/root/tokens/clients");
        let response = env.http.post(&url)
            .basic_auth(&seed.client_id, Some("wrong"))
            .form(&[("grant_type", "client_credentials")])
            .send().await.expect("request");
        assert_eq!(response.status(), 401);
        assert!(response.headers()["www-authenticate"].to_str().expect("ascii").starts_with("Basic"));
        let body: serde_json::Value = response.json().await.expect("json");
        assert_eq!(body["error"], "invalid_client");
        let garbage = env.http.post(&url)
            .header("authorization", format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("no-colon")))
            .form(&[("grant_type", "client_credentials")])
            .send().await.expect("request");
        assert_eq!(garbage.status(), 401);
        // Each half of Basic is form-encoded (RFC 6749 §2.3.1): `%2B` is `+`, and an escape
        // that is not UTF-8 is refused rather than replaced.
        let basic = |secret: &str| {
            env.http.post(&url)
                .header("authorization", format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{}:{secret}", seed.client_id))))
                .form(&[("grant_type", "client_credentials")])
                .send()
        };
        let not_utf8 = basic(&format!("{}%FF", seed.secret)).await.expect("request");
        assert_eq!(not_utf8.status(), 401);
        let encoded: String = form_urlencoded::byte_serialize(seed.secret.as_bytes()).collect();
        let ok = basic(&encoded).await.expect("request");
        assert_eq!(ok.status(), 200);
    }
}

db_test! {
    async fn every_token_endpoint_refuses_a_form_that_is_not_utf8(env) {
        let seed = env.seed().await;
        for (path, body) in [
            ("/cctrustoauth2/root/tokens/introspect", format!("token=%FF&client_id={}&client_secret={}", seed.client_id, seed.secret)),
            ("/cctrustoauth2/root/tokens/revoke", format!("token=%C3%28&client_id={}&client_secret={}", seed.client_id, seed.secret)),
            ("/core/connect/token", "grant_type=authorization_code&code=%FF&client_id=someone".to_owned()),
        ] {
            let response = env.http.post(env.url(path))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body)
                .send().await.expect("request");
            let (status, error) = oauth_error(response).await;
            assert_eq!((status, error["error"].as_str()), (400, Some("invalid_request")), "{path}: {error}");
        }
    }
}
