//! With `throttle_shared`, writes this node's failed attempts to the counts shared by every
//! node each second (see [`crate::throttle::cluster`]).

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::pause;
use crate::store::Store;
use crate::throttle::Throttle;
use crate::throttle::cluster::WINDOW_SECS;

/// Shares failures every second, and prunes counts of past windows once a window, until
/// cancelled.
pub async fn share_failures(throttle: Arc<Throttle>, store: Store, cancel: CancellationToken) {
    if !throttle.is_shared() {
        return;
    }
    let prune_every = u32::try_from(WINDOW_SECS).unwrap_or(60);
    let mut round = 0u32;
    while pause(Duration::from_secs(1), &cancel).await {
        if let Err(e) = throttle.share(&store).await {
            tracing::warn!(error = %e, "sharing failed token requests failed");
        }
        round = (round + 1) % prune_every;
        if round == 1
            && let Err(e) = throttle.prune_shared(&store).await
        {
            tracing::warn!(error = %e, "pruning shared failure counts failed");
        }
    }
}
