//! Messages to people (invitations, reminders that a Workspace OAuth client's secret
//! expires), built as RFC 5322 messages with lettre ([`message`]) and delivered one of three
//! ways, chosen at start ([`Delivery`]):
//!
//! - by SMTP when `smtp_url` is set: in the background, never on the request path, through a
//!   bounded queue drained by one task, each message given a bounded time ([`smtp`]);
//! - otherwise into the mail drop folder `mail_dir`, one `.eml` file per message, for a mail
//!   transfer agent or a developer to pick up ([`mail_drop`]);
//! - otherwise not at all (the command line prints invitation links itself).
//!
//! Neither a message body nor a link is ever logged: links carry the invitation token.

mod mail_drop;
mod message;
mod smtp;

use std::fmt;
use std::path::PathBuf;

use lettre::message::Mailbox;

use crate::config::Config;
use crate::domain::directory::{Invitation, SecretReminder};
use crate::error::{Error, Result};
use mail_drop::write_to_mail_drop;
use message::Outgoing;
use smtp::{SMTP_QUEUE, SMTP_SEND_TIMEOUT, SmtpQueue, send, smtp_transport};

/// Where messages to people go, as the configuration asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// Sent by SMTP; `server` is `smtp_url` without its credentials, fit to print.
    Smtp {
        /// The SMTP URL with any user name and password removed.
        server: String,
    },
    /// Written as `.eml` files into this folder.
    MailDrop(PathBuf),
    /// Not sent.
    Nowhere,
}

impl Delivery {
    /// What `config` asks for: SMTP when `smtp_url` is set (then `mail_dir` is not used, so
    /// messages are not also left in a folder nobody reads), else the mail drop when `mail_dir`
    /// is set, else nothing. A `smtp_url` that is not a URL with a host is an error.
    pub fn of(config: &Config) -> Result<Delivery> {
        if let Some(url) = config.smtp_url() {
            return Ok(Delivery::Smtp {
                server: printable_smtp_url(url)?,
            });
        }
        Ok(match &config.mail_dir {
            Some(dir) => Delivery::MailDrop(dir.clone()),
            None => Delivery::Nowhere,
        })
    }
}

impl fmt::Display for Delivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Delivery::Smtp { server } => write!(f, "sent by SMTP through {server}"),
            Delivery::MailDrop(dir) => write!(f, "written to {}", dir.display()),
            Delivery::Nowhere => f.write_str("not sent (neither smtp_url nor mail_dir is set)"),
        }
    }
}

/// `url` without user name and password, or an error naming the setting (never the URL, which
/// may hold a password).
fn printable_smtp_url(url: &str) -> Result<String> {
    let mut parsed = url::Url::parse(url).map_err(|e| {
        Error::invalid(
            "smtp_url",
            format!("not a URL such as smtp://mail.example.com:587?tls=required ({e})"),
        )
    })?;
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(Error::invalid("smtp_url", "the URL names no host"));
    }
    // Neither call can fail on a URL with a host.
    let _ = parsed.set_username("");
    let _ = parsed.set_password(None);
    Ok(parsed.to_string())
}

/// Where messages go.
#[derive(Clone)]
enum Route {
    Nowhere,
    MailDrop(PathBuf),
    Smtp(SmtpQueue),
}

/// Composes messages to people and delivers them as [`Delivery`] says. Cheap to clone.
#[derive(Clone)]
pub struct Notifier {
    from: Mailbox,
    route: Route,
}

impl fmt::Debug for Notifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let route = match &self.route {
            Route::Nowhere => "nowhere",
            Route::MailDrop(_) => "mail drop",
            Route::Smtp(_) => "SMTP",
        };
        f.debug_struct("Notifier")
            .field("from", &self.from.to_string())
            .field("route", &route)
            .finish()
    }
}

