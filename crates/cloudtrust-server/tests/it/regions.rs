//! Regions: one server answers as each region by `Host`; customers homed elsewhere are
//! refused with the common authorization error naming the right host.

use cloudtrust_server::domain::customers::Region;
use serde_json::Value;

use crate::support::{Backend, Env, customer_in, db_test, parameter, token_at, unverified_claims};

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
        assert_eq!(unverified_claims(&us_token)["iss"], "https://api-us.cloud.com", "iss is the serving region's base URL");

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
