//! Deployment-wide settings (name → value).

use sqlx::Row;

use super::Conn;
use crate::error::Result;

/// The value of `name`, if set.
pub async fn get(conn: &mut Conn, name: &str) -> Result<Option<String>> {
    let row = sqlx::query("SELECT value FROM settings WHERE name = $1")
        .bind(name)
        .fetch_optional(conn)
        .await?;
    Ok(match row {
        Some(row) => Some(row.try_get("value")?),
        None => None,
    })
}

/// Sets `name` to `value`, whatever it was.
pub async fn set(conn: &mut Conn, name: &str, value: &str) -> Result<()> {
    sqlx::query(
        "INSERT INTO settings (name, value) VALUES ($1, $2) \
         ON CONFLICT (name) DO UPDATE SET value = excluded.value",
    )
    .bind(name)
    .bind(value)
    .execute(conn)
    .await?;
    Ok(())
}

/// Sets `name` to `value` unless it is already set; returns the value in effect.
pub async fn set_once(conn: &mut Conn, name: &str, value: &str) -> Result<String> {
    sqlx::query("INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT DO NOTHING")
        .bind(name)
        .bind(value)
        .execute(&mut *conn)
        .await?;
    Ok(get(conn, name).await?.unwrap_or_else(|| value.to_owned()))
}
