//! Regions: one server answers as each region by `Host`; customers homed elsewhere are
//! refused with the common authorization error naming the right host.

use cloudtrust_server::domain::audit::Actor;
use cloudtrust_server::domain::customers::Region;
use cloudtrust_server::domain::directory::{AdministratorRef, NewAdministrator};
use cloudtrust_server::domain::permissions::Access;
use serde_json::Value;

use crate::support::{Backend, Env, db_test};

/// A customer homed in `region` with one API client; returns its id and secret.
async fn customer_in(env: &Env, id: &str, region: Region) -> (String, String) {
    let operator = Actor::operator();
    let directory = env.directory();
    directory
        .create_customer(&operator, Some(id), id, region)
        .await
        .expect("customer");
    let email = format!("admin@{id}.example");
    directory
        .add_administrator(
            &operator,
            id,
            NewAdministrator::with_email(&email, None, Access::Full),
        )
        .await
        .expect("admin");
    let created = directory
        .create_api_client(&operator, id, AdministratorRef::Email(&email), "ci")
        .await
        .expect("client");
    (created.client.id, created.secret)
}

async fn token_at(env: &Env, host: &str, id: &str, secret: &str) -> reqwest::Response {
    env.http
        .post(env.url("/cctrustoauth2/root/tokens/clients"))
        .header("Host", host)
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", id),
            ("client_secret", secret),
        ])
        .send()
        .await
        .expect("request")
}

fn parameter<'a>(body: &'a Value, name: &str) -> Option<&'a str> {
    body["parameters"]
        .as_array()?
        .iter()
        .find(|p| p["name"] == name)?["value"]
        .as_str()
}

fn issuer(token: &str) -> String {
    use base64::Engine;
    let payload = token.split('.').nth(1).expect("payload");
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .expect("b64"),
    )
    .expect("json");
    claims["iss"].as_str().expect("iss").to_owned()
}

db_test! {
    async fn each_host_serves_its_region_only(env) {
        let (us_id, us_secret) = customer_in(&env, "usco", Region::Us).await;
        let (eu_id, eu_secret) = customer_in(&env, "euco", Region::Eu).await;
        let (jp_id, jp_secret) = customer_in(&env, "jpco", Region::Jp).await;

        let response = token_at(&env, "api-us.cloud.com", &us_id, &us_secret).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["x-cc-localgeo"], "US");
        let body: Value = response.json().await.expect("json");
        let us_token = body["access_token"].as_str().expect("token").to_owned();
        assert_eq!(issuer(&us_token), "https://api-us.cloud.com", "iss is the serving region's base URL");

        let response = token_at(&env, "api-eu.cloud.com", &us_id, &us_secret).await;
        assert_eq!(response.status(), 403);
        assert_eq!(response.headers()["x-cc-localgeo"], "EU");
        let body: Value = response.json().await.expect("json");
        assert!(body["type"].as_str().expect("type").ends_with("/authorization"));
        assert_eq!(parameter(&body, "message"), Some("User is not authenticated for the specified resource"));
        assert_eq!(parameter(&body, "host"), Some("api-us.cloud.com"));

        let response = token_at(&env, "api-eu.cloud.com:443", &eu_id, &eu_secret).await;
        assert_eq!(response.status(), 200);
        let response = token_at(&env, "api.citrixcloud.jp", &jp_id, &jp_secret).await;
        assert_eq!(response.headers()["x-cc-localgeo"], "JP");
        assert_eq!(response.status(), 200);

        // The global host serves us, eu and ap-s, not jp.
        assert_eq!(token_at(&env, "api.cloud.com", &eu_id, &eu_secret).await.status(), 200);
        let response = token_at(&env, "api.cloud.com", &jp_id, &jp_secret).await;
        assert_eq!(response.status(), 403);
        let body: Value = response.json().await.expect("json");
        assert_eq!(parameter(&body, "host"), Some("api.citrixcloud.jp"));

        // The legacy endpoint too.
        let response = env.http.post(env.url("/root/tokens/clients")).header("Host", "api-eu.cloud.com")
            .json(&serde_json::json!({"ClientId": jp_id, "ClientSecret": jp_secret})).send().await.expect("request");
        assert_eq!(response.status(), 403);

        // API calls: a us customer's token is refused at the eu host.
        let me = |host: &'static str| {
            env.http.get(env.url("/cvadapis/me")).header("Host", host)
                .header("Authorization", format!("CwsAuth Bearer={us_token}")).send()
        };
        assert_eq!(me("api-us.cloud.com").await.expect("request").status(), 200);
        let refused = me("api-eu.cloud.com").await.expect("request");
        assert_eq!(refused.status(), 403);
        let body: Value = refused.json().await.expect("json");
        assert_eq!(parameter(&body, "host"), Some("api-us.cloud.com"));

        // Any other host serves everyone, as the default region.
        assert_eq!(env.request_token("root", &jp_id, &jp_secret).await.status(), 200);

        let discovery: Value = env.http.get(env.url("/.well-known/openid-configuration")).header("Host", "api-eu.cloud.com")
            .send().await.expect("request").json().await.expect("json");
        assert_eq!(discovery["issuer"], "https://api-eu.cloud.com");
        assert_eq!(discovery["token_endpoint"], "https://api-eu.cloud.com/cctrustoauth2/root/tokens/clients");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_hosts_count_only_from_trusted_proxies() {
    for trusted in [true, false] {
        let env = Env::with(Backend::Sqlite, |config| {
            if trusted {
                config.trusted_proxies = vec!["127.0.0.1".parse().expect("ip")];
            }
        })
        .await
        .expect("sqlite");
        let response = env
            .http
            .get(env.url("/healthz"))
            .header("X-Forwarded-Host", "api-eu.cloud.com")
            .send()
            .await
            .expect("request");
        let geo = response.headers()["x-cc-localgeo"]
            .to_str()
            .expect("ascii")
            .to_owned();
        assert_eq!(geo, if trusted { "EU" } else { "US" });
    }
}