impl Notifier {
    /// A notifier for `config`'s `mail_from`, `smtp_url` and `mail_dir` (see
    /// [`Delivery::of`]). A `mail_from` that is not a mailbox or an unusable `smtp_url` is an
    /// error, so a mistake shows at start rather than at the first invitation. With SMTP, it
    /// starts the sending task, so it must be called within a Tokio runtime.
    pub fn new(config: &Config) -> Result<Notifier> {
        let from = parse_mail_from(&config.mail_from)?;
        let delivery = Delivery::of(config)?;
        if matches!(delivery, Delivery::Smtp { .. }) && config.mail_dir.is_some() {
            tracing::info!("smtp_url is set, so mail_dir is not used");
        }
        tracing::debug!(%delivery, "messages to people");
        let route = match (delivery, config.smtp_url()) {
            (Delivery::Smtp { .. }, Some(url)) => Route::Smtp(SmtpQueue::start(
                smtp_transport(url)?,
                SMTP_QUEUE,
                SMTP_SEND_TIMEOUT,
            )?),
            (Delivery::MailDrop(dir), _) => Route::MailDrop(dir),
            _ => Route::Nowhere,
        };
        Ok(Notifier { from, route })
    }

    /// Sends the invitation link to the invited administrator, without waiting for it: a file
    /// in the mail drop is written at once, a message for SMTP is queued for the background
    /// task. Failures are logged with the administrator id: the invitation exists either way,
    /// and can be withdrawn and made again.
    pub fn invitation(&self, invitation: &Invitation, base_url: &str) {
        if let Some(outgoing) = self.compose_invitation(invitation, base_url) {
            self.hand_over(outgoing);
        }
    }

    /// Sends the invitation link and waits until it is sent or has failed (within the same
    /// time limit as the background task): for the command line, which exits right after.
    pub async fn deliver_invitation(&self, invitation: &Invitation, base_url: &str) {
        let Some(outgoing) = self.compose_invitation(invitation, base_url) else {
            return;
        };
        match &self.route {
            Route::Nowhere => {}
            Route::MailDrop(dir) => write_to_mail_drop(dir, &outgoing),
            Route::Smtp(queue) => send(&queue.transport, queue.send_timeout, outgoing).await,
        }
    }

    /// Tells a Workspace OAuth client's owner contact that its secret expires soon (or has
    /// expired), without waiting for it, as for invitations.
    pub fn secret_reminder(&self, reminder: &SecretReminder) {
        let client = &reminder.client.name;
        if matches!(self.route, Route::Nowhere) {
            tracing::info!(
                %client,
                days_before = reminder.days_before,
                "secret reminder due; neither smtp_url nor mail_dir is configured, so it was not sent"
            );
            return;
        }
        match Outgoing::secret_reminder(&self.from, reminder) {
            Ok(outgoing) => self.hand_over(outgoing),
            Err(reason) => {
                tracing::warn!(%client, %reason, "the secret reminder could not be sent");
            }
        }
    }

    /// Writes `outgoing` to the mail drop or queues it for SMTP.
    fn hand_over(&self, outgoing: Outgoing) {
        match &self.route {
            Route::Nowhere => {}
            Route::MailDrop(dir) => write_to_mail_drop(dir, &outgoing),
            Route::Smtp(queue) => {
                queue.enqueue(outgoing);
            }
        }
    }

    /// The message inviting `invitation`'s administrator, or `None` (logged) when there is
    /// nowhere to send it or it cannot be made.
    fn compose_invitation(&self, invitation: &Invitation, base_url: &str) -> Option<Outgoing> {
        let admin = &invitation.administrator;
        if matches!(self.route, Route::Nowhere) {
            tracing::info!(
                administrator = %admin.id,
                "invitation created; neither smtp_url nor mail_dir is configured, so it was not sent"
            );
            return None;
        }
        match Outgoing::invitation(&self.from, invitation, base_url) {
            Ok(outgoing) => Some(outgoing),
            Err(reason) => {
                tracing::warn!(administrator = %admin.id, %reason, "the invitation could not be sent");
                None
            }
        }
    }
}

fn parse_mail_from(value: &str) -> Result<Mailbox> {
    let invalid = || {
        Error::invalid(
            "mail_from",
            format!(
                "{value:?} is not a mailbox such as `cloudtrust <cloudtrust@example.com>` or \
                 `cloudtrust@example.com`"
            ),
        )
    };
    let mailbox: Mailbox = value.trim().parse().map_err(|_| invalid())?;
    // lettre's parser stops at the end of the first mailbox and ignores what follows, so
    // `a@example.com, b@example.com` would quietly become the first: check that it kept all.
    if !same_mailbox_text(value.trim(), &mailbox) {
        return Err(invalid());
    }
    Ok(mailbox)
}

