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
    /// `active` or `retired`.
    pub status: String,
    /// PKCS#8, sealed with the KEK (AAD: the kid).
    pub encrypted_private_key: String,
    /// The public JWK as JSON.
    pub public_jwk: String,
    /// Creation time, unix seconds.
    pub created_at: i64,
}

/// Every key, oldest first.
pub async fn all(conn: &mut Conn) -> Result<Vec<SigningKeyRow>> {
    Ok(sqlx::query_as(
        "SELECT kid, algorithm, status, encrypted_private_key, public_jwk, created_at \
         FROM signing_keys ORDER BY created_at, kid",
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
