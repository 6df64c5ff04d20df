//! Abuse protection of the token endpoints: failed attempts are limited per client id and per
//! source address; a well-behaved client is never throttled by another client's failures.
//!
//! The buckets refill on the server's clock, which these tests stop and move: nothing here
//! depends on how fast the machine is.

use std::time::Duration;

use cloudtrust_server::domain::audit::Actor;
use cloudtrust_server::domain::directory::AdministratorRef;
use cloudtrust_server::store;
use serde_json::Value;

use crate::support::{Backend, Env, eventually, node_url};

/// Failures per minute allowed in these tests: one attempt back every six seconds.
const LIMIT: u32 = 10;

async fn env_with_limits(backend: Backend) -> Option<Env> {
    Env::with(backend, |config| {
        config.failed_attempts_per_client = LIMIT;
        config.failed_attempts_per_address = LIMIT;
    })
    .await
}

async fn throttling_kicks_in_and_recovers(env: Env) {
    let seed = env.seed().await;
    env.clock.stop();
    let other = env
        .directory()
        .create_api_client(
            &Actor::operator(),
            "acme",
            AdministratorRef::Email(&seed.admin),
            "other",
        )
        .await
        .expect("client");
    for _ in 0..LIMIT {
        let response = env
            .request_token("root", &seed.client_id, "wrong-secret")
            .await;
        assert_eq!(response.status(), 400);
    }
    let refused = env
        .request_token("root", &seed.client_id, "wrong-secret")
        .await;
    assert_eq!(refused.status(), 429);
    let retry_after: u64 = refused.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert_eq!(
        retry_after, 6,
        "one attempt comes back every 60 / {LIMIT} seconds"
    );
    let body: Value = refused.json().await.expect("json");
    assert_eq!(body["error"], "temporarily_unavailable");
    assert!(
        body["type"]
            .as_str()
            .expect("type")
            .ends_with("/rateLimitExceeded")
    );
    assert_eq!(body["parameters"][0]["name"], "retryDelay");
    assert_eq!(body["parameters"][0]["value"], retry_after.to_string());
    assert_eq!(
        env.request_token("root", &seed.client_id, &seed.secret)
            .await
            .status(),
        429,
        "the attacked client id waits at that address"
    );
    let elsewhere = reqwest::Client::builder()
        .local_address(std::net::IpAddr::from([127, 0, 0, 2]))
        .build()
        .expect("client");
    let from_elsewhere = crate::support::token_request(
        &elsewhere,
        env.base(),
        "root",
        &seed.client_id,
        &seed.secret,
    )
    .await;
    assert_eq!(
        from_elsewhere.status(),
        200,
        "the real client, from its own address, is not locked out"
    );

    assert_eq!(
        env.request_token("root", &other.client.id, &other.secret)
            .await
            .status(),
        200,
        "another client from the same address is not throttled"
    );

    env.clock.advance(5);
    assert_eq!(
        env.request_token("root", &seed.client_id, &seed.secret)
            .await
            .status(),
        429,
        "still waiting a second before the retry delay"
    );
    env.clock.advance(1);
    assert_eq!(
        env.request_token("root", &seed.client_id, &seed.secret)
            .await
            .status(),
        200,
        "the limit recovers after the retry delay"
    );

    // Unknown client ids are limited per source address, without touching known clients.
    for n in 0..LIMIT {
        let response = env
            .request_token("root", &format!("no-such-client-{n}"), "x")
            .await;
        assert_eq!(response.status(), 400);
    }
    assert_eq!(
        env.request_token("root", "no-such-client-x", "x")
            .await
            .status(),
        429
    );
    assert_eq!(
        env.request_token("root", &other.client.id, &other.secret)
            .await
            .status(),
        200
    );
    let trust = env
        .http
        .post(env.url("/root/tokens/clients"))
        .json(&serde_json::json!({"ClientId": "no-such-client-y", "ClientSecret": "x"}))
        .send()
        .await
        .expect("request");
    assert_eq!(trust.status(), 429, "the legacy endpoint shares the limits");

    // Smart Tools keys are counted the same way.
    let key = env
        .directory()
        .create_smart_key(
            &Actor::operator(),
            "acme",
            AdministratorRef::Email(&seed.admin),
        )
        .await
        .expect("key");
    let company = env
        .directory()
        .lookup_customer("acme")
        .await
        .expect("customer")
        .company_id;
    let smart = |secret: &str| {
        env.http
            .get(env.url(&format!(
                "/v0/oauth/token?grant_type=client_credentials&scope=Admin,{company}"
            )))
            .basic_auth(&key.key.api_key, Some(secret))
            .send()
    };
    for _ in 0..LIMIT {
        assert_eq!(smart("wrong").await.expect("request").status(), 401);
    }
    let refused = smart(&key.secret).await.expect("request");
    assert_eq!(
        refused.status(),
        429,
        "the Smart Tools endpoint shares the limits"
    );
    assert!(refused.headers().contains_key("retry-after"));

    let recorded = eventually(Duration::from_secs(5), || async {
        let store = env.server.store();
        let events = store::audit::event_types(&mut store.conn().await.expect("conn"), "acme")
            .await
            .expect("events");
        events
            .iter()
            .any(|(t, id)| t == "platform/secureclient/signin/failed" && *id == seed.client_id)
    })
    .await;
    assert!(recorded, "failed attempts reach the system log");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite() {
    if let Some(env) = env_with_limits(Backend::Sqlite).await {
        throttling_kicks_in_and_recovers(env).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    skip_postgres,
    ignore = "built without CLOUDTRUST_TEST_POSTGRES: the PostgreSQL half did not run"
)]
async fn postgres() {
    if let Some(env) = env_with_limits(Backend::Postgres).await {
        throttling_kicks_in_and_recovers(env).await;
    }
}

/// The per-client limit of the shared test: each node alone stays under it.
const SHARED_LIMIT: u32 = 20;

/// On PostgreSQL with `throttle_shared`, failures on two nodes add up: each node alone stays
/// under the limit, together they reach it, and both nodes then refuse the client id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    skip_postgres,
    ignore = "built without CLOUDTRUST_TEST_POSTGRES: the PostgreSQL half did not run"
)]
async fn failures_add_up_across_nodes_when_shared() {
    let shared = |config: &mut cloudtrust_server::Config| {
        config.failed_attempts_per_client = SHARED_LIMIT;
        config.throttle_shared = true;
    };
    let Some(env) = Env::with(Backend::Postgres, shared).await else {
        return;
    };
    // Shared counts are per minute of the clock: stopped, the two nodes' writes cannot fall on
    // both sides of a minute's end.
    env.clock.stop();
    let seed = env.seed().await;
    let mut config = env.db.config();
    config.public_url = Some(env.server.base_url.clone());
    shared(&mut config);
    let other = cloudtrust_server::RunningServer::start(config, env.clock.clone())
        .await
        .expect("second node");
    let half = SHARED_LIMIT / 2 + 2;
    for _ in 0..half {
        let response =
            crate::support::token_request(&env.http, env.base(), "root", &seed.client_id, "wrong")
                .await;
        assert_eq!(
            response.status(),
            400,
            "one node alone stays under the limit"
        );
    }
    for _ in 0..half {
        let response = crate::support::token_request(
            &env.http,
            &node_url(&other),
            "root",
            &seed.client_id,
            "wrong",
        )
        .await;
        // The second node may already apply the block the first node's counts started.
        assert!([400, 429].contains(&response.status().as_u16()));
    }
    for base in [env.base(), node_url(&other).as_str()] {
        let blocked = eventually(Duration::from_secs(5), || async {
            crate::support::token_request(&env.http, base, "root", &seed.client_id, &seed.secret)
                .await
                .status()
                == 429
        })
        .await;
        assert!(blocked, "{base} applies the shared block");
    }
    other.stop().await.expect("second node stops");
}

