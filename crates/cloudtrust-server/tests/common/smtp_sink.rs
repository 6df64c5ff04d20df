//! A minimal SMTP server for tests, on 127.0.0.1:0: it accepts every message and reports what
//! each session delivered (envelope and data), so a test can see what really left by SMTP.

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// What one SMTP session delivered to the sink.
#[derive(Debug)]
pub struct Delivered {
    /// The `MAIL FROM` command as sent.
    pub mail_from: String,
    /// The `RCPT TO` commands as sent.
    pub rcpt_to: Vec<String>,
    /// The message, dot-stuffing undone.
    pub data: Vec<u8>,
}

/// A minimal SMTP server on 127.0.0.1:0 that accepts every message and reports it.
pub async fn smtp_sink() -> (u16, mpsc::UnboundedReceiver<Delivered>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("address").port();
    let (delivered, received) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let delivered = delivered.clone();
            tokio::spawn(async move {
                let _ = smtp_session(socket, delivered).await;
            });
        }
    });
    (port, received)
}

async fn smtp_session(
    socket: tokio::net::TcpStream,
    delivered: mpsc::UnboundedSender<Delivered>,
) -> std::io::Result<()> {
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read);
    write.write_all(b"220 sink.test ESMTP\r\n").await?;
    let (mut mail_from, mut rcpt_to) = (String::new(), Vec::new());
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_owned();
        let verb = command
            .split([' ', ':'])
            .next()
            .unwrap_or_default()
            .to_ascii_uppercase();
        let reply: &[u8] = match verb.as_str() {
            "EHLO" => b"250-sink.test\r\n250 HELP\r\n",
            "HELO" | "RSET" | "NOOP" => b"250 OK\r\n",
            "MAIL" => {
                mail_from = command;
                b"250 OK\r\n"
            }
            "RCPT" => {
                rcpt_to.push(command);
                b"250 OK\r\n"
            }
            "DATA" => {
                write
                    .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                    .await?;
                let mut data = Vec::new();
                loop {
                    line.clear();
                    if lines.read_line(&mut line).await? == 0 {
                        return Ok(());
                    }
                    if line == ".\r\n" {
                        break;
                    }
                    // Undo dot-stuffing (RFC 5321 section 4.5.2).
                    let text = line.strip_prefix('.').unwrap_or(&line);
                    data.extend_from_slice(text.as_bytes());
                }
                let _ = delivered.send(Delivered {
                    mail_from: std::mem::take(&mut mail_from),
                    rcpt_to: std::mem::take(&mut rcpt_to),
                    data,
                });
                b"250 OK queued\r\n"
            }
            "QUIT" => {
                write.write_all(b"221 Bye\r\n").await?;
                return Ok(());
            }
            _ => b"502 Command not implemented\r\n",
        };
        write.write_all(reply).await?;
    }
}
