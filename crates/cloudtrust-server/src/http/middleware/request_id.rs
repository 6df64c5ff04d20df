//! The per-request transaction id.
//!
//! Clients may send `Citrix-TransactionId`; it is echoed back and used as `X-Cws-TransactionId`,
//! otherwise a fresh id is made. The id is a field of the request's tracing span, so it is in
//! every log line written while the request is handled.

use std::fmt::Write as _;
use std::net::IpAddr;

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, header};
use axum::response::Response;

/// `Citrix-TransactionId`, sent by clients and echoed.
pub static CITRIX_TRANSACTION_ID: HeaderName = HeaderName::from_static("citrix-transactionid");
/// `X-Cws-TransactionId`, on every response.
pub static X_CWS_TRANSACTION_ID: HeaderName = HeaderName::from_static("x-cws-transactionid");

/// The name of the span every request is handled in.
pub const SPAN_NAME: &str = "request";
/// Its target (this module), which [`crate::logging::RequestSpanFields`] recognises it by.
pub const SPAN_TARGET: &str = module_path!();

/// Longest client-supplied transaction id that is echoed.
const MAX_ID_LEN: usize = 128;

/// Whether a client's transaction id is echoed: short, and of letters, digits and `-_.:`.
fn acceptable(value: &HeaderValue) -> bool {
    let bytes = value.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= MAX_ID_LEN
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

/// The path as logged: an invitation link's token is a secret and stays out of the logs.
fn logged_path(path: &str) -> &str {
    if path.starts_with("/invitations/") {
        "/invitations/{token}"
    } else {
        path
    }
}

/// A client address as the log shows it, written without `fmt` when it is IPv4 (every
/// request's span carries one, and the standard library's formatting of four integers cost
/// more than the span's other fields together).
struct AddressText {
    bytes: [u8; 45],
    len: usize,
}

impl AddressText {
    fn of(address: IpAddr) -> Self {
        let mut text = AddressText {
            bytes: [0; 45],
            len: 0,
        };
        match address {
            IpAddr::V4(v4) => {
                for (i, octet) in v4.octets().into_iter().enumerate() {
                    if i > 0 {
                        text.push(b'.');
                    }
                    if octet >= 100 {
                        text.push(b'0' + octet / 100);
                    }
                    if octet >= 10 {
                        text.push(b'0' + octet / 10 % 10);
                    }
                    text.push(b'0' + octet % 10);
                }
            }
            IpAddr::V6(v6) => {
                // At most 45 characters (`ffff:…:255.255.255.255`), so this cannot fail.
                let _ = write!(text, "{v6}");
            }
        }
        text
    }

    fn push(&mut self, byte: u8) {
        if let Some(slot) = self.bytes.get_mut(self.len) {
            *slot = byte;
            self.len += 1;
        }
    }

    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..self.len]).unwrap_or_default()
    }
}

impl std::fmt::Write for AddressText {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        let slot = self.bytes.get_mut(self.len..end).ok_or(std::fmt::Error)?;
        slot.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// The transaction id of a request being handled: the client's, or one made for it. Neither
/// is copied to the heap before it is put on the response.
pub enum Transaction {
    /// The client's `Citrix-TransactionId`, echoed back.
    Echoed(HeaderValue),
    /// A new UUID, as hyphenated lowercase text.
    Made([u8; 36]),
}

/// Gives the request its transaction id (the client's, or a new one) and the span every log
/// line of the request is written in.
pub fn begin<B>(request: &Request<B>, client: IpAddr) -> (Transaction, tracing::Span) {
    let incoming = request
        .headers()
        .get(&CITRIX_TRANSACTION_ID)
        .filter(|value| acceptable(value));
    let mut made = [0; 36];
    let txid = match incoming {
        Some(value) => value.to_str().unwrap_or_default(),
        None => uuid::Uuid::new_v4().hyphenated().encode_lower(&mut made),
    };
    // Strings as `&str`, not `%`: the text format's layer writes them without formatting
    // (crate::logging). The fields are only computed when the span is enabled.
    let span = tracing::info_span!(
        SPAN_NAME,
        txid,
        method = request.method().as_str(),
        path = logged_path(request.uri().path()),
        client = AddressText::of(client).as_str(),
    );
    let transaction = match incoming {
        Some(value) => Transaction::Echoed(value.clone()),
        None => Transaction::Made(made),
    };
    (transaction, span)
}

/// Puts the transaction id on the response; `span` is the request's (from [`begin`]).
pub fn end(transaction: Transaction, span: &tracing::Span, response: &mut Response) {
    // In the span without entering it: entering and leaving cost more than the event, which
    // is rarely enabled.
    tracing::debug!(parent: span, status = response.status().as_u16(), "handled");
    let headers = response.headers_mut();
    match transaction {
        Transaction::Echoed(value) => {
            headers.insert(CITRIX_TRANSACTION_ID.clone(), value.clone());
            headers.insert(X_CWS_TRANSACTION_ID.clone(), value);
        }
        Transaction::Made(text) => {
            if let Ok(value) = HeaderValue::from_bytes(&text) {
                headers.insert(X_CWS_TRANSACTION_ID.clone(), value);
            }
        }
    }
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("X-Cws-TransactionId"),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_written_as_the_standard_library_writes_them() {
        let addresses = [
            "0.0.0.0",
            "9.10.99.100",
            "192.0.2.1",
            "255.255.255.255",
            "::1",
            "2001:db8::17",
            "::ffff:192.0.2.1",
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
        ];
        for address in addresses {
            let ip: IpAddr = address.parse().expect("an address");
            assert_eq!(AddressText::of(ip).as_str(), ip.to_string());
        }
    }
}
