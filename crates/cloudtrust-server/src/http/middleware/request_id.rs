//! The per-request transaction id, the request's log span, and what handlers read of the
//! request being handled without a request extension (its client address and how it is
//! served: [`current`]).
//!
//! Clients may send `Citrix-TransactionId`; it is echoed back and used as `X-Cws-TransactionId`,
//! otherwise a fresh id is made. The id is a field of the request's tracing span, so it is in
//! every log line written while the request is handled.
//!
//! The span is made when the request's first log line is written ([`RequestLog`],
//! [`crate::logging::RequestSpans`]), not for every request: most requests write none, and
//! making, entering and closing a span for each cost the token endpoint more than anything
//! else it does besides signing. When `RUST_LOG` filters by span (`[request]=debug`), the
//! filter must see the span before the lines, and it is made at once ([`make_spans_at_once`]).
//!
//! The client address and the serving region reach handlers the same way, through the request
//! lent to the thread while its future is polled, not as request extensions: each extension is
//! a box inserted into the request's map and dropped with it, for every request.

use std::cell::{Cell, OnceCell};
use std::fmt::Write as _;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, Method, Uri, header};
use axum::response::Response;
use tracing::callsite::{DefaultCallsite, Identifier};
use tracing::field::{Field, FieldSet, Value};
use tracing::metadata::Kind;
use tracing::{Dispatch, Level, Metadata, Span};

use crate::regions::Serving;

/// `Citrix-TransactionId`, sent by clients and echoed.
pub static CITRIX_TRANSACTION_ID: HeaderName = HeaderName::from_static("citrix-transactionid");
/// `X-Cws-TransactionId`, on every response.
pub static X_CWS_TRANSACTION_ID: HeaderName = HeaderName::from_static("x-cws-transactionid");

/// The name of the span every request is handled in.
pub const SPAN_NAME: &str = "request";
/// Its target (this module), which [`crate::logging::RequestSpanFields`] recognises it by.
pub const SPAN_TARGET: &str = module_path!();

/// The request span's callsite: what `info_span!` would declare, declared here so that the span
/// can be made through a given dispatcher, from inside the logging of a line.
static REQUEST_CALLSITE: DefaultCallsite = DefaultCallsite::new(&REQUEST_SPAN);
static REQUEST_SPAN: Metadata<'static> = Metadata::new(
    SPAN_NAME,
    SPAN_TARGET,
    Level::INFO,
    Some(file!()),
    Some(line!()),
    Some(module_path!()),
    FieldSet::new(
        &["txid", "method", "path", "client"],
        Identifier(&REQUEST_CALLSITE),
    ),
    Kind::SPAN,
);

/// Whether request spans are made with the request rather than with its first log line.
static SPANS_AT_ONCE: AtomicBool = AtomicBool::new(false);

/// From now on, every request's span is made when the request begins: the log filter reads
/// spans (an `EnvFilter` with span directives), so it must see the span before any line.
pub fn make_spans_at_once() {
    SPANS_AT_ONCE.store(true, Ordering::Relaxed);
}

thread_local! {
    /// The request whose future this thread is polling, if any ([`RequestLog::within`]).
    static CURRENT: Cell<Option<Box<RequestLog>>> = const { Cell::new(None) };
}

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

impl Transaction {
    fn as_str(&self) -> &str {
        match self {
            Transaction::Echoed(value) => value.to_str().unwrap_or_default(),
            Transaction::Made(text) => std::str::from_utf8(text).unwrap_or_default(),
        }
    }
}

/// What a request's log lines say about it (its transaction id, method, path and client), its
/// span once made, and how it is served.
pub struct RequestLog {
    transaction: Transaction,
    method: Method,
    uri: Uri,
    client: IpAddr,
    serving: Arc<Serving>,
    span: OnceCell<Span>,
}

/// Gives the request its transaction id (the client's, or a new one) and what its log lines
/// and handlers are to read: its client address and how it is served.
pub fn begin<B>(request: &Request<B>, client: IpAddr, serving: Arc<Serving>) -> Box<RequestLog> {
    let incoming = request
        .headers()
        .get(&CITRIX_TRANSACTION_ID)
        .filter(|value| acceptable(value));
    let transaction = match incoming {
        Some(value) => Transaction::Echoed(value.clone()),
        None => {
            let mut made = [0; 36];
            uuid::Uuid::new_v4().hyphenated().encode_lower(&mut made);
            Transaction::Made(made)
        }
    };
    let log = Box::new(RequestLog {
        transaction,
        method: request.method().clone(),
        uri: request.uri().clone(),
        client,
        serving,
        span: OnceCell::new(),
    });
    if SPANS_AT_ONCE.load(Ordering::Relaxed) {
        let _ = log.span.set(tracing::dispatcher::get_default(|dispatch| {
            log.make_span(dispatch)
        }));
    }
    log
}

