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
    }
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
