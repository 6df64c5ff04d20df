//! API clients.

use sqlx::FromRow;

use super::Conn;
use crate::domain::api_clients::ApiClient;
use crate::error::Result;

/// An API client with its stored secret hash.
#[derive(Debug, Clone, FromRow)]
pub struct ApiClientRow {
    /// Client id.
    pub id: String,
    /// Customer.
    pub customer_id: String,
    /// Owner administrator.
    pub owner_id: String,
    /// Name.
    pub name: String,
    /// Keyed hash of the secret (hex).
    pub secret_hash: String,
    /// Creation time.
    pub created_at: i64,
    /// Last token issuance.
    pub last_used_at: Option<i64>,
}

impl From<ApiClientRow> for ApiClient {
    fn from(row: ApiClientRow) -> ApiClient {
        ApiClient {
            id: row.id,
            name: row.name,
            customer_id: row.customer_id,
            owner_id: row.owner_id,
            created_at: row.created_at,
            last_used_at: row.last_used_at,
        }
    }
}

/// Inserts a client with the hash of its secret.
pub async fn insert(conn: &mut Conn, client: &ApiClient, secret_hash: &str) -> Result<()> {
    sqlx::query(
        "INSERT INTO api_clients (id, customer_id, owner_id, name, secret_hash, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&client.id)
    .bind(&client.customer_id)
    .bind(&client.owner_id)
    .bind(&client.name)
    .bind(secret_hash)
    .bind(client.created_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// The client with `id`, with its secret hash.
pub async fn get(conn: &mut Conn, id: &str) -> Result<Option<ApiClientRow>> {
    Ok(
        sqlx::query_as("SELECT id, customer_id, owner_id, name, secret_hash, created_at, last_used_at FROM api_clients WHERE id = $1")
            .bind(id)
            .fetch_optional(conn)
            .await?,
    )
}

/// The clients of `customer_id`, of one owner when `owner_id` is given, oldest first.
pub async fn list(
    conn: &mut Conn,
    customer_id: &str,
    owner_id: Option<&str>,
) -> Result<Vec<ApiClient>> {
    let rows: Vec<ApiClientRow> = match owner_id {
        Some(owner) => sqlx::query_as("SELECT id, customer_id, owner_id, name, secret_hash, created_at, last_used_at FROM api_clients WHERE customer_id = $1 AND owner_id = $2 \
             ORDER BY created_at, id")
        .bind(customer_id)
        .bind(owner)
        .fetch_all(conn)
        .await?,
        None => sqlx::query_as("SELECT id, customer_id, owner_id, name, secret_hash, created_at, last_used_at FROM api_clients WHERE customer_id = $1 ORDER BY created_at, id")
        .bind(customer_id)
        .fetch_all(conn)
        .await?,
    };
    Ok(rows.into_iter().map(ApiClient::from).collect())
}

/// Up to `limit` clients of `owner_id` in `customer_id` created after the key `after`
/// (`(created_at, id)` of the last one seen), oldest first.
pub async fn page(
    conn: &mut Conn,
    customer_id: &str,
    owner_id: &str,
    after: Option<(i64, &str)>,
    limit: i64,
) -> Result<Vec<ApiClient>> {
    let chunk = super::rows_at_once(conn, limit);
    let (mut after_time, mut after_id) =
        after.map_or((i64::MIN, String::new()), |(t, id)| (t, id.to_owned()));
    let mut clients = Vec::new();
    loop {
        let want = chunk.min(limit - clients.len() as i64);
        let rows: Vec<ApiClientRow> = sqlx::query_as(
            "SELECT id, customer_id, owner_id, name, secret_hash, created_at, last_used_at \
             FROM api_clients WHERE customer_id = $1 AND owner_id = $2 \
             AND (created_at, id) > ($3, $4) \
             ORDER BY created_at, id LIMIT $5",
        )
        .bind(customer_id)
        .bind(owner_id)
        .bind(after_time)
        .bind(&after_id)
        .bind(want)
        .fetch_all(&mut *conn)
        .await?;
        let complete = (rows.len() as i64) < want;
        if let Some(last) = rows.last() {
            (after_time, after_id) = (last.created_at, last.id.clone());
        }
        clients.extend(rows.into_iter().map(ApiClient::from));
        if complete || clients.len() as i64 >= limit {
            return Ok(clients);
        }
    }
}

/// Deletes a client.
pub async fn delete(conn: &mut Conn, id: &str) -> Result<bool> {
    let done = sqlx::query("DELETE FROM api_clients WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Records that a client got tokens, up to `at` (never moves the time backwards).
pub async fn touch(conn: &mut Conn, id: &str, at: i64) -> Result<()> {
    sqlx::query(
        "UPDATE api_clients SET last_used_at = $1 \
         WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $1)",
    )
    .bind(at)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}
