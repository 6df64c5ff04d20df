//! `GET /metrics`: Prometheus text with the token endpoints' outcomes, request latency per
//! route template, and the gauges read at each scrape. One recorder serves the whole test
//! process, so counts are compared before and after, as increases.

use crate::support::{Backend, Env, db_test, token_request};

/// The value of the sample of `name` whose labels include every one of `labels`.
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .find(|line| {
            let (series, _) = line.rsplit_once(' ').unwrap_or_default();
            let (metric, rest) = series.split_once('{').unwrap_or((series, ""));
            metric == name
                && labels
                    .iter()
                    .all(|(k, v)| rest.contains(&format!("{k}=\"{v}\"")))
        })
        .and_then(|line| line.rsplit_once(' ')?.1.parse().ok())
}

db_test! {
    async fn metrics_count_tokens_time_routes_and_read_gauges(env) {
        let scrape = || async {
            let response = env.http.get(env.url("/metrics")).send().await.expect("scrape");
            assert_eq!(response.status(), 200);
            let content_type = response.headers()["content-type"].to_str().expect("text").to_owned();
            assert!(content_type.starts_with("text/plain; version=0.0.4"), "{content_type}");
            response.text().await.expect("text")
        };
        let issued = [("endpoint", "oauth2"), ("grant", "client_credentials")];
        let refused = [("endpoint", "oauth2"), ("grant", "client_credentials"), ("reason", "invalid")];
        let before = scrape().await;
        let issued_before = sample(&before, "cloudtrust_tokens_issued_total", &issued).unwrap_or(0.0);
        let refused_before = sample(&before, "cloudtrust_tokens_refused_total", &refused).unwrap_or(0.0);

        let seed = env.seed().await;
        env.token(&seed.client_id, &seed.secret).await;
        env.token(&seed.client_id, &seed.secret).await;
        let wrong = token_request(&env.http, env.base(), "root", &seed.client_id, "wrong").await;
        assert_eq!(wrong.status(), 400);
        let missing = env.http.get(env.url("/no/such/path/123")).send().await.expect("request");
        assert_eq!(missing.status(), 404);
        let method = reqwest::Method::from_bytes(b"FROBNICATE").expect("a method");
        let made_up = env.http.request(method, env.url("/cvadapis/me")).send().await.expect("request");
        assert!(made_up.status().is_client_error());

        let after = scrape().await;
        let issued_after = sample(&after, "cloudtrust_tokens_issued_total", &issued).expect("issued");
        assert!(issued_after >= issued_before + 2.0, "{issued_before} → {issued_after}");
        let refused_after = sample(&after, "cloudtrust_tokens_refused_total", &refused).expect("refused");
        assert!(refused_after >= refused_before + 1.0, "{refused_before} → {refused_after}");
        assert!(after.contains("# TYPE cloudtrust_tokens_issued_total counter"), "{after}");

        // Latency by route template: the path's values never become labels.
        let route = [("method", "POST"), ("route", "/cctrustoauth2/{customerid}/tokens/clients"), ("status", "2xx")];
        let timed = sample(&after, "cloudtrust_http_request_duration_seconds_count", &route).expect("timed");
        assert!(timed >= 2.0, "{timed}");
        assert!(sample(&after, "cloudtrust_http_request_duration_seconds_bucket", &[("le", "0.005")]).is_some());
        assert!(sample(&after, "cloudtrust_http_request_duration_seconds_count", &[("route", "unmatched"), ("status", "4xx")]).is_some());
        assert!(!after.contains("/no/such/path"), "an unmatched path is not a label");
        assert!(!after.contains("FROBNICATE"), "a made-up method is not a label");
        assert!(sample(&after, "cloudtrust_http_request_duration_seconds_count", &[("method", "other")]).is_some());

        // Gauges read at the scrape.
        let max = sample(&after, "cloudtrust_db_pool_max_connections", &[]).expect("pool max");
        assert!(max == 4.0 || max == 16.0, "{max}");
        assert!(sample(&after, "cloudtrust_db_pool_connections", &[("state", "idle")]).is_some());
        let clients = sample(&after, "cloudtrust_cache_entries", &[("table", "clients")]).expect("cache entries");
        assert!(clients >= 1.0, "the client is cached: {clients}");
        let lookups: f64 = ["hit", "miss"]
            .iter()
            .filter_map(|result| sample(&after, "cloudtrust_cache_lookups_total", &[("table", "clients"), ("result", result)]))
            .sum();
        assert!(lookups >= 2.0, "each token looked the client up: {lookups}");
        let age = sample(&after, "cloudtrust_signing_key_age_seconds", &[]).expect("key age");
        assert!((0.0..3600.0).contains(&age), "{age}");
        let followed = sample(&after, "cloudtrust_change_notifications_connected", &[]).expect("changes");
        assert_eq!(followed, 1.0, "the change notifications are followed");
        assert!(sample(&after, "cloudtrust_usage_pending_records", &[]).is_some());
        let unwritten = sample(&after, "cloudtrust_usage_unwritten_seconds", &[]).expect("unwritten");
        assert!((0.0..60.0).contains(&unwritten), "usage is written every few seconds: {unwritten}");

        // The lag of the change notifications, once measured: a heartbeat's round trip through
        // PostgreSQL, or the time between two reads of SQLite's change log.
        let mut lag = None;
        for _ in 0..100 {
            lag = sample(&scrape().await, "cloudtrust_change_notifications_lag_seconds", &[]);
            if lag.is_some() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let lag = lag.expect("the lag is measured within seconds");
        assert!((0.0..5.0).contains(&lag), "{lag}");
    }
}

db_test! {
    async fn failed_database_operations_are_counted(env) {
        let seed = env.seed().await;
        let token = env.token(&seed.client_id, &seed.secret).await;
        let scrape = || async { env.http.get(env.url("/metrics")).send().await.expect("scrape").text().await.expect("text") };
        let refused = [("kind", "database")];
        let before = sample(&scrape().await, "cloudtrust_db_errors_total", &refused).expect("present from the start");

        // The system log's table is gone: reading it fails in the database.
        sqlx::any::install_default_drivers();
        let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&env.db.url).await.expect("connect");
        sqlx::Executor::execute(&mut conn, "DROP TABLE audit_events").await.expect("drop the table");
        let failed = env.http.get(env.url("/systemlog/records"))
            .header("Authorization", format!("CwsAuth Bearer={token}"))
            .header("Citrix-CustomerId", "acme")
            .send().await.expect("request");
        assert_eq!(failed.status(), 503, "the server's failure, answered as unavailable");

        let after = sample(&scrape().await, "cloudtrust_db_errors_total", &refused).expect("counted");
        assert!(after >= before + 1.0, "{before} → {after}");
    }
}

