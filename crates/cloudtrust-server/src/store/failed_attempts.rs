//! Failed token requests counted across nodes, per key and one-minute window.

use super::Conn;
use crate::error::Result;

/// Adds `n` failures to `key` in the window starting at `window_start`; returns the window's
/// total so far (all nodes).
pub async fn add(conn: &mut Conn, key: &str, window_start: i64, n: i64) -> Result<i64> {
    let (count,): (i64,) = sqlx::query_as(
        "INSERT INTO failed_attempts (key, window_start, count) VALUES ($1, $2, $3) \
         ON CONFLICT (key, window_start) DO UPDATE SET count = failed_attempts.count + $3 \
         RETURNING count",
    )
    .bind(key)
    .bind(window_start)
    .bind(n)
    .fetch_one(conn)
    .await?;
    Ok(count)
}

/// Tells every listening node (PostgreSQL) that `key` is blocked until `until` (unix seconds).
pub async fn announce_block(conn: &mut Conn, channel: &str, key: &str, until: i64) -> Result<()> {
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(channel)
        .bind(format!("{until} {key}"))
        .execute(conn)
        .await?;
    Ok(())
}

/// Deletes windows that started before `before`.
pub async fn prune(conn: &mut Conn, before: i64) -> Result<()> {
    sqlx::query("DELETE FROM failed_attempts WHERE window_start < $1")
        .bind(before)
        .execute(conn)
        .await?;
    Ok(())
}
