//! Audit events.

use super::Conn;
use crate::domain::audit::AuditEvent;
use crate::error::Result;

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
