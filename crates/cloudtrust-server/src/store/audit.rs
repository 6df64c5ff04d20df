//! Audit events: the system log.

use sqlx::FromRow;

use super::Conn;
use crate::domain::audit::{Actor, ActorType, AuditEvent};
use crate::error::{Error, Result};

/// Appends an event.
pub async fn insert(conn: &mut Conn, event: &AuditEvent) -> Result<()> {
    sqlx::query(
        "INSERT INTO audit_events (id, at, customer_id, event_type, actor_type, actor_id, \
         actor_display_name, target_type, target_id, target_display_name, before_changes, \
         after_changes, message) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(&event.id)
    .bind(event.at)
    .bind(&event.customer_id)
    .bind(&event.event_type)
    .bind(event.actor.actor_type.as_str())
    .bind(&event.actor.id)
    .bind(&event.actor.display_name)
    .bind(&event.target_type)
    .bind(&event.target_id)
    .bind(&event.target_display_name)
    .bind(event.before_changes.as_ref().map(|v| v.to_string()))
    .bind(event.after_changes.as_ref().map(|v| v.to_string()))
    .bind(&event.message)
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(FromRow)]
struct EventRow {
    id: String,
    at: i64,
    customer_id: Option<String>,
    event_type: String,
    actor_type: String,
    actor_id: Option<String>,
    actor_display_name: String,
    target_type: Option<String>,
    target_id: Option<String>,
    target_display_name: Option<String>,
    before_changes: Option<String>,
    after_changes: Option<String>,
    message: String,
}

fn json_column(text: Option<String>) -> Result<Option<serde_json::Value>> {
    text.map(|t| {
        serde_json::from_str(&t).map_err(|e| Error::internal(format!("stored audit JSON: {e}")))
    })
    .transpose()
}

impl TryFrom<EventRow> for AuditEvent {
    type Error = Error;
    fn try_from(row: EventRow) -> Result<AuditEvent> {
        let actor_type = match row.actor_type.as_str() {
            "administrator" => ActorType::Administrator,
            "service" => ActorType::Service,
            _ => ActorType::System,
        };
        Ok(AuditEvent {
            id: row.id,
            at: row.at,
            customer_id: row.customer_id,
            event_type: row.event_type,
            actor: Actor {
                actor_type,
                id: row.actor_id,
                display_name: row.actor_display_name,
                access: None,
            },
            target_type: row.target_type,
            target_id: row.target_id,
            target_display_name: row.target_display_name,
            before_changes: json_column(row.before_changes)?,
            after_changes: json_column(row.after_changes)?,
            message: row.message,
        })
    }
}

/// Up to `limit` events of `customer_id` between `from` and `to` (unix seconds, inclusive),
/// newest first, older than the key `before` (`(at, id)` of the last one seen).
pub async fn page(
    conn: &mut Conn,
    customer_id: &str,
    (from, to): (i64, i64),
    before: Option<(i64, &str)>,
    limit: i64,
) -> Result<Vec<AuditEvent>> {
    // Without a key, everything up to `to` inclusive qualifies.
    let (before_at, before_id) = before.unwrap_or((to.saturating_add(1), ""));
    let rows: Vec<EventRow> = sqlx::query_as(
        "SELECT id, at, customer_id, event_type, actor_type, actor_id, actor_display_name, \
         target_type, target_id, target_display_name, before_changes, after_changes, message \
         FROM audit_events WHERE customer_id = $1 AND at >= $2 AND at <= $3 \
         AND (at < $4 OR (at = $4 AND id < $5)) ORDER BY at DESC, id DESC LIMIT $6",
    )
    .bind(customer_id)
    .bind(from)
    .bind(to)
    .bind(before_at)
    .bind(before_id)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.into_iter().map(AuditEvent::try_from).collect()
}

/// How many events of `customer_id` lie between `from` and `to` (inclusive).
pub async fn count(conn: &mut Conn, customer_id: &str, (from, to): (i64, i64)) -> Result<i64> {
    let (count,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM audit_events WHERE customer_id = $1 AND at >= $2 AND at <= $3",
    )
    .bind(customer_id)
    .bind(from)
    .bind(to)
    .fetch_one(conn)
    .await?;
    Ok(count)
}

/// Deletes events older than `before`; returns how many. Idempotent, so several nodes may
/// run it at once.
pub async fn purge(conn: &mut Conn, before: i64) -> Result<u64> {
    let done = sqlx::query("DELETE FROM audit_events WHERE at < $1")
        .bind(before)
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}

/// The event types recorded for `customer_id`, oldest first (for checks and reports).
pub async fn event_types(conn: &mut Conn, customer_id: &str) -> Result<Vec<(String, String)>> {
    Ok(sqlx::query_as(
        "SELECT event_type, COALESCE(target_id, '') FROM audit_events WHERE customer_id = $1 \
         ORDER BY at, id",
    )
    .bind(customer_id)
    .fetch_all(conn)
    .await?)
}
