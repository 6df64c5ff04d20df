//! Settings that change what the server does: `region_hosts` and `global_host`,
//! `max_body_bytes`, `audit_retention_days` (through the purge task that every node runs),
//! and readiness when the database stops answering.

use std::sync::Arc;
use std::time::Duration;

use cloudtrust_server::domain::audit::Actor;
use cloudtrust_server::domain::customers::Region;
use cloudtrust_server::domain::directory::NewAdministrator;
use cloudtrust_server::domain::paging::PageRequest;
use cloudtrust_server::domain::permissions::Access;
use cloudtrust_server::{Clock, Config, RunningServer};
use serde_json::Value;

use crate::support::{
    Backend, Env, TestClock, customer_in, db_test, eventually, parameter, token_at,
    unverified_claims,
};

/// The status, `X-CC-LocalGeo` and body of a response.
async fn answer(response: reqwest::Response) -> (u16, String, Value) {
    let status = response.status().as_u16();
    let geo = response.headers()["x-cc-localgeo"]
        .to_str()
        .expect("ascii")
        .to_owned();
    (status, geo, response.json().await.expect("JSON body"))
}

/// No command-line flags.
#[derive(serde::Serialize)]
struct NoFlags {}

/// The configuration file of a deployment that serves its regions under its own names.
const OWN_HOSTS: &str = r#"
region = "jp"
global_host = "global.example.test"

[region_hosts]
us = "us.example.test"
eu = "eu.example.test"
ap-s = "aps.example.test"
jp = "jp.example.test"
"#;

async fn own_hosts_env(backend: Backend) -> Option<Env> {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("cloudtrust.toml");
    std::fs::write(&file, OWN_HOSTS).expect("config file");
    let loaded = Config::load(Some(&file), NoFlags {}).expect("the file loads");
    Env::with(backend, |config| {
        config.region = loaded.region;
        config.region_hosts = loaded.region_hosts;
        config.global_host = loaded.global_host;
    })
    .await
}

