//! The contract Citrix's Go SDK (`citrix-daas-rest-go`, behind the Terraform provider) relies
//! on, exercised the way it calls: a form post without `Accept`, `expires_in` decoded as a
//! string, `CWSAuth bearer=` on the next call, `GET /cvadapis/me` with `Citrix-CustomerId`.

use serde::Deserialize;
use serde_json::Value;

use crate::support::{db_test, unverified_claims};

/// What the SDK decodes the token answer into (`CCAuthResponse`): a number in `expires_in`
/// would fail here, as it does in Go.
#[derive(Debug, Deserialize)]
struct AuthResponse {
    token_type: String,
    access_token: String,
    expires_in: String,
    error: Option<String>,
    error_description: Option<String>,
}

/// The fields DaaS clients read from `/cvadapis/me`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Me {
    user_id: String,
    display_name: String,
    expiry_time: String,
    verified_email: String,
    customers: Vec<MeCustomer>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct MeCustomer {
    id: String,
    sites: Vec<MeSite>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct MeSite {
    id: String,
    name: String,
}

/// Decodes a JSON object the way Go's `encoding/json` fills a struct: a key matches a field
/// in any letter case, and the last matching key wins.
fn go_field<'a>(object: &'a serde_json::Map<String, Value>, field: &str) -> Option<&'a Value> {
    object
        .iter()
        .rfind(|(key, _)| key.eq_ignore_ascii_case(field))
        .map(|(_, value)| value)
}

/// What the SDK's Citrix Cloud Gov sign-in decodes the trust answer into
/// (`CCTrustAuthResponse`): strings, and `ExpiresAt` as a Go `int`, which refuses a fraction or
/// a string.
struct GovTrustResponse {
    token: String,
    principal: String,
    user_id: String,
    customer_id: String,
    expires_at: i64,
}

fn decode_gov_trust_response(body: &Value) -> GovTrustResponse {
    let object = body.as_object().expect("a JSON object");
    let text = |field: &str| match go_field(object, field) {
        Some(Value::String(s)) => s.clone(),
        None => String::new(),
        Some(other) => panic!("Go cannot decode {other} into the string {field}"),
    };
    let expires_at = match go_field(object, "ExpiresAt") {
        Some(Value::Number(n)) => n
            .as_i64()
            .unwrap_or_else(|| panic!("Go cannot decode {n} into the int ExpiresAt")),
        None => 0,
        Some(other) => panic!("Go cannot decode {other} into the int ExpiresAt"),
    };
    GovTrustResponse {
        token: text("Token"),
        principal: text("Principal"),
        user_id: text("UserId"),
        customer_id: text("CustomerId"),
        expires_at,
    }
}

fn retry_delay(body: &Value) -> Option<u64> {
    body["parameters"]
        .as_array()?
        .iter()
        .find(|p| p["name"] == "retryDelay")
        .and_then(|p| p["value"].as_str()?.parse().ok())
}

db_test! {
    async fn the_go_sdk_signs_in_and_reads_who_it_is(env) {
        let seed = env.seed().await;
        // http.PostForm: a form body, no Accept header.
        let body = format!("grant_type=client_credentials&client_id={}&client_secret={}", seed.client_id, seed.secret);
        let response = env.http.post(env.url("/cctrustoauth2/acme/tokens/clients"))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body)
            .send().await.expect("request");
        assert_eq!(response.status(), 200);
        assert!(response.headers()["content-type"].to_str().expect("ascii").starts_with("application/json"));
        let raw: Value = response.json().await.expect("json");
        assert!(raw.get("error").is_none(), "a 200 never carries an error key: {raw}");
        let auth: AuthResponse = serde_json::from_value(raw).expect("decodes as the SDK does");
        assert_eq!((auth.token_type.as_str(), auth.expires_in.as_str()), ("bearer", "3600"));
        assert!(auth.error.is_none() && auth.error_description.is_none());
        let seconds: u64 = auth.expires_in.parse().expect("the SDK parses the string");
        assert_eq!(seconds, 3600);

        let response = env.http.get(env.url("/cvadapis/me"))
            .header("Authorization", format!("CWSAuth bearer={}", auth.access_token))
            .header("Citrix-CustomerId", "acme")
            .header("Accept", "application/json")
            .header("Citrix-TransactionId", "b6b7c5a1-4d5e-4f60-8a9b-0c1d2e3f4a5b")
            .send().await.expect("request");
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["citrix-transactionid"], "b6b7c5a1-4d5e-4f60-8a9b-0c1d2e3f4a5b");
        let me: Me = response.json().await.expect("the DaaS shape");
        assert_eq!(me.verified_email, seed.admin);
        assert_eq!(me.display_name, "Owner");
        assert!(!me.user_id.is_empty());
        time::OffsetDateTime::parse(&me.expiry_time, &time::format_description::well_known::Rfc3339).expect("RFC 3339");
        assert_eq!(me.customers[0].id, "acme");
        assert!(!me.customers[0].sites[0].id.is_empty());
        assert!(!me.customers[0].sites[0].name.is_empty());
    }
}

