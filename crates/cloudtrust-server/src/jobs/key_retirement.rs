//! Takes a replaced signing key out of service when its time comes, on every node, without a
//! restart: the key ring is rebuilt when its earliest retirement is due.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::pause;
use crate::keys::KeyRing;

/// How often the time of retirement is looked at.
const CHECK_EVERY: Duration = Duration::from_secs(5);

/// Rebuilds `keys` when a previous key retires, until cancelled.
pub async fn retire_keys(keys: Arc<KeyRing>, cancel: CancellationToken) {
    while pause(CHECK_EVERY, &cancel).await {
        if let Err(e) = keys.reload_if_due().await {
            tracing::warn!(error = %e, "retiring a signing key failed");
        }
    }
}
