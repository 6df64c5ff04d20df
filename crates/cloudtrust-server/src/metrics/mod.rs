//! Prometheus metrics (`GET /metrics`): what the token endpoints issued and refused, how long
//! requests took per route, how the authentication cache and the database pool are doing, and
//! how old the signing key is.
//!
//! One recorder serves the whole process, installed on first use; counters on the token
//! endpoint's hot path are registered once and then only incremented (an atomic add). The
//! request-latency histogram is kept apart, in `latency`, and rendered after the recorder's
//! text.

mod latency;

use std::sync::OnceLock;
use std::time::Duration;

use metrics::{Counter, Unit, counter, describe_counter, describe_gauge};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

/// Tokens issued, by `endpoint` (`oauth2`, `trust`, `smart`, `core`) and `grant`.
pub const TOKENS_ISSUED: &str = "cloudtrust_tokens_issued_total";
/// Credentials checked and refused at a token endpoint, by `endpoint`, `grant` and `reason`
/// (`invalid`, `throttled`, `busy`, `elsewhere`, `invalid_grant`).
pub const TOKENS_REFUSED: &str = "cloudtrust_tokens_refused_total";
/// Requests refused because their client or source failed too often, by `endpoint`.
pub const THROTTLED: &str = "cloudtrust_throttled_requests_total";
/// Request latency, by `method`, `route` (the route's template) and `status` class.
pub const REQUEST_DURATION: &str = "cloudtrust_http_request_duration_seconds";
/// Lookups in the authentication cache, by `table` and `result` (`hit`, `miss`).
pub const CACHE_LOOKUPS: &str = "cloudtrust_cache_lookups_total";
/// Entries in the authentication cache, by `table`.
pub const CACHE_ENTRIES: &str = "cloudtrust_cache_entries";
/// Database connections, by `state` (`idle`, `in_use`).
pub const DB_CONNECTIONS: &str = "cloudtrust_db_pool_connections";
/// The most database connections the pool opens.
pub const DB_CONNECTIONS_MAX: &str = "cloudtrust_db_pool_max_connections";
/// 1 while the cache is trusted (changes are followed, or were less than
/// [`crate::changes::CURRENT_FOR`] ago), else 0.
pub const CHANGES_FOLLOWED: &str = "cloudtrust_change_notifications_connected";
/// Token usage records (and, with `audit_each_token`, system-log records) not yet written.
pub const USAGE_PENDING: &str = "cloudtrust_usage_pending_records";
/// Age of the oldest usage or system-log record not yet written; 0 when none waits.
pub const USAGE_UNWRITTEN: &str = "cloudtrust_usage_unwritten_seconds";
/// Database operations that failed, by `kind` (`database`: the database refused the
/// statement, a duplicate aside; `connection`: it could not be reached or the connection broke; `pool_timeout`:
/// no connection was free in time; `other`).
pub const DB_ERRORS: &str = "cloudtrust_db_errors_total";
/// How old the news of changes made elsewhere may be: on PostgreSQL, how long the last
/// heartbeat took through the database back to this node's listener; on SQLite, the time
/// between the last two reads of the change log.
pub const CHANGES_LAG: &str = "cloudtrust_change_notifications_lag_seconds";
/// Seconds since the signing key in use was made.
pub const SIGNING_KEY_AGE: &str = "cloudtrust_signing_key_age_seconds";

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
static API_CLIENT_TOKENS: OnceLock<Counter> = OnceLock::new();

/// The process's recorder, installed on first use. When the embedding program installed a
/// recorder of its own, counters and gauges go there and this one renders only the latency
/// histogram, which is kept here in any case.
pub fn handle() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_ok() {
            describe();
        }
        handle
    })
}

