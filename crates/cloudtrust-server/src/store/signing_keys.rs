//! Signing keys, private halves sealed with the key-encryption key.

use sqlx::FromRow;

use super::Conn;
use crate::error::Result;

/// A stored signing key.
#[derive(Debug, Clone, FromRow)]
pub struct SigningKeyRow {
    /// Key id.
    pub kid: String,
    /// JWS algorithm name.
    pub algorithm: String,
    /// `active` (signs), `previous` (published and accepted until `retire_at`) or `retired`.
    pub status: String,
    /// PKCS#8, sealed with the KEK (AAD: the kid).
    pub encrypted_private_key: String,
    /// The public JWK as JSON.
    pub public_jwk: String,
    /// Creation time, unix seconds.
    pub created_at: i64,
    /// When a `previous` key retires by itself.
    pub retire_at: Option<i64>,
}

/// Every key, oldest first.
pub async fn all(conn: &mut Conn) -> Result<Vec<SigningKeyRow>> {
    Ok(sqlx::query_as(
        "SELECT kid, algorithm, status, encrypted_private_key, public_jwk, created_at, \
         retire_at FROM signing_keys ORDER BY created_at, kid",
    )
    .fetch_all(conn)
    .await?)
}

/// Inserts `row` unless its algorithm already has an active key.
pub async fn insert_if_none_active(conn: &mut Conn, row: &SigningKeyRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO signing_keys \
         (kid, algorithm, status, encrypted_private_key, public_jwk, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
    )
    .bind(&row.kid)
    .bind(&row.algorithm)
    .bind(&row.status)
    .bind(&row.encrypted_private_key)
    .bind(&row.public_jwk)
    .bind(row.created_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Makes the active key of `algorithm` a previous one, retiring at `retire_at`; how many.
pub async fn demote_active(conn: &mut Conn, algorithm: &str, retire_at: i64) -> Result<u64> {
    let done = sqlx::query(
        "UPDATE signing_keys SET status = 'previous', retire_at = $1 \
         WHERE algorithm = $2 AND status = 'active'",
    )
    .bind(retire_at)
    .bind(algorithm)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// Replaces the sealed private key of `kid` (the key-encryption key changed).
pub async fn reseal(conn: &mut Conn, kid: &str, encrypted_private_key: &str) -> Result<()> {
    sqlx::query("UPDATE signing_keys SET encrypted_private_key = $1 WHERE kid = $2")
        .bind(encrypted_private_key)
        .bind(kid)
        .execute(conn)
        .await?;
    Ok(())
}

/// Retires the key `kid` now, unless it is the active one; whether it did.
pub async fn retire(conn: &mut Conn, kid: &str) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE signing_keys SET status = 'retired' WHERE kid = $1 AND status = 'previous'",
    )
    .bind(kid)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}
