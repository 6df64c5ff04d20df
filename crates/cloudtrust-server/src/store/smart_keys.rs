//! Smart Tools API keys.

use sqlx::FromRow;

use super::Conn;
use crate::domain::smart_keys::SmartKey;
use crate::error::Result;

#[derive(FromRow)]
struct SmartKeyRow {
    api_key: String,
    administrator_id: String,
    secret_hash: String,
    created_at: i64,
}

impl SmartKeyRow {
    fn split(self) -> (SmartKey, String) {
        (
            SmartKey {
                api_key: self.api_key,
                administrator_id: self.administrator_id,
                created_at: self.created_at,
            },
            self.secret_hash,
        )
    }
}

/// Inserts a key with the hash of its secret.
pub async fn insert(conn: &mut Conn, key: &SmartKey, secret_hash: &str) -> Result<()> {
    sqlx::query(
        "INSERT INTO smart_keys (api_key, administrator_id, secret_hash, created_at) \
         VALUES ($1, $2, $3, $4)",
    )
    .bind(&key.api_key)
    .bind(&key.administrator_id)
    .bind(secret_hash)
    .bind(key.created_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// The key `api_key` with its secret hash.
pub async fn get(conn: &mut Conn, api_key: &str) -> Result<Option<(SmartKey, String)>> {
    let row: Option<SmartKeyRow> = sqlx::query_as(
        "SELECT api_key, administrator_id, secret_hash, created_at FROM smart_keys \
         WHERE api_key = $1",
    )
    .bind(api_key)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(SmartKeyRow::split))
}

/// The keys of an administrator, oldest first.
pub async fn of_administrator(conn: &mut Conn, administrator_id: &str) -> Result<Vec<SmartKey>> {
    let rows: Vec<SmartKeyRow> = sqlx::query_as(
        "SELECT api_key, administrator_id, secret_hash, created_at FROM smart_keys \
         WHERE administrator_id = $1 ORDER BY created_at, api_key",
    )
    .bind(administrator_id)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|r| r.split().0).collect())
}

/// Deletes a key.
pub async fn delete(conn: &mut Conn, api_key: &str) -> Result<bool> {
    let done = sqlx::query("DELETE FROM smart_keys WHERE api_key = $1")
        .bind(api_key)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}