fn describe() {
    describe_counter!(TOKENS_ISSUED, "Tokens issued by the token endpoints");
    describe_counter!(
        TOKENS_REFUSED,
        "Credentials checked and refused by the token endpoints"
    );
    describe_counter!(THROTTLED, "Token requests refused for too many failures");
    describe_counter!(CACHE_LOOKUPS, "Authentication cache lookups");
    describe_gauge!(CACHE_ENTRIES, "Authentication cache entries");
    describe_gauge!(DB_CONNECTIONS, "Database connections of the pool");
    describe_gauge!(DB_CONNECTIONS_MAX, "The most connections the pool opens");
    describe_gauge!(
        SIGNING_KEY_AGE,
        Unit::Seconds,
        "Age of the signing key in use"
    );
    describe_gauge!(
        CHANGES_FOLLOWED,
        "Whether change notifications are followed"
    );
    describe_counter!(DB_ERRORS, "Database operations that failed");
    describe_gauge!(
        CHANGES_LAG,
        Unit::Seconds,
        "How old the news of changes made elsewhere may be"
    );
    for kind in DB_ERROR_KINDS {
        // Present from the start at 0, so that a rate over it is defined before the first.
        counter!(DB_ERRORS, "kind" => kind).absolute(0);
    }
    describe_gauge!(USAGE_PENDING, "Usage and token records not yet written");
    describe_gauge!(
        USAGE_UNWRITTEN,
        Unit::Seconds,
        "Age of the oldest record not yet written"
    );
}

/// The process's metrics in Prometheus's text format.
pub fn render() -> String {
    let handle = handle();
    handle.run_upkeep();
    let mut text = handle.render();
    latency::render(&mut text);
    text
}

/// A token issued at `endpoint` for `grant`.
pub fn token_issued(endpoint: &'static str, grant: &'static str) {
    if (endpoint, grant) == ("oauth2", "client_credentials") {
        // The hot path: registered once, then an atomic add.
        API_CLIENT_TOKENS
            .get_or_init(|| {
                handle();
                counter!(TOKENS_ISSUED, "endpoint" => endpoint, "grant" => grant)
            })
            .increment(1);
    } else {
        counter!(TOKENS_ISSUED, "endpoint" => endpoint, "grant" => grant).increment(1);
    }
}

/// Credentials refused at `endpoint` for `grant`, for `reason`.
pub fn token_refused(endpoint: &'static str, grant: &'static str, reason: &'static str) {
    counter!(TOKENS_REFUSED, "endpoint" => endpoint, "grant" => grant, "reason" => reason)
        .increment(1);
    if reason == "throttled" {
        counter!(THROTTLED, "endpoint" => endpoint).increment(1);
    }
}

const DB_ERROR_KINDS: [&str; 4] = ["database", "connection", "pool_timeout", "other"];

/// A database operation failed with `e`. A duplicate refused by a unique constraint is the
/// caller's conflict (an email already taken), not a failure, and is not counted.
pub fn database_error(e: &sqlx::Error) {
    let kind = match e {
        sqlx::Error::Database(db) if db.is_unique_violation() => return,
        sqlx::Error::Database(_) => "database",
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::PoolClosed => "connection",
        sqlx::Error::PoolTimedOut => "pool_timeout",
        _ => "other",
    };
    handle();
    counter!(DB_ERRORS, "kind" => kind).increment(1);
}

/// The cache counters of `table`, registered once by the cache.
pub fn cache_lookups(table: &'static str) -> (Counter, Counter) {
    handle();
    (
        counter!(CACHE_LOOKUPS, "table" => table, "result" => "hit"),
        counter!(CACHE_LOOKUPS, "table" => table, "result" => "miss"),
    )
}

/// A request of `method` to `route` (its template, or `unmatched`) answered with `status`
/// after `elapsed`.
pub fn request_done(method: &str, route: &str, status: u16, elapsed: Duration) {
    latency::record(method, route, status, elapsed);
}

/// Sets a gauge read at scrape time.
pub fn gauge(name: &'static str, labels: &[(&'static str, &'static str)], value: f64) {
    let labels: Vec<metrics::Label> = labels
        .iter()
        .map(|(k, v)| metrics::Label::from_static_parts(k, v))
        .collect();
    metrics::gauge!(name, labels).set(value);
}
