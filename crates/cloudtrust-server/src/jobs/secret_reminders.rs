//! Reminds the owner contact of each Workspace OAuth client whose secret expires soon, at each
//! of `workspace_secret_reminder_days` before the expiry and once at it, checking every
//! `workspace_reminder_check_secs`.
//!
//! A reminder is claimed in the database before it is handed to the notifier, so with several
//! nodes, and after a restart, each goes out at most once; one lost to a failed delivery is
//! not tried again (the next threshold's reminder follows).

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::pause;
use crate::clock::Clock;
use crate::domain::Directory;
use crate::notify::Notifier;

/// What the job needs.
#[derive(Debug)]
pub struct SecretReminders {
    /// Where reminders are claimed.
    pub directory: Directory,
    /// Who sends them.
    pub notifier: Arc<Notifier>,
    /// What time it is.
    pub clock: Arc<dyn Clock>,
    /// The thresholds, in days before the expiry.
    pub days: Vec<u64>,
    /// How often to look.
    pub every: Duration,
}

impl SecretReminders {
    /// Looks now and every `every` until cancelled.
    pub async fn run(self, cancel: CancellationToken) {
        loop {
            match self
                .directory
                .claim_secret_reminders(self.clock.now(), &self.days)
                .await
            {
                Ok(due) => {
                    for reminder in &due {
                        self.notifier.secret_reminder(reminder);
                    }
                }
                Err(e) => tracing::warn!(error = %e, "looking for secret reminders failed"),
            }
            if !pause(self.every, &cancel).await {
                return;
            }
        }
    }
}
