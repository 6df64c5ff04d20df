//! The messages: RFC 5322, plain text, lines kept whole where the standard allows.

use lettre::message::header::{ContentTransferEncoding, ContentType, MIME_VERSION_1_0};
use lettre::message::{Body, Mailbox};
use lettre::{Address, Message};

use crate::domain::directory::{Invitation, SecretReminder};
use crate::links::invitation_link;

/// Lines of a 7-bit body may be this long (RFC 5322 section 2.1.1), CRLF excluded.
pub(super) const MAX_LINE: usize = 998;

/// A message ready to be delivered, with what identifies it in logs and in the mail drop:
/// never an address, a link or a secret.
pub(super) struct Outgoing {
    /// What it is, for logs: `invitation` or `secret reminder`.
    pub what: &'static str,
    /// What it is about, for logs: `administrator <id>` or `client <name>`.
    pub about: String,
    /// Its file name in the mail drop, unique per message.
    pub file_name: String,
    /// The message.
    pub message: Message,
}

impl Outgoing {
    /// The invitation of `invitation`'s administrator.
    pub fn invitation(
        from: &Mailbox,
        invitation: &Invitation,
        base_url: &str,
    ) -> Result<Outgoing, String> {
        let id = &invitation.administrator.id;
        Ok(Outgoing {
            what: "invitation",
            about: format!("administrator {id}"),
            file_name: format!("invitation-{id}.eml"),
            message: invitation_message(from, invitation, base_url)?,
        })
    }

    /// The reminder that a Workspace OAuth client's secret expires (or has expired).
    pub fn secret_reminder(from: &Mailbox, reminder: &SecretReminder) -> Result<Outgoing, String> {
        let client = &reminder.client;
        Ok(Outgoing {
            what: "secret reminder",
            about: format!("client {}", client.name),
            file_name: format!(
                "secret-reminder-{}-{}-{}.eml",
                client.name, reminder.secret_id, reminder.days_before
            ),
            message: reminder_message(from, reminder)?,
        })
    }
}

pub(super) fn invitation_message(
    from: &Mailbox,
    invitation: &Invitation,
    base_url: &str,
) -> Result<Message, String> {
    let admin = &invitation.administrator;
    let to: Address = admin
        .email
        .parse()
        .map_err(|_| "the invited address is not one a message can be sent to".to_owned())?;
    let text = format!(
        "You are invited to administer the customer {customer} as {email}.\r\n\r\n\
         Accept the invitation here:\r\n{link}\r\n",
        customer = admin.customer_id,
        email = admin.email,
        link = invitation_link(invitation, base_url),
    );
    let subject = format!(
        "You are invited to administer {} on cloudtrust",
        admin.customer_id
    );
    plain_text(from, to, subject, text)
}

/// The reminder to the client's owner contact.
fn reminder_message(from: &Mailbox, reminder: &SecretReminder) -> Result<Message, String> {
    let client = &reminder.client;
    let to: Address = client
        .owner_contact
        .parse()
        .map_err(|_| "the owner contact is not an address a message can be sent to".to_owned())?;
    let when = utc(reminder.expires_at);
    let (subject, state) = match reminder.days_before {
        0 => (
            format!("The secret of {} has expired", client.display_name),
            format!("expired on {when}"),
        ),
        1 => (
            format!("The secret of {} expires tomorrow", client.display_name),
            format!("expires on {when}, in one day"),
        ),
        days => (
            format!(
                "The secret of {} expires in {days} days",
                client.display_name
            ),
            format!("expires on {when}, in {days} days"),
        ),
    };
    let text = format!(
        "The secret of the Workspace OAuth client {display} ({name}) of the customer \
         {customer} {state}.\r\n\r\n\
         Rotate it in the console (Identity and Access Management, API Access, Workspace API)\r\n\
         or with POST /{customer}/rpclients/{name}/$rotateSecret, then give your application\r\n\
         the new secret. The old one keeps working until it expires.\r\n",
        display = client.display_name,
        name = client.name,
        customer = client.customer_id,
    );
    plain_text(from, to, subject, text)
}

/// Unix seconds as `2026-12-14 10:00 UTC`.
fn utc(unix: i64) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_else(|| unix.to_string())
}

/// A plain-text message from `from` to `to`.
fn plain_text(
    from: &Mailbox,
    to: Address,
    subject: String,
    text: String,
) -> Result<Message, String> {
    Message::builder()
        .message_id(Some(format!(
            "<{}@{}>",
            uuid::Uuid::new_v4(),
            from.email.domain()
        )))
        .date_now()
        .from(from.clone())
        .to(Mailbox::new(None, to))
        .subject(subject)
        // A Content-Type and Content-Transfer-Encoding are MIME headers, which RFC 2045 says
        // go with MIME-Version (lettre adds it only to multipart and single-part bodies).
        .header(MIME_VERSION_1_0)
        .header(ContentType::TEXT_PLAIN)
        .body(body(text))
        .map_err(|e| format!("the message could not be built: {e}"))
}

/// The body, keeping each line whole when RFC 5322 allows it. lettre encodes any line longer
/// than 76 characters as quoted-printable, which cuts the link with `=` soft breaks: a mail
/// client undoes them, but a person copying the link out of a mail-drop file (as the
/// development mode suggests) or a plain-text reader would get a broken link. ASCII lines of
/// up to 998 characters are valid 7-bit content as they are.
fn body(text: String) -> Body {
    if is_seven_bit(&text) {
        Body::dangerous_pre_encoded(text.into_bytes(), ContentTransferEncoding::SevenBit)
    } else {
        Body::new(text)
    }
}

/// ASCII without NUL, CR and LF only as CRLF pairs, lines of at most [`MAX_LINE`] octets.
pub(super) fn is_seven_bit(text: &str) -> bool {
    text.split("\r\n").all(|line| {
        line.len() <= MAX_LINE
            && line
                .bytes()
                .all(|b| b.is_ascii() && b != 0 && b != b'\r' && b != b'\n')
    })
}
