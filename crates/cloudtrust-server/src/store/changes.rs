//! The change log that keeps every node's caches honest.

use sqlx::FromRow;

use super::Conn;
use crate::error::Result;

/// One recorded change.
#[derive(Debug, Clone, FromRow)]
pub struct ChangeRow {
    /// Sequence number.
    pub seq: i64,
    /// What changed: `client`, `administrator`, `customer` or `keys`.
    pub kind: String,
    /// Id of what changed.
    pub key: String,
    /// When, unix seconds.
    pub at: i64,
}

/// Records a change; call inside the transaction that makes it.
pub async fn record(conn: &mut Conn, kind: &str, key: &str, at: i64) -> Result<()> {
    sqlx::query("INSERT INTO change_log (kind, key, at) VALUES ($1, $2, $3)")
        .bind(kind)
        .bind(key)
        .bind(at)
        .execute(conn)
        .await?;
    Ok(())
}

/// Changes with a sequence number above `seq`, in order. On SQLite writers are serialised, so
/// sequence order is commit order and nothing is skipped.
pub async fn after(conn: &mut Conn, seq: i64) -> Result<Vec<ChangeRow>> {
    Ok(
        sqlx::query_as("SELECT seq, kind, key, at FROM change_log WHERE seq > $1 ORDER BY seq")
            .bind(seq)
            .fetch_all(conn)
            .await?,
    )
}

/// The highest sequence number recorded so far (0 when none).
pub async fn latest(conn: &mut Conn) -> Result<i64> {
    let (seq,): (Option<i64>,) = sqlx::query_as("SELECT MAX(seq) FROM change_log")
        .fetch_one(conn)
        .await?;
    Ok(seq.unwrap_or(0))
}

/// Sends `payload` on the PostgreSQL notification channel `channel` (a follower's heartbeat,
/// delivered after every change committed before it).
pub async fn notify(conn: &mut Conn, channel: &str, payload: &str) -> Result<()> {
    sqlx::query("SELECT 1 AS sent FROM (SELECT pg_notify($1, $2)) AS notified")
        .bind(channel)
        .bind(payload)
        .execute(conn)
        .await?;
    Ok(())
}

/// Removes changes older than `before`.
pub async fn prune(conn: &mut Conn, before: i64) -> Result<()> {
    sqlx::query("DELETE FROM change_log WHERE at < $1")
        .bind(before)
        .execute(conn)
        .await?;
    Ok(())
}
