//! End users' sign-in sessions at `/core`, and the authorization requests waiting for sign-in
//! or consent. Both are keyed by the SHA-256 of a random token the browser holds.

use sqlx::FromRow;

use super::Conn;
use crate::domain::workspace_sign_in::{Interaction, WorkspaceSession};
use crate::error::Result;

#[derive(FromRow)]
struct SessionRow {
    user_id: String,
    customer_id: String,
    auth_time: i64,
    created_at: i64,
    last_seen_at: i64,
}

/// Inserts a session under the hash of its token.
pub async fn insert(conn: &mut Conn, token_hash: &str, session: &WorkspaceSession) -> Result<()> {
    sqlx::query(
        "INSERT INTO workspace_sessions \
         (token_hash, user_id, customer_id, auth_time, created_at, last_seen_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(token_hash)
    .bind(&session.user_id)
    .bind(&session.customer_id)
    .bind(session.auth_time)
    .bind(session.created_at)
    .bind(session.last_seen_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// The session whose token hashes to `token_hash`.
pub async fn get(conn: &mut Conn, token_hash: &str) -> Result<Option<WorkspaceSession>> {
    let row: Option<SessionRow> = sqlx::query_as(
        "SELECT user_id, customer_id, auth_time, created_at, last_seen_at \
         FROM workspace_sessions WHERE token_hash = $1",
    )
    .bind(token_hash)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| WorkspaceSession {
        user_id: r.user_id,
        customer_id: r.customer_id,
        auth_time: r.auth_time,
        created_at: r.created_at,
        last_seen_at: r.last_seen_at,
    }))
}

/// Records that the session was used at `at`.
pub async fn touch(conn: &mut Conn, token_hash: &str, at: i64) -> Result<()> {
    sqlx::query("UPDATE workspace_sessions SET last_seen_at = $1 WHERE token_hash = $2")
        .bind(at)
        .bind(token_hash)
        .execute(conn)
        .await?;
    Ok(())
}

/// Deletes a session.
pub async fn delete(conn: &mut Conn, token_hash: &str) -> Result<()> {
    sqlx::query("DELETE FROM workspace_sessions WHERE token_hash = $1")
        .bind(token_hash)
        .execute(conn)
        .await?;
    Ok(())
}

/// Deletes the sessions idle since before `idle_before` or started before `started_before`.
pub async fn purge(conn: &mut Conn, idle_before: i64, started_before: i64) -> Result<()> {
    sqlx::query("DELETE FROM workspace_sessions WHERE last_seen_at < $1 OR created_at < $2")
        .bind(idle_before)
        .bind(started_before)
        .execute(conn)
        .await?;
    Ok(())
}

#[derive(FromRow)]
struct InteractionRow {
    request: String,
    csrf_token: String,
    user_id: Option<String>,
    auth_time: Option<i64>,
    expires_at: i64,
}

/// Inserts a pending authorization request under the hash of its id.
pub async fn insert_interaction(
    conn: &mut Conn,
    id_hash: &str,
    interaction: &Interaction,
) -> Result<()> {
    let request = serde_json::to_string(&interaction.request)
        .map_err(|e| crate::error::Error::internal(format!("authorization request: {e}")))?;
    sqlx::query(
        "INSERT INTO workspace_interactions \
         (id_hash, request, csrf_token, user_id, auth_time, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id_hash)
    .bind(request)
    .bind(&interaction.csrf_token)
    .bind(interaction.user_id.as_deref())
    .bind(interaction.auth_time)
    .bind(interaction.expires_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// The pending authorization request whose id hashes to `id_hash`.
pub async fn get_interaction(conn: &mut Conn, id_hash: &str) -> Result<Option<Interaction>> {
    let row: Option<InteractionRow> = sqlx::query_as(
        "SELECT request, csrf_token, user_id, auth_time, expires_at \
         FROM workspace_interactions WHERE id_hash = $1",
    )
    .bind(id_hash)
    .fetch_optional(conn)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let request = serde_json::from_str(&row.request)
        .map_err(|e| crate::error::Error::internal(format!("stored authorization request: {e}")))?;
    Ok(Some(Interaction {
        request,
        csrf_token: row.csrf_token,
        user_id: row.user_id,
        auth_time: row.auth_time,
        expires_at: row.expires_at,
    }))
}

/// Records who signed in for a pending request, and when.
pub async fn interaction_signed_in(
    conn: &mut Conn,
    id_hash: &str,
    user_id: &str,
    auth_time: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE workspace_interactions SET user_id = $1, auth_time = $2 WHERE id_hash = $3",
    )
    .bind(user_id)
    .bind(auth_time)
    .bind(id_hash)
    .execute(conn)
    .await?;
    Ok(())
}

/// Deletes a pending request; whether it was there (so that it completes once).
pub async fn delete_interaction(conn: &mut Conn, id_hash: &str) -> Result<bool> {
    let done = sqlx::query("DELETE FROM workspace_interactions WHERE id_hash = $1")
        .bind(id_hash)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Deletes the pending requests that expired before `now`.
pub async fn purge_interactions(conn: &mut Conn, now: i64) -> Result<()> {
    sqlx::query("DELETE FROM workspace_interactions WHERE expires_at < $1")
        .bind(now)
        .execute(conn)
        .await?;
    Ok(())
}
