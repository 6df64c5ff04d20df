//! Messages to people (invitations): written as RFC 5322 files into a mail drop folder that a
//! mail transfer agent or a test can pick up, or, with no folder configured, not sent at all
//! (the command line prints invitation links itself).

use std::fs;
use std::io::Write;
use std::path::PathBuf;

use crate::domain::directory::Invitation;
use crate::http::invitations::INVITATIONS_PATH;

/// Where messages go.
#[derive(Debug, Clone)]
pub struct Notifier {
    mail_dir: Option<PathBuf>,
}

impl Notifier {
    /// A notifier writing into `mail_dir`, or sending nothing without one.
    pub fn new(mail_dir: Option<PathBuf>) -> Self {
        Notifier { mail_dir }
    }

    /// The link that accepts `invitation`, under the public base URL.
    pub fn invitation_link(invitation: &Invitation, base_url: &str) -> String {
        format!("{base_url}{INVITATIONS_PATH}/{}", invitation.token)
    }

    /// Sends the invitation link to the invited administrator. Failures are logged: the
    /// invitation exists either way, and can be withdrawn and made again.
    pub fn invitation(&self, invitation: &Invitation, base_url: &str) {
        let admin = &invitation.administrator;
        let Some(dir) = &self.mail_dir else {
            tracing::info!(
                administrator = %admin.id,
                "invitation created; no mail_dir is configured, so it was not sent"
            );
            return;
        };
        let body = format!(
            "To: {email}\r\nSubject: You are invited to administer {customer} on cloudtrust\r\n\
             Content-Type: text/plain; charset=utf-8\r\n\r\n\
             You are invited to administer the customer {customer} as {email}.\r\n\r\n\
             Accept the invitation here:\r\n{link}\r\n",
            email = admin.email,
            customer = admin.customer_id,
            link = Self::invitation_link(invitation, base_url),
        );
        let path = dir.join(format!("invitation-{}.eml", admin.id));
        let written = fs::create_dir_all(dir).and_then(|()| {
            let mut options = fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                options.mode(0o600);
            }
            options.open(&path)?.write_all(body.as_bytes())
        });
        match written {
            Ok(()) => {
                tracing::info!(administrator = %admin.id, "invitation written to the mail drop")
            }
            Err(e) => {
                tracing::warn!(administrator = %admin.id, error = %e, "writing the invitation failed")
            }
        }
    }
}
