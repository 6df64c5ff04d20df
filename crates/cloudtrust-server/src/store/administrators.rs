//! Administrators and their permissions.

use std::collections::{BTreeSet, HashMap};

use sqlx::FromRow;

use super::Conn;
use crate::domain::administrators::Administrator;
use crate::domain::permissions::{Access, AccessType};
use crate::error::Result;

#[derive(FromRow)]
struct AdministratorRow {
    id: String,
    customer_id: String,
    email: String,
    display_name: String,
    access_type: String,
    permission_generation: i64,
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
        access,
        permission_generation: row.permission_generation,
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

/// Inserts an administrator with its permissions.
pub async fn insert(conn: &mut Conn, admin: &Administrator) -> Result<()> {
    sqlx::query(
        "INSERT INTO administrators (id, customer_id, email, display_name, access_type, \
         permission_generation, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&admin.id)
    .bind(&admin.customer_id)
    .bind(&admin.email)
    .bind(&admin.display_name)
    .bind(admin.access.access_type().as_str())
    .bind(admin.permission_generation)
    .bind(admin.created_at)
    .bind(admin.updated_at)
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

/// Replaces an administrator's access, generation and update time.
pub async fn update_access(conn: &mut Conn, admin: &Administrator) -> Result<()> {
    sqlx::query(
        "UPDATE administrators SET access_type = $1, permission_generation = $2, updated_at = $3 \
         WHERE id = $4",
    )
    .bind(admin.access.access_type().as_str())
    .bind(admin.permission_generation)
    .bind(admin.updated_at)
    .bind(&admin.id)
    .execute(&mut *conn)
    .await?;
    sqlx::query("DELETE FROM administrator_permissions WHERE administrator_id = $1")
        .bind(&admin.id)
        .execute(&mut *conn)
        .await?;
    insert_permissions(conn, admin).await
}

/// The administrator with `id`.
pub async fn get(conn: &mut Conn, id: &str) -> Result<Option<Administrator>> {
    let row: Option<AdministratorRow> =
        sqlx::query_as("SELECT id, customer_id, email, display_name, access_type, permission_generation, created_at, updated_at FROM administrators WHERE id = $1")
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
    let row: Option<AdministratorRow> = sqlx::query_as("SELECT id, customer_id, email, display_name, access_type, permission_generation, created_at, updated_at FROM administrators WHERE customer_id = $1 AND email = $2")
    .bind(customer_id)
    .bind(email)
    .fetch_optional(&mut *conn)
    .await?;
    match row {
        Some(row) => Ok(Some(with_permissions(conn, row).await?)),
        None => Ok(None),
    }
}

/// Every administrator of `customer_id`, by email.
pub async fn of_customer(conn: &mut Conn, customer_id: &str) -> Result<Vec<Administrator>> {
    let rows: Vec<AdministratorRow> = sqlx::query_as("SELECT id, customer_id, email, display_name, access_type, permission_generation, created_at, updated_at FROM administrators WHERE customer_id = $1 ORDER BY email")
    .bind(customer_id)
    .fetch_all(&mut *conn)
    .await?;
    let permissions: Vec<PermissionRow> = sqlx::query_as(
        "SELECT p.administrator_id, p.permission FROM administrator_permissions p \
         JOIN administrators a ON a.id = p.administrator_id WHERE a.customer_id = $1",
    )
    .bind(customer_id)
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

/// How many Full administrators `customer_id` has.
pub async fn count_full(conn: &mut Conn, customer_id: &str) -> Result<i64> {
    let (count,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM administrators WHERE customer_id = $1 AND access_type = 'full'",
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
