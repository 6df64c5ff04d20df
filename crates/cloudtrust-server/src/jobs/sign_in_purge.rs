//! Deletes what Workspace sign-in no longer needs (ended sessions, expired pending sign-ins,
//! grants whose last token expired, codes past their replay memory), at start and then every
//! minute, so that no request pays for it.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::pause;
use crate::domain::workspace_sign_in::WorkspaceSignIn;

/// How often the purge runs.
const PURGE_EVERY: Duration = Duration::from_secs(60);

/// Purges now and every minute until cancelled.
pub async fn purge_sign_in(sign_in: WorkspaceSignIn, cancel: CancellationToken) {
    loop {
        if let Err(e) = sign_in.purge().await {
            tracing::warn!(error = %e, "deleting expired Workspace sign-in records failed");
        }
        if !pause(PURGE_EVERY, &cancel).await {
            return;
        }
    }
}
