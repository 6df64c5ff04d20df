//! Customers.

use sqlx::FromRow;

use super::Conn;
use crate::domain::customers::Customer;
use crate::error::Result;

#[derive(FromRow)]
struct CustomerRow {
    id: String,
    name: String,
    region: String,
    site_id: String,
    // Nullable for rows written by a node that predates Smart Tools.
    company_id: Option<i64>,
    created_at: i64,
}

impl TryFrom<CustomerRow> for Customer {
    type Error = crate::error::Error;
    fn try_from(row: CustomerRow) -> Result<Customer> {
        Ok(Customer {
            id: row.id,
            name: row.name,
            region: row.region.parse()?,
            site_id: row.site_id,
            company_id: row.company_id.unwrap_or_default(),
            created_at: row.created_at,
        })
    }
}

/// Inserts a customer.
pub async fn insert(conn: &mut Conn, customer: &Customer) -> Result<()> {
    sqlx::query(
        "INSERT INTO customers (id, name, region, site_id, company_id, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&customer.id)
    .bind(&customer.name)
    .bind(customer.region.as_str())
    .bind(&customer.site_id)
    .bind(customer.company_id)
    .bind(customer.created_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// The customer with `id`.
pub async fn get(conn: &mut Conn, id: &str) -> Result<Option<Customer>> {
    let row: Option<CustomerRow> = sqlx::query_as(
        "SELECT id, name, region, site_id, company_id, created_at FROM customers WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(conn)
    .await?;
    row.map(Customer::try_from).transpose()
}

/// Every customer, by id.
pub async fn all(conn: &mut Conn) -> Result<Vec<Customer>> {
    let rows: Vec<CustomerRow> = sqlx::query_as(
        "SELECT id, name, region, site_id, company_id, created_at FROM customers ORDER BY id",
    )
    .fetch_all(conn)
    .await?;
    rows.into_iter().map(Customer::try_from).collect()
}

/// Takes the customer's row lock for the rest of the transaction (a write lock on SQLite), so
/// that checks across its administrators, such as "the last Full administrator", cannot race.
pub async fn lock(conn: &mut Conn, id: &str) -> Result<()> {
    sqlx::query("UPDATE customers SET name = name WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}
