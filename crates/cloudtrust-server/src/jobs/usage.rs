//! Writes token usage gathered on the hot path, in batches.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::pause;
use crate::store::Store;
use crate::usage::UsageRecorder;

/// Writes pending usage every `every` until cancelled (what is left is written when the
/// server stops).
pub async fn flush_usage(
    usage: Arc<UsageRecorder>,
    store: Store,
    every: Duration,
    cancel: CancellationToken,
) {
    while pause(every, &cancel).await {
        if let Err(e) = usage.flush(&store).await {
            tracing::warn!(error = %e, "writing token usage failed; will retry");
        }
    }
}