async fn configured_hosts_replace_citrix_clouds(env: Env) {
    let (us_id, us_secret) = customer_in(&env, "usco", Region::Us).await;
    let (eu_id, eu_secret) = customer_in(&env, "euco", Region::Eu).await;
    let (aps_id, aps_secret) = customer_in(&env, "apsco", Region::ApS).await;
    let (jp_id, jp_secret) = customer_in(&env, "jpco", Region::Jp).await;

    // Each configured regional host serves its region, as that region.
    for (host, geo, id, secret) in [
        ("us.example.test", "US", &us_id, &us_secret),
        ("eu.example.test", "EU", &eu_id, &eu_secret),
        ("aps.example.test", "APS", &aps_id, &aps_secret),
        ("JP.example.test:443", "JP", &jp_id, &jp_secret),
    ] {
        let (status, served_as, body) = answer(token_at(&env, host, id, secret).await).await;
        assert_eq!((status, served_as.as_str()), (200, geo), "{host}: {body}");
        let token = body["access_token"].as_str().expect("token");
        let name = host.split(':').next().expect("name").to_ascii_lowercase();
        assert_eq!(
            unverified_claims(token)["iss"],
            format!("https://{name}"),
            "{host}: iss is the configured host's base URL"
        );
    }

    // A customer homed elsewhere is sent to its configured host.
    let (status, served_as, body) =
        answer(token_at(&env, "eu.example.test", &us_id, &us_secret).await).await;
    assert_eq!((status, served_as.as_str()), (403, "EU"), "{body}");
    assert_eq!(
        parameter(&body, "message"),
        Some("User is not authenticated for the specified resource")
    );
    assert_eq!(parameter(&body, "host"), Some("us.example.test"), "{body}");

    // The configured global host serves us, eu and ap-s, and sends jp to its host.
    let (status, _, body) =
        answer(token_at(&env, "global.example.test", &aps_id, &aps_secret).await).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        unverified_claims(body["access_token"].as_str().expect("token"))["iss"],
        "https://global.example.test"
    );
    let (status, _, body) =
        answer(token_at(&env, "global.example.test", &jp_id, &jp_secret).await).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(parameter(&body, "host"), Some("jp.example.test"), "{body}");

    // Citrix Cloud's own names are nothing special any more: served as the default region.
    for host in ["api-eu.cloud.com", "api.cloud.com", "api.citrixcloud.jp"] {
        let (status, served_as, body) =
            answer(token_at(&env, host, &us_id, &us_secret).await).await;
        assert_eq!((status, served_as.as_str()), (200, "JP"), "{host}: {body}");
        assert_eq!(
            unverified_claims(body["access_token"].as_str().expect("token"))["iss"],
            env.base(),
            "{host}: the public URL is the issuer"
        );
    }

    // Discovery and the APIs answer per configured host too.
    let discovery: Value = env
        .http
        .get(env.url("/.well-known/openid-configuration"))
        .header("Host", "eu.example.test")
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert_eq!(discovery["issuer"], "https://eu.example.test");
    assert_eq!(
        discovery["token_endpoint"],
        "https://eu.example.test/cctrustoauth2/root/tokens/clients"
    );
    let (_, _, body) = answer(token_at(&env, "eu.example.test", &eu_id, &eu_secret).await).await;
    let eu_token = body["access_token"].as_str().expect("token").to_owned();
    let me = |host: &'static str| {
        env.http
            .get(env.url("/cvadapis/me"))
            .header("Host", host)
            .header("Authorization", format!("CwsAuth Bearer={eu_token}"))
            .send()
    };
    assert_eq!(me("eu.example.test").await.expect("request").status(), 200);
    let (status, _, body) = answer(me("us.example.test").await.expect("request")).await;
    assert_eq!(
        (status, parameter(&body, "host")),
        (403, Some("eu.example.test"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configured_hosts_replace_citrix_clouds_sqlite() {
    if let Some(env) = own_hosts_env(Backend::Sqlite).await {
        configured_hosts_replace_citrix_clouds(env).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    skip_postgres,
    ignore = "built without CLOUDTRUST_TEST_POSTGRES: the PostgreSQL half did not run"
)]
async fn configured_hosts_replace_citrix_clouds_postgres() {
    if let Some(env) = own_hosts_env(Backend::Postgres).await {
        configured_hosts_replace_citrix_clouds(env).await;
    }
}

/// A configuration file that takes Citrix Cloud's jp host and global host away: a file adds
/// to the defaults, so an empty host is how it removes one.
const NO_JP_NO_GLOBAL: &str = r#"
global_host = ""

[region_hosts]
jp = ""
"#;

/// Without a host for a region (and without a global host), nobody is sent anywhere for it,
/// and its former names serve every customer as the default region.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_region_without_a_host_is_served_by_no_regional_host() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("cloudtrust.toml");
    std::fs::write(&file, NO_JP_NO_GLOBAL).expect("config file");
    let loaded = Config::load(Some(&file), NoFlags {}).expect("the file loads");
    let env = Env::with(Backend::Sqlite, |config| {
        config.region_hosts = loaded.region_hosts;
        config.global_host = loaded.global_host;
    })
    .await
    .expect("sqlite is always available");
    let (jp_id, jp_secret) = customer_in(&env, "jpco", Region::Jp).await;
    let (eu_id, eu_secret) = customer_in(&env, "euco", Region::Eu).await;
    let (status, served_as, body) = answer(token_at(&env, "", &jp_id, &jp_secret).await).await;
    assert_eq!(
        (status, served_as.as_str()),
        (200, "US"),
        "an empty host names no region: {body}"
    );
    let (status, served_as, body) =
        answer(token_at(&env, "api.citrixcloud.jp", &jp_id, &jp_secret).await).await;
    assert_eq!((status, served_as.as_str()), (200, "US"), "{body}");
    let (status, _, body) =
        answer(token_at(&env, "api-us.cloud.com", &jp_id, &jp_secret).await).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(parameter(&body, "host"), None, "no host serves jp: {body}");
    let (status, served_as, body) =
        answer(token_at(&env, "api.cloud.com", &eu_id, &eu_secret).await).await;
    assert_eq!(
        (status, served_as.as_str()),
        (200, "US"),
        "no global host: api.cloud.com is any host: {body}"
    );
    assert_eq!(
        unverified_claims(body["access_token"].as_str().expect("token"))["iss"],
        env.base()
    );
}

/// The largest body accepted in the tests below.
const SMALL_LIMIT: usize = 2048;

/// `text` padded at its end with `pad` to exactly `length` bytes.
fn padded(text: &str, pad: char, length: usize) -> String {
    assert!(text.len() <= length, "{text} is longer than {length}");
    let mut padded = text.to_owned();
    padded.extend(std::iter::repeat_n(pad, length - text.len()));
    padded
}

async fn bodies_are_limited_to_max_body_bytes(env: Env) {
    let seed = env.seed().await;
    let token_url = env.url("/cctrustoauth2/root/tokens/clients");
    let form = format!(
        "grant_type=client_credentials&client_id={}&client_secret={}&pad=",
        seed.client_id, seed.secret
    );
    let post_form = |length: usize| {
        env.http
            .post(&token_url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(padded(&form, 'a', length))
            .send()
    };
    let under = post_form(SMALL_LIMIT - 1).await.expect("request");
    assert_eq!(under.status(), 200, "just under the limit: a token");
    let over = post_form(SMALL_LIMIT + 1).await.expect("request");
    assert_eq!(over.status(), 413, "just over the limit");
    let body: Value = over.json().await.expect("RFC 6749 body");
    assert_eq!(
        body,
        serde_json::json!({"error": "invalid_request", "error_description": "the request body is too large"})
    );

    // The deprecated trust endpoint: the same shape.
    let trust_url = env.url("/acme/tokens/clients");
    let json = format!(
        r#"{{"ClientId":"{}","ClientSecret":"{}"}}"#,
        seed.client_id, seed.secret
    );
    let post_json = |url: &str, length: usize, token: Option<&str>| {
        let mut request = env
            .http
            .post(url)
            .header("content-type", "application/json")
            .body(padded(&json, ' ', length));
        if let Some(token) = token {
            request = request.header("Authorization", format!("CwsAuth Bearer={token}"));
        }
        request.send()
    };
    let under = post_json(&trust_url, SMALL_LIMIT - 1, None)
        .await
        .expect("request");
    assert_eq!(under.status(), 200, "just under the limit: a token");
    let over = post_json(&trust_url, SMALL_LIMIT + 1, None)
        .await
        .expect("request");
    assert_eq!(over.status(), 413);
    let body: Value = over.json().await.expect("RFC 6749 body");
    assert_eq!(body["error"], "invalid_request", "{body}");

    // The administration API: Citrix's common error shape.
    let token = env.token(&seed.client_id, &seed.secret).await;
    let create_url = env.url("/secureClients/$create");
    let json = r#"{"name":"padded"}"#.to_owned();
    let post_create = |length: usize| {
        env.http
            .post(&create_url)
            .header("content-type", "application/json")
            .header("Authorization", format!("CwsAuth Bearer={token}"))
            .body(padded(&json, ' ', length))
            .send()
    };
    let under = post_create(SMALL_LIMIT - 1).await.expect("request");
    assert_eq!(under.status(), 201, "just under the limit: created");
    let over = post_create(SMALL_LIMIT + 1).await.expect("request");
    assert_eq!(over.status(), 413);
    let body: Value = over.json().await.expect("common error body");
    assert_eq!(
        body["type"], "https://errors-api.cloud.com/common/tooLong",
        "{body}"
    );
    assert_eq!(parameter(&body, "name"), Some("body"), "{body}");
    let names: Vec<String> = env
        .directory()
        .list_api_clients(&Actor::operator(), "acme", None, None)
        .await
        .expect("clients")
        .items
        .into_iter()
        .map(|c| c.name)
        .collect();
    assert_eq!(
        names.iter().filter(|n| *n == "padded").count(),
        1,
        "only the body within the limit created a client: {names:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_are_limited_to_max_body_bytes_sqlite() {
    if let Some(env) = Env::with(Backend::Sqlite, |c| c.max_body_bytes = SMALL_LIMIT).await {
        bodies_are_limited_to_max_body_bytes(env).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    skip_postgres,
    ignore = "built without CLOUDTRUST_TEST_POSTGRES: the PostgreSQL half did not run"
)]
async fn bodies_are_limited_to_max_body_bytes_postgres() {
    if let Some(env) = Env::with(Backend::Postgres, |c| c.max_body_bytes = SMALL_LIMIT).await {
        bodies_are_limited_to_max_body_bytes(env).await;
    }
}

db_test! {
    async fn the_purge_task_deletes_records_past_audit_retention_days(env) {
        const DAY: i64 = 86_400;
        env.seed().await;
        env.clock.stop();
        let operator = Actor::operator();
        let directory = env.directory();
        let records = || async {
            directory.read_system_log(&operator, "acme", (0, i64::MAX), &PageRequest::first(1000)).await.expect("log").0.items
        };
        let old = records().await;
        assert!(old.len() >= 3, "the seed is on the record ({})", old.len());

        // Two days and an hour later, one more change.
        env.clock.advance(2 * DAY + 3600);
        directory.add_administrator(&operator, "acme", NewAdministrator::with_email("later@acme.example", None, Access::Full)).await.expect("administrator");
        assert_eq!(records().await.len(), old.len() + 1, "the first node's purge (90 days) kept everything");

        // A node whose clock is a day further, keeping two days: the seed's records are older
        // than that, the later one is not. Its purge task runs as it starts.
        let clock = Arc::new(TestClock::default());
        clock.stop();
        clock.advance(env.clock.now() + DAY - clock.now());
        let mut config = env.db.config();
        config.public_url = Some(env.server.base_url.clone());
        config.audit_retention_days = 2;
        let node = RunningServer::start(config, clock).await.expect("node starts");
        let purged = eventually(Duration::from_secs(10), || async { records().await.len() == 1 }).await;
        let left = records().await;
        assert!(purged, "only the newer record is left: {left:?}");
        assert_eq!(left[0].event_type, "platform/administrator/create");
        assert!(left[0].after_changes.as_ref().is_some_and(|a| a.to_string().contains("later@acme.example")), "{:?}", left[0]);
        node.stop().await.expect("node stops");
    }
}

db_test! {
    async fn readiness_fails_while_the_database_does_not_answer(env) {
        let ready = || async {
            env.http.get(env.url("/readyz")).send().await.expect("request")
        };
        assert_eq!(ready().await.status(), 200);
        let postgres = env.db.url.starts_with("postgres");
        let admin_url = std::env::var(crate::testdb::PG_ENV).unwrap_or_default();
        let name = reqwest::Url::parse(&env.db.url).expect("url").path().trim_start_matches('/').to_owned();
        let admin = || async {
            use sqlx::Connection;
            sqlx::PgConnection::connect(&admin_url).await.expect("connect as the administrator")
        };
        if postgres {
            // The database refuses connections, and those the node holds are cut.
            let mut conn = admin().await;
            sqlx::query(sqlx::AssertSqlSafe(format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false"))).execute(&mut conn).await.expect("refuse connections");
            sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()")
                .bind(&name).execute(&mut conn).await.expect("cut connections");
        } else {
            // A SQLite node's database stops answering when its connections are gone.
            env.server.store().close().await;
        }
        let unready = eventually(Duration::from_secs(30), || async { ready().await.status() == 503 }).await;
        let response = ready().await;
        let status = response.status().as_u16();
        let retry_after = response.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let body: Value = response.json().await.unwrap_or_default();
        assert!(unready && status == 503, "not ready without the database: {status} {body}");
        assert_eq!(retry_after.as_deref(), Some("5"));
        assert_eq!(body["type"], "https://errors-api.cloud.com/common/serviceUnavailable", "{body}");
        assert_eq!(parameter(&body, "retryDelay"), Some("5"), "{body}");
        assert_eq!(env.http.get(env.url("/healthz")).send().await.expect("request").status(), 200, "still alive");

        if postgres {
            let mut conn = admin().await;
            sqlx::query(sqlx::AssertSqlSafe(format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true"))).execute(&mut conn).await.expect("accept connections");
            let back = eventually(Duration::from_secs(30), || async { ready().await.status() == 200 }).await;
            assert!(back, "ready again once the database answers");
        }
    }
}
