//! The system log: read by those holding the `System Log` permission, purged by age.

use super::Directory;
use crate::domain::audit::{Actor, AuditEvent};
use crate::domain::paging::{Page, PageRequest, split_time_key};
use crate::domain::permissions;
use crate::error::Result;
use crate::store;

impl Directory {
    /// One page of a customer's system log between `from` and `to` (unix seconds, inclusive),
    /// newest first, with an estimate of how many records the range holds. Reading it takes
    /// the `System Log` permission.
    pub async fn read_system_log(
        &self,
        actor: &Actor,
        customer_id: &str,
        range: (i64, i64),
        page: &PageRequest,
    ) -> Result<(Page<AuditEvent>, i64)> {
        actor.require(permissions::SYSTEM_LOG)?;
        let mut conn = self.store.conn().await?;
        let after = page.after()?;
        let before = after.as_deref().map(split_time_key).transpose()?;
        let rows = store::audit::page(&mut conn, customer_id, range, before, page.fetch()).await?;
        let total = store::audit::count(&mut conn, customer_id, range).await?;
        Ok((
            Page::from_rows(rows, page, |e| format!("{}:{}", e.at, e.id)),
            total,
        ))
    }

    /// Deletes system-log records older than `before`; safe to run on several nodes at once.
    pub async fn purge_system_log(&self, before: i64) -> Result<u64> {
        store::audit::purge(&mut *self.store.conn().await?, before).await
    }
}
