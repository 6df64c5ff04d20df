//! What Workspace authorizations produced: grants, their authorization codes and refresh
//! tokens (by SHA-256), access tokens revoked early (by `jti`), and end users' consents.

use sqlx::FromRow;

use super::Conn;
use crate::domain::workspace_sign_in::{Consent, Grant, IssuedCode, RefreshRecord};
use crate::error::Result;

#[derive(FromRow)]
struct GrantRow {
    id: String,
    client_id: String,
    user_id: String,
    customer_id: String,
    scope: String,
    auth_time: i64,
    created_at: i64,
    expires_at: i64,
    revoked_at: Option<i64>,
}

impl From<GrantRow> for Grant {
    fn from(r: GrantRow) -> Self {
        Grant {
            id: r.id,
            client_id: r.client_id,
            user_id: r.user_id,
            customer_id: r.customer_id,
            scope: r.scope,
            auth_time: r.auth_time,
            created_at: r.created_at,
            expires_at: r.expires_at,
            revoked: r.revoked_at.is_some(),
        }
    }
}

/// Inserts a grant.
pub async fn insert_grant(conn: &mut Conn, grant: &Grant) -> Result<()> {
    sqlx::query(
        "INSERT INTO workspace_grants \
         (id, client_id, user_id, customer_id, scope, auth_time, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&grant.id)
    .bind(&grant.client_id)
    .bind(&grant.user_id)
    .bind(&grant.customer_id)
    .bind(&grant.scope)
    .bind(grant.auth_time)
    .bind(grant.created_at)
    .bind(grant.expires_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// The grant `id`.
pub async fn grant(conn: &mut Conn, id: &str) -> Result<Option<Grant>> {
    let row: Option<GrantRow> = sqlx::query_as(
        "SELECT id, client_id, user_id, customer_id, scope, auth_time, created_at, expires_at, \
         revoked_at FROM workspace_grants WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(Grant::from))
}

/// Keeps a grant until at least `expires_at`.
pub async fn extend_grant(conn: &mut Conn, id: &str, expires_at: i64) -> Result<()> {
    sqlx::query("UPDATE workspace_grants SET expires_at = $1 WHERE id = $2 AND expires_at < $1")
        .bind(expires_at)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Revokes a grant: its access tokens stop being accepted, its refresh tokens stop working.
pub async fn revoke_grant(conn: &mut Conn, id: &str, now: i64) -> Result<()> {
    sqlx::query("UPDATE workspace_grants SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
        .bind(now)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM workspace_refresh_tokens WHERE grant_id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Revokes every grant of `user_id` to `client_id`.
pub async fn revoke_grants_of(
    conn: &mut Conn,
    user_id: &str,
    client_id: &str,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "DELETE FROM workspace_refresh_tokens WHERE grant_id IN \
         (SELECT id FROM workspace_grants WHERE user_id = $1 AND client_id = $2)",
    )
    .bind(user_id)
    .bind(client_id)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE workspace_grants SET revoked_at = $1 \
         WHERE user_id = $2 AND client_id = $3 AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(user_id)
    .bind(client_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Deletes everything of an end user: sessions, consents, grants and what they produced.
pub async fn delete_of_user(conn: &mut Conn, user_id: &str) -> Result<()> {
    for sql in [
        "DELETE FROM workspace_refresh_tokens WHERE grant_id IN \
         (SELECT id FROM workspace_grants WHERE user_id = $1)",
        "DELETE FROM workspace_codes WHERE grant_id IN \
         (SELECT id FROM workspace_grants WHERE user_id = $1)",
        "DELETE FROM workspace_grants WHERE user_id = $1",
        "DELETE FROM workspace_consents WHERE user_id = $1",
        "DELETE FROM workspace_sessions WHERE user_id = $1",
    ] {
        sqlx::query(sql).bind(user_id).execute(&mut *conn).await?;
    }
    Ok(())
}

/// Deletes what expired: grants (with their codes and refresh tokens) past `now`, codes kept
/// for replay detection until `codes_before`, and revocations of tokens that expired.
pub async fn purge(conn: &mut Conn, now: i64, codes_before: i64) -> Result<()> {
    for (sql, at) in [
        (
            "DELETE FROM workspace_refresh_tokens WHERE expires_at < $1",
            now,
        ),
        (
            "DELETE FROM workspace_codes WHERE expires_at < $1",
            codes_before,
        ),
        (
            "DELETE FROM workspace_revoked_tokens WHERE expires_at < $1",
            now,
        ),
        (
            "DELETE FROM workspace_grants WHERE expires_at < $1 AND id NOT IN \
             (SELECT grant_id FROM workspace_codes)",
            now,
        ),
    ] {
        sqlx::query(sql).bind(at).execute(&mut *conn).await?;
    }
    Ok(())
}

#[derive(FromRow)]
struct CodeRow {
    grant_id: String,
    redirect_uri: String,
    nonce: Option<String>,
    code_challenge: Option<String>,
    expires_at: i64,
    used_at: Option<i64>,
}

/// Inserts an authorization code under its hash.
pub async fn insert_code(conn: &mut Conn, code_hash: &str, code: &IssuedCode) -> Result<()> {
    sqlx::query(
        "INSERT INTO workspace_codes \
         (code_hash, grant_id, redirect_uri, nonce, code_challenge, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(code_hash)
    .bind(&code.grant_id)
    .bind(&code.redirect_uri)
    .bind(code.nonce.as_deref())
    .bind(code.code_challenge.as_deref())
    .bind(code.expires_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// The code whose hash is `code_hash`, used or not.
pub async fn code(conn: &mut Conn, code_hash: &str) -> Result<Option<IssuedCode>> {
    let row: Option<CodeRow> = sqlx::query_as(
        "SELECT grant_id, redirect_uri, nonce, code_challenge, expires_at, used_at \
         FROM workspace_codes WHERE code_hash = $1",
    )
    .bind(code_hash)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| IssuedCode {
        grant_id: r.grant_id,
        redirect_uri: r.redirect_uri,
        nonce: r.nonce,
        code_challenge: r.code_challenge,
        expires_at: r.expires_at,
        used: r.used_at.is_some(),
    }))
}

/// Marks a code used; whether this call did (a code is redeemed once, even by racing nodes).
pub async fn spend_code(conn: &mut Conn, code_hash: &str, now: i64) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE workspace_codes SET used_at = $1 WHERE code_hash = $2 AND used_at IS NULL",
    )
    .bind(now)
    .bind(code_hash)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

#[derive(FromRow)]
struct RefreshRow {
    grant_id: String,
    scope: String,
    created_at: i64,
    expires_at: i64,
    used_at: Option<i64>,
}

/// Inserts a refresh token under its hash.
pub async fn insert_refresh(
    conn: &mut Conn,
    token_hash: &str,
    record: &RefreshRecord,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO workspace_refresh_tokens \
         (token_hash, grant_id, scope, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(token_hash)
    .bind(&record.grant_id)
    .bind(&record.scope)
    .bind(record.created_at)
    .bind(record.expires_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// The refresh token whose hash is `token_hash`, spent or not.
pub async fn refresh(conn: &mut Conn, token_hash: &str) -> Result<Option<RefreshRecord>> {
    let row: Option<RefreshRow> = sqlx::query_as(
        "SELECT grant_id, scope, created_at, expires_at, used_at \
         FROM workspace_refresh_tokens WHERE token_hash = $1",
    )
    .bind(token_hash)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| RefreshRecord {
        grant_id: r.grant_id,
        scope: r.scope,
        created_at: r.created_at,
        expires_at: r.expires_at,
        used: r.used_at.is_some(),
    }))
}

/// Marks a refresh token spent; whether this call did.
pub async fn spend_refresh(conn: &mut Conn, token_hash: &str, now: i64) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE workspace_refresh_tokens SET used_at = $1 \
         WHERE token_hash = $2 AND used_at IS NULL",
    )
    .bind(now)
    .bind(token_hash)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Records that the access token `jti` was revoked; kept until it would have expired.
pub async fn revoke_access(conn: &mut Conn, jti: &str, expires_at: i64) -> Result<()> {
    sqlx::query(
        "INSERT INTO workspace_revoked_tokens (jti, expires_at) VALUES ($1, $2) \
         ON CONFLICT (jti) DO NOTHING",
    )
    .bind(jti)
    .bind(expires_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Whether the access token `jti` was revoked.
pub async fn access_revoked(conn: &mut Conn, jti: &str) -> Result<bool> {
    let found: Option<(String,)> =
        sqlx::query_as("SELECT jti FROM workspace_revoked_tokens WHERE jti = $1")
            .bind(jti)
            .fetch_optional(conn)
            .await?;
    Ok(found.is_some())
}

/// The scopes `user_id` consented to for `client_id`.
pub async fn consent(conn: &mut Conn, user_id: &str, client_id: &str) -> Result<Option<String>> {
    let found: Option<(String,)> = sqlx::query_as(
        "SELECT scopes FROM workspace_consents WHERE user_id = $1 AND client_id = $2",
    )
    .bind(user_id)
    .bind(client_id)
    .fetch_optional(conn)
    .await?;
    Ok(found.map(|(s,)| s))
}

/// Records that `user_id` consented to `scopes` for `client_id`.
pub async fn save_consent(
    conn: &mut Conn,
    user_id: &str,
    client_id: &str,
    scopes: &str,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO workspace_consents (user_id, client_id, scopes, granted_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (user_id, client_id) \
         DO UPDATE SET scopes = excluded.scopes, granted_at = excluded.granted_at",
    )
    .bind(user_id)
    .bind(client_id)
    .bind(scopes)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Every consent of `user_id`.
pub async fn consents_of(conn: &mut Conn, user_id: &str) -> Result<Vec<Consent>> {
    let rows: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT client_id, scopes, granted_at FROM workspace_consents WHERE user_id = $1 \
         ORDER BY client_id",
    )
    .bind(user_id)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(client_id, scopes, granted_at)| Consent {
            client_id,
            scopes: scopes.split_whitespace().map(str::to_owned).collect(),
            granted_at,
        })
        .collect())
}

/// Deletes the consent of `user_id` for `client_id`; whether there was one.
pub async fn delete_consent(conn: &mut Conn, user_id: &str, client_id: &str) -> Result<bool> {
    let done = sqlx::query("DELETE FROM workspace_consents WHERE user_id = $1 AND client_id = $2")
        .bind(user_id)
        .bind(client_id)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() > 0)
}