/// Whether `check` holds every time it is asked during `span` (asked every 50 ms): for what
/// must not happen within some time, such as the once-a-second sharing of failure counts.
async fn holds_throughout<F, Fut>(span: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let end = tokio::time::Instant::now() + span;
    while tokio::time::Instant::now() < end {
        if !check().await {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    check().await
}

/// Rows of the shared failure counts.
async fn shared_counts(env: &Env) -> i64 {
    let store = env.server.store();
    let (rows,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM failed_attempts")
        .fetch_one(&mut *store.conn().await.expect("conn"))
        .await
        .expect("count");
    rows
}

/// SQLite nodes do not share counts, even with `throttle_shared = true`: each node counts
/// only its own failures, and nothing is written for other nodes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttle_shared_is_ignored_on_sqlite() {
    const SMALL: u32 = 10;
    let shared = |config: &mut cloudtrust_server::Config| {
        config.failed_attempts_per_client = SMALL;
        config.throttle_shared = true;
    };
    let env = Env::with(Backend::Sqlite, shared)
        .await
        .expect("sqlite is always available");
    let seed = env.seed().await;
    let mut config = env.db.config();
    config.public_url = Some(env.server.base_url.clone());
    shared(&mut config);
    let other = cloudtrust_server::RunningServer::start(config, env.clock.clone())
        .await
        .expect("second node");
    let status = |base: &str, secret: &str| {
        let (http, base, id, secret) = (
            env.http.clone(),
            base.to_owned(),
            seed.client_id.clone(),
            secret.to_owned(),
        );
        async move {
            crate::support::token_request(&http, &base, "root", &id, &secret)
                .await
                .status()
                .as_u16()
        }
    };
    let real = seed.secret.as_str();

    // Together 12 failures, more than the limit of 10, but each node counts its own 6.
    let other_url = node_url(&other);
    for base in [env.base(), other_url.as_str()] {
        for _ in 0..6 {
            assert_eq!(status(base, "wrong").await, 400);
        }
    }
    let unshared = holds_throughout(Duration::from_secs(3), || async {
        status(env.base(), real).await == 200
            && status(&other_url, real).await == 200
            && shared_counts(&env).await == 0
    })
    .await;
    assert!(
        unshared,
        "no node refuses, and no count is written for other nodes, for three sharing intervals"
    );

    // The first node reaches its own limit of 10 (less what its bucket refilled meanwhile);
    // the second is not told.
    let mut more = 0;
    loop {
        match status(env.base(), "wrong").await {
            400 => more += 1,
            429 => break,
            other => panic!("{other}"),
        }
        assert!(
            more <= 6,
            "the first node refuses after its own 10 failures"
        );
    }
    assert!(
        more >= 4,
        "only after its own 10 failures ({more} more than 6)"
    );
    assert_eq!(status(env.base(), real).await, 429);
    assert_eq!(status(&other_url, real).await, 200);
    other.stop().await.expect("second node stops");
}

/// On PostgreSQL with `throttle_shared`, a block reached by the nodes together lasts until the
/// minute of the counts ends, by the nodes' clock, however long the local buckets allow.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    skip_postgres,
    ignore = "built without CLOUDTRUST_TEST_POSTGRES: the PostgreSQL half did not run"
)]
async fn a_shared_block_lasts_until_the_minute_ends() {
    use cloudtrust_server::Clock;
    const SMALL: u32 = 10;
    let shared = |config: &mut cloudtrust_server::Config| {
        config.failed_attempts_per_client = SMALL;
        config.throttle_shared = true;
    };
    let Some(env) = Env::with(Backend::Postgres, shared).await else {
        return;
    };
    let seed = env.seed().await;
    // Ten seconds into a minute.
    env.clock.stop();
    let now = env.clock.now();
    env.clock.advance(70 - now.rem_euclid(60));
    let now = env.clock.now();
    assert_eq!(now.rem_euclid(60), 10);
    let minute_ends = now + 50;

    let mut config = env.db.config();
    config.public_url = Some(env.server.base_url.clone());
    shared(&mut config);
    let other = cloudtrust_server::RunningServer::start(config, env.clock.clone())
        .await
        .expect("second node");
    let bases = [env.base().to_owned(), node_url(&other)];
    // 6 failures on each node: each stays under 10 alone, together they reach it (the
    // second node may already apply the block its first counts completed).
    for (n, base) in bases.iter().enumerate() {
        for _ in 0..6 {
            let response =
                crate::support::token_request(&env.http, base, "root", &seed.client_id, "wrong")
                    .await;
            let allowed: &[u16] = if n == 0 { &[400] } else { &[400, 429] };
            assert!(
                allowed.contains(&response.status().as_u16()),
                "{base}: {}",
                response.status()
            );
        }
    }
    let retry_after = |base: String| {
        let http = env.http.clone();
        let (id, secret) = (seed.client_id.clone(), seed.secret.clone());
        async move {
            let response = crate::support::token_request(&http, &base, "root", &id, &secret).await;
            match response.status().as_u16() {
                200 => None,
                429 => Some(
                    response.headers()["retry-after"]
                        .to_str()
                        .expect("ascii")
                        .parse::<i64>()
                        .expect("seconds"),
                ),
                other => panic!("{base}: {other}"),
            }
        }
    };
    for base in &bases {
        let blocked = eventually(Duration::from_secs(10), || async {
            retry_after(base.clone()).await.is_some()
        })
        .await;
        assert!(blocked, "{base} applies the shared block");
        assert_eq!(
            retry_after(base.clone()).await,
            Some(minute_ends - env.clock.now()),
            "{base}: until the minute ends"
        );
    }

    env.clock.advance(49);
    for base in &bases {
        assert_eq!(
            retry_after(base.clone()).await,
            Some(1),
            "{base}: a second before the minute ends, still blocked"
        );
    }
    env.clock.advance(1);
    for base in &bases {
        assert_eq!(
            retry_after(base.clone()).await,
            None,
            "{base}: the minute is over, and so is the block"
        );
    }
    other.stop().await.expect("second node stops");
}