impl RequestLog {
    /// The request's method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The address the request really comes from ([`super::client_address`]).
    pub fn client(&self) -> IpAddr {
        self.client
    }

    /// How the request is served ([`super::region`]).
    pub fn serving(&self) -> &Arc<Serving> {
        &self.serving
    }

    /// Runs `f` (a poll of the request's future) as the request being handled on this thread:
    /// inside its span if it is made, and otherwise where a logged line makes it.
    pub fn within<T>(log: &mut Option<Box<RequestLog>>, f: impl FnOnce() -> T) -> T {
        if let Some(span) = log.as_ref().and_then(|log| log.span.get()) {
            span.with_subscriber(|(id, dispatch)| dispatch.enter(id));
        }
        let previous = CURRENT.replace(log.take());
        let _restore = Restore { log, previous };
        f()
    }

    /// The request's span, made through `dispatch`: the span `info_span!` would make, or a
    /// disabled one if the filter leaves it out.
    fn make_span(&self, dispatch: &Dispatch) -> Span {
        // Registers the callsite with every dispatcher (an `EnvFilter` learns its span
        // directives' callsites so); whether the span is made is this dispatcher's to say: the
        // interest kept is every dispatcher's at once.
        let _ = REQUEST_CALLSITE.interest();
        if !dispatch.enabled(&REQUEST_SPAN) {
            return Span::none();
        }
        let fields = REQUEST_SPAN.fields();
        let mut names = fields.iter();
        let (Some(txid), Some(method), Some(path), Some(client)) =
            (names.next(), names.next(), names.next(), names.next())
        else {
            return Span::none();
        };
        let address = AddressText::of(self.client);
        // Strings as `&str`: the text format's layer writes them without formatting
        // (crate::logging).
        let (txid_value, method_value, path_value, client_value) = (
            self.transaction.as_str(),
            self.method.as_str(),
            logged_path(self.uri.path()),
            address.as_str(),
        );
        let values: [(&Field, Option<&dyn Value>); 4] = [
            (&txid, Some(&txid_value)),
            (&method, Some(&method_value)),
            (&path, Some(&path_value)),
            (&client, Some(&client_value)),
        ];
        Span::new_root_with(&REQUEST_SPAN, &fields.value_set(&values), dispatch)
    }
}

/// Puts the request being handled back where [`RequestLog::within`] took it from, leaving its
/// span.
struct Restore<'a> {
    log: &'a mut Option<Box<RequestLog>>,
    previous: Option<Box<RequestLog>>,
}

impl Drop for Restore<'_> {
    fn drop(&mut self) {
        *self.log = CURRENT.replace(self.previous.take());
        if let Some(span) = self.log.as_ref().and_then(|log| log.span.get()) {
            span.with_subscriber(|(id, dispatch)| dispatch.exit(id));
        }
    }
}

/// Makes and enters, through `dispatch`, the span of the request being handled on this thread,
/// if there is one whose span is not made yet: a line is being logged outside any span.
pub fn make_current_span(dispatch: &Dispatch) {
    let Some(log) = CURRENT.take() else { return };
    if log.span.get().is_none() {
        let span = log.make_span(dispatch);
        span.with_subscriber(|(id, dispatch)| dispatch.enter(id));
        let _ = log.span.set(span);
    }
    CURRENT.set(Some(log));
}

/// What `read` says of the request being handled on this thread, if any: a handler's
/// extractor runs within a poll of the request's future ([`RequestLog::within`]).
pub fn current<T>(read: impl FnOnce(&RequestLog) -> T) -> Option<T> {
    let log = CURRENT.take()?;
    let answer = read(&log);
    CURRENT.set(Some(log));
    Some(answer)
}

