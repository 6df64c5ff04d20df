//! Administrators and their permissions.

use std::collections::{BTreeSet, HashMap};

use sqlx::FromRow;

use super::Conn;
use crate::domain::administrators::Administrator;
use crate::domain::permissions::{Access, AccessType};
use crate::error::Result;

/// The columns of [`AdministratorRow`], as a literal so queries stay `&'static str`.
macro_rules! columns {
    () => {
        "id, customer_id, email, display_name, first_name, last_name, access_type, \
         permission_generation, pending, etag, invitation_expires_at, created_at, updated_at"
    };
}

#[derive(FromRow)]
struct AdministratorRow {
    id: String,
    customer_id: String,
    email: String,
    display_name: String,
    first_name: Option<String>,
    last_name: Option<String>,
    access_type: String,
    permission_generation: i64,
    pending: i64,
    etag: String,
    invitation_expires_at: Option<i64>,
    created_at: i64,
    updated_at: i64,
}

#[derive(FromRow)]
struct PermissionRow {
    administrator_id: String,
    permission: String,
}

fn assemble(row: AdministratorRow, permissions: BTreeSet<String>) -> Result<Administrator> {
    let access = match AccessType::parse(&row.access_type)? {
        AccessType::Full => Access::Full,
        AccessType::Custom => Access::Custom(permissions),
    };
    Ok(Administrator {
        id: row.id,
        customer_id: row.customer_id,
        email: row.email,
        display_name: row.display_name,
        first_name: row.first_name,
        last_name: row.last_name,
        access,
        permission_generation: row.permission_generation,
        pending: row.pending != 0,
        etag: row.etag,
        invitation_expires_at: row.invitation_expires_at,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

async fn with_permissions(conn: &mut Conn, row: AdministratorRow) -> Result<Administrator> {
    let permissions: Vec<PermissionRow> = sqlx::query_as(
        "SELECT administrator_id, permission FROM administrator_permissions \
         WHERE administrator_id = $1",
    )
    .bind(&row.id)
    .fetch_all(conn)
    .await?;
    assemble(row, permissions.into_iter().map(|p| p.permission).collect())
}

/// Inserts an administrator with its permissions; `invitation_hash` is the hash of a pending
/// administrator's invitation token.
pub async fn insert(
    conn: &mut Conn,
    admin: &Administrator,
    invitation_hash: Option<&str>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO administrators (id, customer_id, email, display_name, first_name, last_name, \
         access_type, permission_generation, pending, etag, created_at, updated_at, \
         invitation_hash, invitation_expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
    )
    .bind(&admin.id)
    .bind(&admin.customer_id)
    .bind(&admin.email)
    .bind(&admin.display_name)
    .bind(&admin.first_name)
    .bind(&admin.last_name)
    .bind(admin.access.access_type().as_str())
    .bind(admin.permission_generation)
    .bind(i64::from(admin.pending))
    .bind(&admin.etag)
    .bind(admin.created_at)
    .bind(admin.updated_at)
    .bind(invitation_hash)
    .bind(admin.invitation_expires_at)
    .execute(&mut *conn)
    .await?;
    insert_permissions(conn, admin).await
}

async fn insert_permissions(conn: &mut Conn, admin: &Administrator) -> Result<()> {
    if let Access::Custom(permissions) = &admin.access {
        for permission in permissions {
            sqlx::query(
                "INSERT INTO administrator_permissions (administrator_id, permission) \
                 VALUES ($1, $2)",
            )
            .bind(&admin.id)
            .bind(permission)
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(())
}

/// Replaces an administrator's access, generation, eTag and update time, provided its eTag is
/// still `expected_etag`; returns whether it was (a concurrent change makes it `false`).
pub async fn update_access(
    conn: &mut Conn,
    admin: &Administrator,
    expected_etag: &str,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE administrators SET access_type = $1, permission_generation = $2, updated_at = $3, \
         etag = $4 WHERE id = $5 AND etag = $6",
    )
    .bind(admin.access.access_type().as_str())
    .bind(admin.permission_generation)
    .bind(admin.updated_at)
    .bind(&admin.etag)
    .bind(&admin.id)
    .bind(expected_etag)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() != 1 {
        return Ok(false);
    }
    sqlx::query("DELETE FROM administrator_permissions WHERE administrator_id = $1")
        .bind(&admin.id)
        .execute(&mut *conn)
        .await?;
    insert_permissions(conn, admin).await?;
    Ok(true)
}

/// Sets an administrator's password hash, and ends every console session that signed in as
/// it (or could still choose it): whoever knew the old password is signed out.
pub async fn set_password(conn: &mut Conn, id: &str, password_hash: &str, at: i64) -> Result<()> {
    sqlx::query("UPDATE administrators SET password_hash = $1, updated_at = $2 WHERE id = $3")
        .bind(password_hash)
        .bind(at)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "DELETE FROM console_sessions WHERE administrator_id = $1 \
         OR ' ' || choices || ' ' LIKE '% ' || $1 || ' %'",
    )
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// The ids and password hashes of the active administrators, of any customer, with this
/// email address and a password.
pub async fn with_password(conn: &mut Conn, email: &str) -> Result<Vec<(String, String)>> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT id, password_hash FROM administrators \
         WHERE email = $1 AND pending = 0 AND password_hash IS NOT NULL ORDER BY customer_id",
    )
    .bind(email)
    .fetch_all(conn)
    .await?;
    Ok(rows)
}

/// Marks a pending administrator as accepted, once: the invitation is cleared in the same
/// statement, so two acceptances of one token cannot both succeed.
pub async fn accept(conn: &mut Conn, id: &str, etag: &str, at: i64) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE administrators SET pending = 0, invitation_hash = NULL, \
         invitation_expires_at = NULL, etag = $1, updated_at = $2 \
         WHERE id = $3 AND pending = 1",
    )
    .bind(etag)
    .bind(at)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The administrator with `id`.
pub async fn get(conn: &mut Conn, id: &str) -> Result<Option<Administrator>> {
    let row: Option<AdministratorRow> = sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " FROM administrators WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    match row {
        Some(row) => Ok(Some(with_permissions(conn, row).await?)),
        None => Ok(None),
    }
}

