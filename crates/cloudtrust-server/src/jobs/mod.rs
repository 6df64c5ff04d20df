//! Background jobs of a running server, each in its own file: writing token usage; purging old
//! system-log records, expired Workspace sign-in records and expired token revocations;
//! sharing failed-attempt counts between nodes; reminding owners of Workspace OAuth client
//! secrets that expire; retiring replaced signing keys and replacing old ones (following
//! changes made elsewhere is [`crate::changes`]). They run until cancelled; stopping the server
//! cancels them and waits for each to finish what it is doing.

mod key_retirement;
mod key_rotation;
mod revocation_purge;
mod secret_reminders;
mod shared_failures;
mod sign_in_purge;
mod system_log;
mod usage;

use std::future::Future;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use key_retirement::retire_keys;
pub use key_rotation::rotate_keys;
pub use revocation_purge::purge_revocations;
pub use secret_reminders::SecretReminders;
pub use shared_failures::share_failures;
pub use sign_in_purge::purge_sign_in;
pub use system_log::purge_system_log;
pub use usage::flush_usage;

/// The jobs of one server, and how to stop them.
#[derive(Debug, Default)]
pub struct Jobs {
    tracker: TaskTracker,
    cancel: CancellationToken,
}

impl Jobs {
    /// No jobs yet.
    pub fn new() -> Self {
        Jobs::default()
    }

    /// The token a job watches to know it must stop.
    pub fn cancellation(&self) -> CancellationToken {
        self.cancel.clone()
    }

    /// Starts a job.
    pub fn spawn(&self, job: impl Future<Output = ()> + Send + 'static) {
        self.tracker.spawn(job);
    }

    /// Cancels every job and waits until all have returned.
    pub async fn stop(&self) {
        self.cancel.cancel();
        self.tracker.close();
        self.tracker.wait().await;
    }
}

/// Waits `every`, or returns `false` at once when `cancel` fires.
pub async fn pause(every: Duration, cancel: &CancellationToken) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(every) => true,
        _ = cancel.cancelled() => false,
    }
}