/// Logs the request as handled (at debug level) and puts its transaction id on the response.
pub fn end(log: Box<RequestLog>, response: &mut Response) {
    // Inside the span if there is one: a filter by span must see it to let the line through.
    let in_span = log.span.get().is_some();
    let mut log = Some(log);
    if in_span || tracing::enabled!(Level::DEBUG) {
        let status = response.status().as_u16();
        RequestLog::within(&mut log, || tracing::debug!(status, "handled"));
    }
    let Some(log) = log else { return };
    let headers = response.headers_mut();
    match log.transaction {
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
    use std::sync::Mutex;

    use tracing_subscriber::layer::SubscriberExt as _;

    use super::*;
    use crate::logging::{RequestSpanFields, RequestSpans};

    /// The text log of `run`, given a request that has a transaction id or not.
    fn logged(run: impl FnOnce()) -> String {
        let file = tempfile::NamedTempFile::new().expect("a log file");
        let writer = Mutex::new(file.reopen().expect("the log file"));
        let subscriber = tracing_subscriber::registry()
            .with(RequestSpans::default())
            .with(RequestSpanFields)
            .with(
                tracing_subscriber::fmt::layer()
                    .with_ansi(false)
                    .with_writer(writer),
            );
        tracing::subscriber::with_default(subscriber, run);
        std::fs::read_to_string(file.path()).expect("the log")
    }

    fn serving(geo: &'static str) -> Arc<Serving> {
        Arc::new(Serving {
            regions: None,
            geo,
            base_url: "http://127.0.0.1:8080".into(),
            secure: false,
        })
    }

    fn line<'a>(text: &'a str, message: &str) -> &'a str {
        let found = text.lines().find(|l| l.ends_with(message));
        found.unwrap_or_else(|| panic!("no line {message:?} in {text}"))
    }

    #[test]
    fn lines_logged_while_a_request_is_handled_carry_its_context_and_no_others_do() {
        let request = Request::builder()
            .method(Method::POST)
            .uri("/cctrustoauth2/root/tokens/clients?x=1")
            .header(&CITRIX_TRANSACTION_ID, "t-1")
            .body(())
            .expect("a request");
        let text = logged(|| {
            let mut log = Some(begin(&request, IpAddr::from([192, 0, 2, 1]), serving("US")));
            tracing::info!("before");
            RequestLog::within(&mut log, || {
                tracing::info!("first");
                tracing::info!("second");
            });
            tracing::info!("between");
            RequestLog::within(&mut log, || tracing::warn!("later"));
            if let Some(log) = log {
                end(log, &mut Response::default());
            }
            tracing::info!("after");
        });
        let context = "request{txid=t-1 method=POST path=/cctrustoauth2/root/tokens/clients client=192.0.2.1}: ";
        for message in ["first", "second", "later", "handled status=200"] {
            assert!(line(&text, message).contains(context), "{text}");
        }
        for message in ["before", "between", "after"] {
            assert!(!line(&text, message).contains("request{"), "{text}");
        }
    }

    #[test]
    fn handlers_read_the_client_and_serving_of_the_request_being_handled_and_no_other() {
        let request = Request::builder().uri("/").body(()).expect("a request");
        let read = || current(|log| (log.client(), log.serving().geo));
        let mut outer = Some(begin(&request, IpAddr::from([192, 0, 2, 7]), serving("EU")));
        let mut inner = Some(begin(
            &request,
            IpAddr::from([198, 51, 100, 9]),
            serving("AP-S"),
        ));
        assert_eq!(read(), None);
        RequestLog::within(&mut outer, || {
            assert_eq!(read(), Some((IpAddr::from([192, 0, 2, 7]), "EU")));
            // A request handled inside another's poll (a nested runtime) and then the outer
            // one again.
            RequestLog::within(&mut inner, || {
                assert_eq!(read(), Some((IpAddr::from([198, 51, 100, 9]), "AP-S")));
            });
            assert_eq!(read(), Some((IpAddr::from([192, 0, 2, 7]), "EU")));
        });
        assert_eq!(read(), None);
        assert!(outer.is_some() && inner.is_some());
    }

    #[test]
    fn the_transaction_id_made_for_a_request_is_the_one_logged_and_answered() {
        let request = Request::builder()
            .uri("/invitations/a-secret-token")
            .body(())
            .expect("a request");
        let mut response = Response::default();
        let text = logged(|| {
            let mut log = Some(begin(
                &request,
                IpAddr::from([0, 0, 0, 0, 0, 0, 0, 1]),
                serving("US"),
            ));
            RequestLog::within(&mut log, || tracing::error!("inside"));
            if let Some(log) = log {
                end(log, &mut response);
            }
        });
        let txid = response.headers()[&X_CWS_TRANSACTION_ID]
            .to_str()
            .expect("text");
        uuid::Uuid::parse_str(txid).expect("a UUID");
        let expected =
            format!("request{{txid={txid} method=GET path=/invitations/{{token}} client=::1}}: ");
        assert!(line(&text, "inside").contains(&expected), "{text}");
        assert!(!text.contains("a-secret-token"), "{text}");
    }

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
