//! Whole tables, read and written row by row for `cloudtrust export` and `import`.
//!
//! The columns are read from the database's own catalog, so a column a migration adds is
//! carried without a change here; every column of the schema is text or a 64-bit integer
//! (`migrations/*/0001_init.sql`), which JSON carries unchanged between SQLite and PostgreSQL.

use futures_util::TryStreamExt;
use serde_json::{Map, Value};
use sqlx::Row;
use sqlx::any::AnyArguments;
use sqlx::query::Query;

use super::{Backend, Conn};
use crate::error::{Error, Result};

/// A row as JSON: column name → string, integer or `null`.
pub type RowMap = Map<String, Value>;

/// The portable type of a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// `TEXT`.
    Text,
    /// `BIGINT` (or SQLite's `INTEGER`).
    Integer,
}

/// A column of a table, as the database describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// Its name.
    pub name: String,
    /// Its type.
    pub kind: ColumnType,
}

/// Every table of the database (migration bookkeeping aside).
pub async fn tables(conn: &mut Conn, backend: Backend) -> Result<Vec<String>> {
    let sql = match backend {
        Backend::Sqlite => {
            "SELECT name FROM sqlite_master WHERE type = 'table' \
             AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_sqlx_%' ORDER BY name"
        }
        Backend::Postgres => {
            "SELECT table_name::text AS name FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' \
             AND table_name NOT LIKE '\\_sqlx\\_%' ORDER BY table_name"
        }
    };
    let rows = sqlx::query(sql).fetch_all(conn).await?;
    rows.iter()
        .map(|row| Ok(row.try_get::<String, _>("name")?))
        .collect()
}

/// The columns of `table`, in their order.
pub async fn columns(conn: &mut Conn, backend: Backend, table: &str) -> Result<Vec<Column>> {
    let sql = match backend {
        Backend::Sqlite => "SELECT name, type AS kind FROM pragma_table_info($1) ORDER BY cid",
        Backend::Postgres => {
            "SELECT column_name::text AS name, data_type::text AS kind \
             FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position"
        }
    };
    let rows = sqlx::query(sql).bind(table).fetch_all(conn).await?;
    rows.iter()
        .map(|row| {
            let name: String = row.try_get("name")?;
            let kind: String = row.try_get("kind")?;
            let kind = match kind.to_ascii_lowercase().as_str() {
                "text" => ColumnType::Text,
                "bigint" | "integer" => ColumnType::Integer,
                other => {
                    return Err(Error::internal(format!(
                        "{table}.{name} is of type {other}, which export does not carry"
                    )));
                }
            };
            Ok(Column { name, kind })
        })
        .collect()
}

/// How many rows `table` has.
pub async fn count(conn: &mut Conn, table: &'static str) -> Result<i64> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT COUNT(*) AS n FROM {table}"
    )))
    .fetch_one(conn)
    .await?;
    Ok(row.try_get("n")?)
}

/// Calls `each` with every row of `table`, in the order of its first column (text in byte
/// order, on either database), streaming: a table of a million rows is never held whole.
pub async fn each_row(
    conn: &mut Conn,
    backend: Backend,
    table: &'static str,
    columns: &[Column],
    mut each: impl FnMut(RowMap) -> Result<()>,
) -> Result<()> {
    let names = columns
        .iter()
        .map(|c| c.name.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let order = match columns.first() {
        Some(Column {
            name,
            kind: ColumnType::Text,
        }) if backend == Backend::Postgres => format!("{name} COLLATE \"C\""),
        Some(column) => column.name.clone(),
        None => "1".to_owned(),
    };
    let sql = format!("SELECT {names} FROM {table} ORDER BY {order}");
    let mut rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch(conn);
    while let Some(row) = rows.try_next().await? {
        let mut map = RowMap::new();
        for (i, column) in columns.iter().enumerate() {
            let value = match column.kind {
                ColumnType::Text => row.try_get::<Option<String>, _>(i)?.map(Value::from),
                ColumnType::Integer => row.try_get::<Option<i64>, _>(i)?.map(Value::from),
            };
            map.insert(column.name.clone(), value.unwrap_or(Value::Null));
        }
        each(map)?;
    }
    Ok(())
}

/// Inserts `rows` into `table`, whose columns are `columns`, in as few statements as the
/// databases' limit on parameters allows. A row naming a column the table lacks, or holding a
/// value of the wrong type, fails the whole insert; a column the row omits is `NULL`.
pub async fn insert(
    conn: &mut Conn,
    table: &'static str,
    columns: &[Column],
    rows: &[RowMap],
) -> Result<()> {
    for row in rows {
        if let Some(unknown) = row.keys().find(|k| !columns.iter().any(|c| &c.name == *k)) {
            return Err(Error::invalid(
                "import",
                format!("{table} has no column {unknown:?}"),
            ));
        }
    }
    // SQLite allows 32,766 parameters in a statement and PostgreSQL 65,535.
    let per_statement = (30_000 / columns.len().max(1)).max(1);
    for chunk in rows.chunks(per_statement) {
        let sql = insert_sql(table, columns, chunk.len());
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for row in chunk {
            for column in columns {
                query = bind(query, table, column, row.get(&column.name))?;
            }
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

fn insert_sql(table: &str, columns: &[Column], rows: usize) -> String {
    let names = columns
        .iter()
        .map(|c| c.name.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let mut sql = format!("INSERT INTO {table} ({names}) VALUES ");
    let mut n = 0;
    for r in 0..rows {
        if r > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for c in 0..columns.len() {
            if c > 0 {
                sql.push_str(", ");
            }
            n += 1;
            sql.push_str(&format!("${n}"));
        }
        sql.push(')');
    }
    sql
}

fn bind<'q>(
    query: Query<'q, sqlx::Any, AnyArguments>,
    table: &str,
    column: &Column,
    value: Option<&Value>,
) -> Result<Query<'q, sqlx::Any, AnyArguments>> {
    let wrong = |expected: &str| {
        Error::invalid(
            "import",
            format!("{table}.{}: expected {expected}", column.name),
        )
    };
    Ok(match (column.kind, value) {
        (ColumnType::Text, None | Some(Value::Null)) => query.bind(None::<String>),
        (ColumnType::Integer, None | Some(Value::Null)) => query.bind(None::<i64>),
        (ColumnType::Text, Some(Value::String(s))) => query.bind(s.clone()),
        (ColumnType::Integer, Some(Value::Number(n))) => {
            query.bind(n.as_i64().ok_or_else(|| wrong("a 64-bit integer"))?)
        }
        (ColumnType::Text, Some(_)) => return Err(wrong("a string")),
        (ColumnType::Integer, Some(_)) => return Err(wrong("an integer")),
    })
}
