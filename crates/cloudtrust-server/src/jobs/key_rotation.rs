//! Replaces the signing key when it reaches `signing_key_rotation_days`, as `cloudtrust keys
//! rotate` does. Every node runs it: the database lets one node's rotation through, and the
//! others load the new key from the change log.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::pause;
use crate::keys::KeyRing;

/// How often the signing key's age is looked at (in memory; the database only when due).
const CHECK_EVERY: Duration = Duration::from_secs(5);

/// Rotates `keys` whenever the signing key is `max_age_secs` old, the replaced key kept for
/// `keep_secs`, until cancelled.
pub async fn rotate_keys(
    keys: Arc<KeyRing>,
    max_age_secs: i64,
    keep_secs: i64,
    cancel: CancellationToken,
) {
    while pause(CHECK_EVERY, &cancel).await {
        if !keys.signing_key_older_than(max_age_secs) {
            continue;
        }
        match keys.rotate_if_older(max_age_secs, keep_secs).await {
            Ok(Some(key)) => tracing::info!(
                kid = %key.kid,
                "signing key replaced (signing_key_rotation_days)"
            ),
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "replacing the signing key failed"),
        }
    }
}