/// The administrator of `customer_id` with `email` (already normalised).
pub async fn by_email(
    conn: &mut Conn,
    customer_id: &str,
    email: &str,
) -> Result<Option<Administrator>> {
    let row: Option<AdministratorRow> = sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " FROM administrators WHERE customer_id = $1 AND email = $2"
    ))
    .bind(customer_id)
    .bind(email)
    .fetch_optional(&mut *conn)
    .await?;
    match row {
        Some(row) => Ok(Some(with_permissions(conn, row).await?)),
        None => Ok(None),
    }
}

/// The pending administrator whose invitation token hashes to `hash`, with the invitation's
/// expiry.
pub async fn by_invitation(conn: &mut Conn, hash: &str) -> Result<Option<(Administrator, i64)>> {
    let row: Option<(String, Option<i64>)> = sqlx::query_as(
        "SELECT id, invitation_expires_at FROM administrators \
         WHERE invitation_hash = $1 AND pending = 1",
    )
    .bind(hash)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((id, expires)) = row else {
        return Ok(None);
    };
    Ok(get(conn, &id)
        .await?
        .map(|admin| (admin, expires.unwrap_or(0))))
}

/// Every administrator of `customer_id`, by email.
pub async fn of_customer(conn: &mut Conn, customer_id: &str) -> Result<Vec<Administrator>> {
    page(conn, customer_id, None, i64::MAX).await
}

/// Up to `limit` administrators of `customer_id` whose email sorts after `after`, by email,
/// with their permissions: two queries, however long the page.
pub async fn page(
    conn: &mut Conn,
    customer_id: &str,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Administrator>> {
    let after = after.unwrap_or("");
    let rows: Vec<AdministratorRow> = sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " FROM administrators WHERE customer_id = $1 AND email > $2 \
         ORDER BY email LIMIT $3"
    ))
    .bind(customer_id)
    .bind(after)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    let permissions: Vec<PermissionRow> = sqlx::query_as(
        "SELECT administrator_id, permission FROM administrator_permissions \
         WHERE administrator_id IN (SELECT id FROM administrators \
         WHERE customer_id = $1 AND email > $2 ORDER BY email LIMIT $3)",
    )
    .bind(customer_id)
    .bind(after)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    let mut by_admin: HashMap<String, BTreeSet<String>> = HashMap::new();
    for p in permissions {
        by_admin
            .entry(p.administrator_id)
            .or_default()
            .insert(p.permission);
    }
    rows.into_iter()
        .map(|row| {
            let permissions = by_admin.remove(&row.id).unwrap_or_default();
            assemble(row, permissions)
        })
        .collect()
}

/// How many accepted Full administrators `customer_id` has.
pub async fn count_full(conn: &mut Conn, customer_id: &str) -> Result<i64> {
    let (count,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM administrators \
         WHERE customer_id = $1 AND access_type = 'full' AND pending = 0",
    )
    .bind(customer_id)
    .fetch_one(conn)
    .await?;
    Ok(count)
}

/// Deletes an administrator (its permissions and API clients go with it).
pub async fn delete(conn: &mut Conn, id: &str) -> Result<bool> {
    let done = sqlx::query("DELETE FROM administrators WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}
