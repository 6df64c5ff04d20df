//! Sessions of the web console.

use sqlx::FromRow;

use super::Conn;
use crate::domain::console_sessions::ConsoleSession;
use crate::error::Result;

#[derive(FromRow)]
struct SessionRow {
    administrator_id: Option<String>,
    choices: String,
    csrf_token: String,
    created_at: i64,
    last_seen_at: i64,
}

/// Inserts a session under the hash of its token.
pub async fn insert(conn: &mut Conn, token_hash: &str, session: &ConsoleSession) -> Result<()> {
    sqlx::query(
        "INSERT INTO console_sessions \
         (token_hash, administrator_id, choices, csrf_token, created_at, last_seen_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(token_hash)
    .bind(session.administrator_id.as_deref())
    .bind(session.choices.join(" "))
    .bind(&session.csrf_token)
    .bind(session.created_at)
    .bind(session.last_seen_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// The session whose token hashes to `token_hash`.
pub async fn get(conn: &mut Conn, token_hash: &str) -> Result<Option<ConsoleSession>> {
    let row: Option<SessionRow> = sqlx::query_as(
        "SELECT administrator_id, choices, csrf_token, created_at, last_seen_at \
         FROM console_sessions WHERE token_hash = $1",
    )
    .bind(token_hash)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|row| ConsoleSession {
        administrator_id: row.administrator_id,
        choices: row.choices.split_whitespace().map(str::to_owned).collect(),
        csrf_token: row.csrf_token,
        created_at: row.created_at,
        last_seen_at: row.last_seen_at,
    }))
}

/// Records that the session was used at `at`.
pub async fn touch(conn: &mut Conn, token_hash: &str, at: i64) -> Result<()> {
    sqlx::query("UPDATE console_sessions SET last_seen_at = $1 WHERE token_hash = $2")
        .bind(at)
        .bind(token_hash)
        .execute(conn)
        .await?;
    Ok(())
}

/// Sets the administrator a session acts as.
pub async fn choose(
    conn: &mut Conn,
    token_hash: &str,
    administrator_id: &str,
    at: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE console_sessions SET administrator_id = $1, last_seen_at = $2 \
         WHERE token_hash = $3",
    )
    .bind(administrator_id)
    .bind(at)
    .bind(token_hash)
    .execute(conn)
    .await?;
    Ok(())
}

/// Deletes a session.
pub async fn delete(conn: &mut Conn, token_hash: &str) -> Result<()> {
    sqlx::query("DELETE FROM console_sessions WHERE token_hash = $1")
        .bind(token_hash)
        .execute(conn)
        .await?;
    Ok(())
}

/// Deletes the sessions idle since before `idle_before` or started before `started_before`.
pub async fn purge(conn: &mut Conn, idle_before: i64, started_before: i64) -> Result<u64> {
    let done =
        sqlx::query("DELETE FROM console_sessions WHERE last_seen_at < $1 OR created_at < $2")
            .bind(idle_before)
            .bind(started_before)
            .execute(conn)
            .await?;
    Ok(done.rows_affected())
}
