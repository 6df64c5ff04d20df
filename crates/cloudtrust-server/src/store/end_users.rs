//! End users of the OpenID Connect server, with their password hashes.

use sqlx::FromRow;

use super::Conn;
use crate::domain::end_users::EndUser;
use crate::error::Result;

const COLUMNS: &str = "id, customer_id, email, given_name, family_name, created_at, updated_at";

#[derive(FromRow)]
struct Row {
    id: String,
    customer_id: String,
    email: String,
    given_name: String,
    family_name: String,
    created_at: i64,
    updated_at: i64,
}

impl From<Row> for EndUser {
    fn from(r: Row) -> Self {
        EndUser {
            id: r.id,
            customer_id: r.customer_id,
            email: r.email,
            given_name: r.given_name,
            family_name: r.family_name,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// Inserts an end user with its password hash; a second one with the same email in the
/// customer is a unique violation.
pub async fn insert(conn: &mut Conn, user: &EndUser, password_hash: &str) -> Result<()> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO end_users ({COLUMNS}, password_hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
    )))
    .bind(&user.id)
    .bind(&user.customer_id)
    .bind(&user.email)
    .bind(&user.given_name)
    .bind(&user.family_name)
    .bind(user.created_at)
    .bind(user.updated_at)
    .bind(password_hash)
    .execute(conn)
    .await?;
    Ok(())
}

/// The end user of `customer_id` whose email is `email` (normalised), with its password hash.
pub async fn by_email(
    conn: &mut Conn,
    customer_id: &str,
    email: &str,
) -> Result<Option<(EndUser, String)>> {
    #[derive(FromRow)]
    struct WithHash {
        #[sqlx(flatten)]
        user: Row,
        password_hash: String,
    }
    let row: Option<WithHash> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS}, password_hash FROM end_users WHERE customer_id = $1 AND email = $2"
    )))
    .bind(customer_id)
    .bind(email)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| (r.user.into(), r.password_hash)))
}

/// The end user `id`.
pub async fn by_id(conn: &mut Conn, id: &str) -> Result<Option<EndUser>> {
    let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM end_users WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(EndUser::from))
}

/// The end users of `customer_id`, by email.
pub async fn of_customer(conn: &mut Conn, customer_id: &str) -> Result<Vec<EndUser>> {
    let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM end_users WHERE customer_id = $1 ORDER BY email"
    )))
    .bind(customer_id)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(EndUser::from).collect())
}

/// Replaces an end user's password hash, and ends its sign-in sessions.
pub async fn set_password(conn: &mut Conn, id: &str, password_hash: &str, now: i64) -> Result<()> {
    sqlx::query("UPDATE end_users SET password_hash = $1, updated_at = $2 WHERE id = $3")
        .bind(password_hash)
        .bind(now)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM workspace_sessions WHERE user_id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Deletes an end user, and with it its sessions, consents, grants and refresh tokens.
pub async fn delete(conn: &mut Conn, id: &str) -> Result<()> {
    super::workspace_grants::delete_of_user(&mut *conn, id).await?;
    sqlx::query("DELETE FROM end_users WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}
