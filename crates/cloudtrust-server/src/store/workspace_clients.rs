//! Workspace OAuth clients, their name numbers, and the reminders sent about their secrets.

use sqlx::FromRow;

use super::Conn;
use crate::domain::workspace_clients::{ClientType, SecretTimes, WorkspaceClient};
use crate::error::{Error, Result};

const COLUMNS: &str = "name, customer_id, client_id, display_name, client_type, redirect_uris, \
     post_logout_redirect_uris, require_user_consent, require_pkce, allow_offline_access, \
     enabled, owner, owner_contact, secret_hash, secret_updated_at, secret_expires_at, \
     old_secret_hash, old_secret_updated_at, old_secret_expires_at, created_at";

#[derive(FromRow)]
struct Row {
    name: String,
    customer_id: String,
    client_id: String,
    display_name: String,
    client_type: String,
    redirect_uris: String,
    post_logout_redirect_uris: String,
    require_user_consent: i64,
    require_pkce: i64,
    allow_offline_access: i64,
    enabled: i64,
    owner: String,
    owner_contact: String,
    secret_hash: Option<String>,
    secret_updated_at: Option<i64>,
    secret_expires_at: Option<i64>,
    old_secret_hash: Option<String>,
    old_secret_updated_at: Option<i64>,
    old_secret_expires_at: Option<i64>,
    created_at: i64,
}

/// A client as stored: with the keyed hashes of its current and old secrets.
#[derive(Debug, Clone)]
pub struct StoredWorkspaceClient {
    /// The client.
    pub client: WorkspaceClient,
    /// Keyed hash of the current secret (private clients).
    pub secret_hash: Option<String>,
    /// Keyed hash of the old secret, while it may still work.
    pub old_secret_hash: Option<String>,
}

fn uris(text: &str) -> Result<Vec<String>> {
    serde_json::from_str(text)
        .map_err(|e| Error::internal(format!("stored redirect URIs are not a JSON list: {e}")))
}

fn times(updated_at: Option<i64>, expires_at: Option<i64>) -> Option<SecretTimes> {
    Some(SecretTimes {
        updated_at: updated_at?,
        expires_at: expires_at?,
    })
}

impl Row {
    fn into_stored(self) -> Result<StoredWorkspaceClient> {
        Ok(StoredWorkspaceClient {
            client: WorkspaceClient {
                name: self.name,
                customer_id: self.customer_id,
                client_id: self.client_id,
                display_name: self.display_name,
                client_type: ClientType::parse(&self.client_type)?,
                redirect_uris: uris(&self.redirect_uris)?,
                post_logout_redirect_uris: uris(&self.post_logout_redirect_uris)?,
                require_user_consent: self.require_user_consent != 0,
                require_pkce: self.require_pkce != 0,
                allow_offline_access: self.allow_offline_access != 0,
                enabled: self.enabled != 0,
                owner: self.owner,
                owner_contact: self.owner_contact,
                secret: times(self.secret_updated_at, self.secret_expires_at),
                old_secret: times(self.old_secret_updated_at, self.old_secret_expires_at),
                created_at: self.created_at,
            },
            secret_hash: self.secret_hash,
            old_secret_hash: self.old_secret_hash,
        })
    }
}

fn json(list: &[String]) -> Result<String> {
    serde_json::to_string(list).map_err(|e| Error::internal(format!("URI list: {e}")))
}

/// Inserts a client.
pub async fn insert(conn: &mut Conn, stored: &StoredWorkspaceClient) -> Result<()> {
    let c = &stored.client;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO workspace_clients ({COLUMNS}) VALUES \
         ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)"
    )))
    .bind(&c.name)
    .bind(&c.customer_id)
    .bind(&c.client_id)
    .bind(&c.display_name)
    .bind(c.client_type.as_str())
    .bind(json(&c.redirect_uris)?)
    .bind(json(&c.post_logout_redirect_uris)?)
    .bind(i64::from(c.require_user_consent))
    .bind(i64::from(c.require_pkce))
    .bind(i64::from(c.allow_offline_access))
    .bind(i64::from(c.enabled))
    .bind(&c.owner)
    .bind(&c.owner_contact)
    .bind(&stored.secret_hash)
    .bind(c.secret.map(|s| s.updated_at))
    .bind(c.secret.map(|s| s.expires_at))
    .bind(&stored.old_secret_hash)
    .bind(c.old_secret.map(|s| s.updated_at))
    .bind(c.old_secret.map(|s| s.expires_at))
    .bind(c.created_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Writes everything that can change of a client (settings, state, secrets).
pub async fn update(conn: &mut Conn, stored: &StoredWorkspaceClient) -> Result<()> {
    let c = &stored.client;
    sqlx::query(
        "UPDATE workspace_clients SET display_name = $1, redirect_uris = $2, \
         post_logout_redirect_uris = $3, require_user_consent = $4, enabled = $5, \
         owner_contact = $6, secret_hash = $7, secret_updated_at = $8, secret_expires_at = $9, \
         old_secret_hash = $10, old_secret_updated_at = $11, old_secret_expires_at = $12 \
         WHERE name = $13",
    )
    .bind(&c.display_name)
    .bind(json(&c.redirect_uris)?)
    .bind(json(&c.post_logout_redirect_uris)?)
    .bind(i64::from(c.require_user_consent))
    .bind(i64::from(c.enabled))
    .bind(&c.owner_contact)
    .bind(&stored.secret_hash)
    .bind(c.secret.map(|s| s.updated_at))
    .bind(c.secret.map(|s| s.expires_at))
    .bind(&stored.old_secret_hash)
    .bind(c.old_secret.map(|s| s.updated_at))
    .bind(c.old_secret.map(|s| s.expires_at))
    .bind(&c.name)
    .execute(conn)
    .await?;
    Ok(())
}

/// The client called `name` of `customer_id`.
pub async fn by_name(
    conn: &mut Conn,
    customer_id: &str,
    name: &str,
) -> Result<Option<StoredWorkspaceClient>> {
    let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM workspace_clients WHERE customer_id = $1 AND name = $2"
    )))
    .bind(customer_id)
    .bind(name)
    .fetch_optional(conn)
    .await?;
    row.map(Row::into_stored).transpose()
}

