//! Deletes system-log records older than `audit_retention_days`, at start and then hourly.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::pause;
use crate::clock::Clock;
use crate::domain::Directory;

/// How often old system-log records are deleted.
const PURGE_EVERY: Duration = Duration::from_secs(3600);

/// Purges records older than `keep_days` now and every hour until cancelled.
pub async fn purge_system_log(
    directory: Directory,
    clock: Arc<dyn Clock>,
    keep_days: u64,
    cancel: CancellationToken,
) {
    let keep = i64::try_from(keep_days.saturating_mul(86_400)).unwrap_or(i64::MAX);
    loop {
        let before = clock.now().saturating_sub(keep);
        match directory.purge_system_log(before).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(records = n, "old system-log records deleted"),
            Err(e) => tracing::warn!(error = %e, "deleting old system-log records failed"),
        }
        if !pause(PURGE_EVERY, &cancel).await {
            return;
        }
    }
}
