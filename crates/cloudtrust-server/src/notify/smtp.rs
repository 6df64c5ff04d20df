//! Sending by SMTP: one background task drains a bounded queue, one message at a time, each
//! within a time limit, so a slow or unreachable server costs bounded memory and never holds a
//! request up.

use std::time::Duration;

use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use tokio::sync::mpsc;

use super::message::Outgoing;
use crate::error::{Error, Result};

/// How many messages may wait for the SMTP server at once, besides the one being sent. A
/// message made when the queue is full is not sent (an invitation can be withdrawn and made
/// again), so a slow or unreachable server costs a bounded amount of memory.
pub(super) const SMTP_QUEUE: usize = 64;

/// The longest wait for a TCP connection to the SMTP server.
const SMTP_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The longest time one message may take, from connecting to the server's last reply: a server
/// that accepts connections but never answers holds the queue up for no longer than this.
pub(super) const SMTP_SEND_TIMEOUT: Duration = Duration::from_secs(30);

/// What became of a message handed to the SMTP queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Queued {
    /// It waits for the sending task.
    Accepted,
    /// The queue was full or closed, so it is not sent.
    Dropped,
}

/// The sending side of the SMTP queue.
#[derive(Clone)]
pub(super) struct SmtpQueue {
    sender: mpsc::Sender<Outgoing>,
    pub(super) transport: AsyncSmtpTransport<Tokio1Executor>,
    pub(super) send_timeout: Duration,
}

impl SmtpQueue {
    /// Starts the task that drains the queue; it ends when the last [`Notifier`] is dropped.
    pub(super) fn start(
        transport: AsyncSmtpTransport<Tokio1Executor>,
        capacity: usize,
        send_timeout: Duration,
    ) -> Result<SmtpQueue> {
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| Error::internal("sending mail by SMTP needs a Tokio runtime"))?;
        let (sender, mut receiver) = mpsc::channel::<Outgoing>(capacity);
        let worker = transport.clone();
        runtime.spawn(async move {
            // One message at a time: messages to people are rare, and one connection at a time
            // keeps what a slow server can hold up to the queue's bound.
            while let Some(outgoing) = receiver.recv().await {
                send(&worker, send_timeout, outgoing).await;
            }
        });
        Ok(SmtpQueue {
            sender,
            transport,
            send_timeout,
        })
    }

    pub(super) fn enqueue(&self, outgoing: Outgoing) -> Queued {
        match self.sender.try_send(outgoing) {
            Ok(()) => Queued::Accepted,
            Err(mpsc::error::TrySendError::Full(outgoing)) => {
                tracing::warn!(
                    about = %outgoing.about,
                    "too many messages are waiting for the SMTP server; this {} is not sent",
                    outgoing.what
                );
                Queued::Dropped
            }
            Err(mpsc::error::TrySendError::Closed(outgoing)) => {
                tracing::warn!(
                    about = %outgoing.about,
                    "the SMTP sending task has stopped; this {} is not sent",
                    outgoing.what
                );
                Queued::Dropped
            }
        }
    }
}

/// Sends one message, within `limit`, and logs the outcome.
pub(super) async fn send(
    transport: &AsyncSmtpTransport<Tokio1Executor>,
    limit: Duration,
    out: Outgoing,
) {
    let (about, what) = (out.about, out.what);
    match tokio::time::timeout(limit, transport.send(out.message)).await {
        Ok(Ok(_)) => tracing::info!(%about, "{what} sent by SMTP"),
        Ok(Err(e)) => tracing::warn!(
            %about,
            error = %smtp_failure(&e),
            "sending the {what} by SMTP failed"
        ),
        Err(_) => tracing::warn!(
            %about,
            timeout_secs = limit.as_secs_f64(),
            "sending the {what} by SMTP timed out"
        ),
    }
}

/// What went wrong, without the server's reply text: a refusal may quote the recipient or
/// other message content back, and only `about` identifies a message in logs.
fn smtp_failure(e: &lettre::transport::smtp::Error) -> String {
    match e.status() {
        Some(code) if e.is_permanent() => format!("the server refused it permanently ({code})"),
        Some(code) => format!("the server refused it for now ({code})"),
        None if e.is_response() => "the server's reply could not be read".to_owned(),
        None => e.to_string(),
    }
}

/// The transport `url` asks for, with the connection time limit.
pub(super) fn smtp_transport(url: &str) -> Result<AsyncSmtpTransport<Tokio1Executor>> {
    // lettre's errors about a URL name the part that is wrong, never the URL or its password.
    let builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
        .map_err(|e| Error::invalid("smtp_url", e.to_string()))?;
    Ok(builder.timeout(Some(SMTP_CONNECT_TIMEOUT)).build())
}