/// The client whose OAuth 2.0 client id is `client_id`.
pub async fn by_client_id(
    conn: &mut Conn,
    client_id: &str,
) -> Result<Option<StoredWorkspaceClient>> {
    let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM workspace_clients WHERE client_id = $1"
    )))
    .bind(client_id)
    .fetch_optional(conn)
    .await?;
    row.map(Row::into_stored).transpose()
}

/// The clients of `customer_id`, oldest first.
pub async fn of_customer(conn: &mut Conn, customer_id: &str) -> Result<Vec<WorkspaceClient>> {
    let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM workspace_clients WHERE customer_id = $1 \
         ORDER BY created_at, name"
    )))
    .bind(customer_id)
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(|row| row.into_stored().map(|s| s.client))
        .collect()
}

/// Deletes the client called `name` and the record of its reminders.
pub async fn delete(conn: &mut Conn, name: &str) -> Result<()> {
    sqlx::query("DELETE FROM workspace_secret_reminders WHERE client_name = $1")
        .bind(name)
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM workspace_clients WHERE name = $1")
        .bind(name)
        .execute(conn)
        .await?;
    Ok(())
}

/// The next number for a client of `client_type` of `customer_id`: one more than any given
/// before, deleted clients included. Call with the customer locked.
pub async fn next_number(
    conn: &mut Conn,
    customer_id: &str,
    client_type: ClientType,
) -> Result<i64> {
    let last: Option<(i64,)> = sqlx::query_as(
        "SELECT last_number FROM workspace_client_numbers \
         WHERE customer_id = $1 AND client_type = $2",
    )
    .bind(customer_id)
    .bind(client_type.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    let next = last.map_or(1, |(n,)| n + 1);
    sqlx::query(
        "INSERT INTO workspace_client_numbers (customer_id, client_type, last_number) \
         VALUES ($1, $2, $3) \
         ON CONFLICT (customer_id, client_type) DO UPDATE SET last_number = $3",
    )
    .bind(customer_id)
    .bind(client_type.as_str())
    .bind(next)
    .execute(conn)
    .await?;
    Ok(next)
}

/// Clients whose current secret expires between `from` and `until`, soonest first (ties by
/// name, so that every node locks rows in the same order).
pub async fn expiring_between(
    conn: &mut Conn,
    from: i64,
    until: i64,
) -> Result<Vec<StoredWorkspaceClient>> {
    let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM workspace_clients \
         WHERE secret_expires_at >= $1 AND secret_expires_at <= $2 \
         ORDER BY secret_expires_at, name"
    )))
    .bind(from)
    .bind(until)
    .fetch_all(conn)
    .await?;
    rows.into_iter().map(Row::into_stored).collect()
}

/// Records that the reminder `days_before` the expiry of `client_name`'s current secret
/// (keyed hash `secret_hash`, named `secret_id`) is sent: `false` when it already was, by this
/// node or another, or when that secret is no longer the client's current one (a rotation
/// committed meanwhile).
pub async fn claim_reminder(
    conn: &mut Conn,
    client_name: &str,
    secret_hash: &str,
    secret_id: &str,
    days_before: i64,
    now: i64,
) -> Result<bool> {
    let done = sqlx::query(
        "INSERT INTO workspace_secret_reminders (client_name, secret_id, days_before, sent_at) \
         SELECT $1, $2, $3, $4 WHERE EXISTS \
         (SELECT 1 FROM workspace_clients WHERE name = $1 AND secret_hash = $5) \
         ON CONFLICT DO NOTHING",
    )
    .bind(client_name)
    .bind(secret_id)
    .bind(days_before)
    .bind(now)
    .bind(secret_hash)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}
