//! API-client bearer tokens revoked before they expire, kept until their expiry.

use sqlx::Row;

use super::Conn;
use crate::error::Result;

/// Records that the token `jti` of `client_id`, expiring at `expires_at`, is revoked.
pub async fn insert(conn: &mut Conn, jti: &str, client_id: &str, expires_at: i64) -> Result<()> {
    sqlx::query(
        "INSERT INTO revoked_bearer_tokens (jti, client_id, expires_at) VALUES ($1, $2, $3) \
         ON CONFLICT DO NOTHING",
    )
    .bind(jti)
    .bind(client_id)
    .bind(expires_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// The ids of revoked tokens that have not expired at `now`.
pub async fn unexpired(conn: &mut Conn, now: i64) -> Result<Vec<String>> {
    let rows = sqlx::query("SELECT jti FROM revoked_bearer_tokens WHERE expires_at > $1")
        .bind(now)
        .fetch_all(conn)
        .await?;
    rows.iter()
        .map(|row| Ok(row.try_get::<String, _>("jti")?))
        .collect()
}

/// Whether the token `jti` is revoked.
pub async fn contains(conn: &mut Conn, jti: &str) -> Result<bool> {
    let row = sqlx::query("SELECT 1 AS one FROM revoked_bearer_tokens WHERE jti = $1")
        .bind(jti)
        .fetch_optional(conn)
        .await?;
    Ok(row.is_some())
}

/// Deletes the records of tokens expired at `now`; how many.
pub async fn purge(conn: &mut Conn, now: i64) -> Result<u64> {
    let done = sqlx::query("DELETE FROM revoked_bearer_tokens WHERE expires_at <= $1")
        .bind(now)
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}
