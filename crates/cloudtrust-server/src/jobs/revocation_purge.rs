//! Deletes the revocations of bearer tokens that have expired since (an expired token is
//! refused anyway), at start and then every ten minutes.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::pause;
use crate::domain::Directory;

/// How often the purge runs.
const PURGE_EVERY: Duration = Duration::from_secs(600);

/// Purges now and every ten minutes until cancelled.
pub async fn purge_revocations(directory: Directory, cancel: CancellationToken) {
    loop {
        if let Err(e) = directory.purge_revoked_bearer_tokens().await {
            tracing::warn!(error = %e, "deleting expired token revocations failed");
        }
        if !pause(PURGE_EVERY, &cancel).await {
            return;
        }
    }
}