db_test! {
    async fn the_go_sdk_gov_sign_in_keeps_the_token_for_its_real_life(env) {
        let seed = env.seed().await;
        // performCCTrustAuth: the body written with Sprintf, JSON content type, no Accept.
        let response = env.http.post(env.url("/root/tokens/clients"))
            .header("Content-Type", "application/json")
            .header("X-Custom-Header", "myvalue")
            .body(format!(r#"{{"ClientId":"{}", "ClientSecret":"{}"}}"#, seed.client_id, seed.secret))
            .send().await.expect("request");
        assert_eq!(response.status(), 200);
        let raw: Value = response.json().await.expect("json");
        let before = time::OffsetDateTime::now_utc().unix_timestamp();
        let answer = decode_gov_trust_response(&raw);
        assert_eq!(answer.principal, seed.admin);
        assert_eq!(answer.customer_id, "acme");
        assert!(!answer.user_id.is_empty());
        // SignInWithContext: expiresAtTime := time.Now().UTC().Add(time.Second * ExpiresAt).
        let believed_expiry = before + answer.expires_at;
        let real_expiry = unverified_claims(&answer.token)["exp"].as_i64().expect("exp");
        assert!(
            believed_expiry <= real_expiry + 1 && believed_expiry >= real_expiry - 60,
            "the SDK believes the token expires at {believed_expiry}, it really expires at {real_expiry}: {raw}"
        );
        // The SDK reuses a token while it has more than a minute left, so it renews this one.
        assert!(answer.expires_at > 60, "the SDK would sign in on every call: {raw}");
        assert_eq!(raw["expiresAt"], raw["expiresIn"], "both are the lifetime in seconds");

        // The token, presented as the SDK builds the header.
        let response = env.me(&format!("CWSAuth bearer={}", answer.token)).await;
        assert_eq!(response.status(), 200);
    }
}

db_test! {
    async fn errors_the_sdk_retries_carry_a_retry_delay(env) {
        let seed = env.seed().await;
        let token = env.token(&seed.client_id, &seed.secret).await;
        // 429: too many failed attempts.
        let mut throttled = None;
        for _ in 0..20 {
            let response = env.request_token("root", &seed.client_id, "wrong").await;
            if response.status() == 429 {
                throttled = Some(response.json::<Value>().await.expect("json"));
                break;
            }
            assert_eq!(response.status(), 400);
        }
        let throttled = throttled.expect("throttled within 20 failures");
        assert!(retry_delay(&throttled).is_some_and(|d| d >= 1), "{throttled}");

        // 503: the database is gone.
        env.server.store().close().await;
        let response = env.http.get(env.url("/administrators"))
            .header("Authorization", format!("CWSAuth bearer={token}"))
            .header("Citrix-CustomerId", "acme")
            .send().await.expect("request");
        assert_eq!(response.status(), 503);
        assert!(response.headers().contains_key("retry-after"));
        let body: Value = response.json().await.expect("json");
        assert!(body["type"].as_str().expect("type").ends_with("/serviceUnavailable"));
        assert!(retry_delay(&body).is_some(), "{body}");
    }
}