/// SQLite only: the cap is the same on either database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cache_holds_at_most_cache_max_entries() {
    let env = Env::with(Backend::Sqlite, |config| config.cache_max_entries = 3)
        .await
        .expect("server");
    let seed = env.seed().await;
    let following = crate::support::eventually(std::time::Duration::from_secs(10), || async {
        env.server.follows_changes()
    })
    .await;
    assert!(following, "the cache is in use");
    let clients = || env.server.cache_entries()[0];
    // Ids that exist nowhere are remembered too, up to the cap.
    for _ in 0..9 {
        let id = uuid::Uuid::new_v4().to_string();
        let refused = token_request(&env.http, env.base(), "root", &id, "wrong").await;
        assert_eq!(refused.status(), 400);
        assert!(clients().1 <= 3, "{:?}", clients());
    }
    assert_eq!(clients(), ("clients", 3), "full");
    env.token(&seed.client_id, &seed.secret).await;
    assert_eq!(
        clients(),
        ("clients", 1),
        "the unknown ids made way for a real client"
    );
    env.token(&seed.client_id, &seed.secret).await;
    assert_eq!(clients(), ("clients", 1));
}

/// SQLite only: the database does not change where a listener serves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_metrics_listen_metrics_are_served_there_only() {
    {
        let env = Env::with(Backend::Sqlite, |config| {
            config.metrics_listen = Some("127.0.0.1:0".parse().expect("address"));
        })
        .await
        .expect("server");
        let main = env
            .http
            .get(env.url("/metrics"))
            .send()
            .await
            .expect("request");
        assert_eq!(main.status(), 404, "not on the main listener");
        let own = env.server.metrics_addr.expect("a metrics listener");
        let metrics = env
            .http
            .get(format!("http://{own}/metrics"))
            .send()
            .await
            .expect("request");
        assert_eq!(metrics.status(), 200);
        assert!(
            metrics
                .text()
                .await
                .expect("text")
                .contains("cloudtrust_signing_key_age_seconds")
        );
        let other = env
            .http
            .get(format!("http://{own}/cvadapis/me"))
            .send()
            .await
            .expect("request");
        assert_eq!(other.status(), 404, "and nothing else there");
    }
}