/// Whether `text` is all of `mailbox` (its address, with or without a display name before
/// it), not a longer text that merely begins with it.
fn same_mailbox_text(text: &str, mailbox: &Mailbox) -> bool {
    let address = mailbox.email.to_string();
    text == address || text.ends_with(&format!("<{address}>"))
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::time::Duration;

    use super::message::{MAX_LINE, invitation_message, is_seven_bit};
    use super::smtp::Queued;
    use super::*;
    use crate::domain::administrators::Administrator;
    use crate::domain::permissions::Access;
    use crate::links::invitation_link;
    use tokio::sync::mpsc::UnboundedReceiver;

    fn invitation(email: &str, customer: &str) -> Invitation {
        Invitation {
            administrator: Administrator {
                id: "0b8e2f4c-3a57-4c1e-9d1a-6f1f5b0c2a11".to_owned(),
                customer_id: customer.to_owned(),
                email: email.to_owned(),
                display_name: "Invitee".to_owned(),
                first_name: None,
                last_name: None,
                pending: true,
                etag: "etag".to_owned(),
                invitation_expires_at: Some(0),
                access: Access::Full,
                permission_generation: 1,
                created_at: 0,
                updated_at: 0,
            },
            token: "t".repeat(43),
            expires_at: 0,
        }
    }

    fn config(smtp_url: Option<&str>, mail_dir: Option<&str>) -> Config {
        Config {
            smtp_url: smtp_url.map(str::to_owned),
            mail_dir: mail_dir.map(PathBuf::from),
            ..Config::default()
        }
    }

    #[test]
    fn mail_from_must_be_exactly_one_mailbox() {
        for good in [
            crate::config::DEFAULT_MAIL_FROM,
            "ops@example.com",
            " \"Cloud Trust\" <ops@example.com> ",
        ] {
            assert!(parse_mail_from(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "cloudtrust",
            "cloudtrust <not an address>",
            "a@example.com, b@example.com",
            "cloudtrust <a@example.com> trailing",
            "a@example.com\r\nBcc: b@example.com",
        ] {
            let error = parse_mail_from(bad).expect_err(bad).to_string();
            assert!(error.starts_with("mail_from: "), "{error}");
        }
    }

    #[test]
    fn smtp_wins_over_the_mail_drop_and_a_blank_url_is_no_url() {
        let both = config(Some("smtp://127.0.0.1:1025"), Some("/var/mail/drop"));
        assert_eq!(
            Delivery::of(&both).expect("valid"),
            Delivery::Smtp {
                server: "smtp://127.0.0.1:1025".to_owned()
            }
        );
        let blank = config(Some("  "), Some("/var/mail/drop"));
        assert_eq!(
            Delivery::of(&blank).expect("valid"),
            Delivery::MailDrop(PathBuf::from("/var/mail/drop"))
        );
        assert_eq!(
            Delivery::of(&config(None, None)).expect("valid"),
            Delivery::Nowhere
        );
    }

    #[tokio::test]
    async fn smtp_urls_are_checked_at_start_and_never_shown_with_credentials() {
        let with_password =
            "smtp://mailer:s3cret%21@mail.example.com:587/ehlo.example?tls=required";
        let shown = Delivery::of(&config(Some(with_password), None))
            .expect("valid")
            .to_string();
        assert_eq!(
            shown,
            "sent by SMTP through smtp://mail.example.com:587/ehlo.example?tls=required"
        );
        Notifier::new(&config(Some(with_password), None)).expect("a usable URL");
        Notifier::new(&config(Some("smtps://mail.example.com"), None)).expect("implicit TLS");
        for bad in [
            "mail.example.com:25",
            "smtp://",
            "http://mailer:s3cret@mail.example.com",
            "smtp://mailer:s3cret@mail.example.com?tls=sometimes",
        ] {
            let error = Notifier::new(&config(Some(bad), None))
                .expect_err(bad)
                .to_string();
            assert!(error.starts_with("smtp_url: "), "{bad}: {error}");
            assert!(!error.contains("s3cret"), "{bad}: {error}");
        }
    }

    #[test]
    fn a_long_link_stays_on_one_line() {
        let from = parse_mail_from(crate::config::DEFAULT_MAIL_FROM).expect("from");
        let base = format!("https://{}.example.com", "a".repeat(60));
        let invitation = invitation("invitee@acme.example", "acme");
        let message = invitation_message(&from, &invitation, &base).expect("message");
        let text = String::from_utf8(message.formatted()).expect("ASCII");
        let link = invitation_link(&invitation, &base);
        assert!(link.len() > 76);
        assert!(text.contains(&format!("\r\n{link}\r\n")), "{text}");
        assert!(
            text.contains("Content-Transfer-Encoding: 7bit\r\n"),
            "{text}"
        );
        assert!(
            text.contains("Content-Type: text/plain; charset=utf-8\r\n"),
            "{text}"
        );
        assert!(text.contains("MIME-Version: 1.0\r\n"), "{text}");
        let id = text
            .lines()
            .find_map(|l| l.strip_prefix("Message-ID: "))
            .expect("Message-ID");
        assert!(id.starts_with('<') && id.ends_with("@localhost>"), "{id}");
    }

    #[test]
    fn text_beyond_seven_bits_is_still_encoded() {
        assert!(is_seven_bit("plain\r\ntext\r\n"));
        assert!(!is_seven_bit("bare\nline feed"));
        assert!(!is_seven_bit("café"));
        assert!(!is_seven_bit(&"x".repeat(MAX_LINE + 1)));
        let from = parse_mail_from("ops@example.com").expect("from");
        let message =
            invitation_message(&from, &invitation("zoë@acme.example", "acme"), "http://x")
                .expect("message");
        let text = String::from_utf8_lossy(&message.formatted()).into_owned();
        assert!(!text.contains("Content-Transfer-Encoding: 7bit"), "{text}");
    }

    #[test]
    fn an_address_lettre_cannot_send_to_makes_no_message() {
        let from = parse_mail_from("ops@example.com").expect("from");
        assert!(invitation_message(&from, &invitation("a@b@c", "acme"), "http://x").is_err());
    }

    #[test]
    fn the_mail_drop_is_written_once_per_administrator_and_privately() {
        let dir = tempfile::tempdir().expect("temp dir");
        let drop = dir.path().join("mail");
        let notifier = Notifier::new(&config(None, drop.to_str())).expect("notifier");
        let invitation = invitation("invitee@acme.example", "acme");
        notifier.invitation(&invitation, "http://127.0.0.1:8080");
        let path = drop.join(format!("invitation-{}.eml", invitation.administrator.id));
        let first = fs::read(&path).expect("written");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).expect("metadata").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        notifier.invitation(&invitation, "http://other.example");
        assert_eq!(
            fs::read(&path).expect("still there"),
            first,
            "never overwritten"
        );
    }

    /// A TCP server that accepts connections and never answers, counting them.
    async fn silent_server() -> (String, UnboundedReceiver<()>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("smtp://{}", listener.local_addr().expect("address"));
        let (accepted, connections) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                held.push(socket);
                let _ = accepted.send(());
            }
        });
        (url, connections)
    }

    /// Whether the silent server accepts a connection within `millis`.
    async fn connection(connections: &mut UnboundedReceiver<()>, millis: u64) -> bool {
        tokio::time::timeout(Duration::from_millis(millis), connections.recv())
            .await
            .is_ok_and(|c| c.is_some())
    }

    #[tokio::test]
    async fn a_silent_server_holds_each_message_for_the_time_limit_and_the_queue_is_bounded() {
        let (url, mut connections) = silent_server().await;
        let queue = SmtpQueue::start(
            smtp_transport(&url).expect("transport"),
            1,
            Duration::from_millis(300),
        )
        .expect("queue");
        let from = parse_mail_from("ops@example.com").expect("from");
        let outgoing = || {
            Outgoing::invitation(&from, &invitation("a@acme.example", "acme"), "http://x")
                .expect("message")
        };
        assert_eq!(queue.enqueue(outgoing()), Queued::Accepted);
        assert!(
            connection(&mut connections, 5000).await,
            "the first message is tried"
        );
        // One message in flight and one waiting is all the queue holds.
        let started = std::time::Instant::now();
        assert_eq!(queue.enqueue(outgoing()), Queued::Accepted);
        assert_eq!(queue.enqueue(outgoing()), Queued::Dropped);
        // The silent server holds the first message until its time limit, then the next one
        // is tried: one connection at a time, none held forever.
        assert!(
            connection(&mut connections, 5000).await,
            "the second message is tried"
        );
        assert!(
            started.elapsed() >= Duration::from_millis(200),
            "the second message waited for the first: {:?}",
            started.elapsed()
        );
        assert!(
            !connection(&mut connections, 600).await,
            "the dropped message is never sent"
        );
    }
}
