//! The request context of log lines, made and written cheaply.
//!
//! Every log line written while a request is handled is in the request's span, whose fields
//! (transaction id, method, path, client address) it carries
//! ([`crate::http::middleware::request_id`]). The span is made by [`RequestSpans`] when the
//! request's first line is logged: most requests log nothing.
//!
//! The `fmt` layer formats a span's fields when the span is made, through `fmt::Write` and its
//! styling: on the token endpoint that was a few thousand instructions per request.
//! [`RequestSpanFields`] writes them first, as the text format shows them
//! (`txid=… method=POST path=/… client=192.0.2.1`), and the `fmt` layer keeps what it finds.
//! The JSON format formats its own fields and does not need it; on a terminal the request's
//! fields are written without the `fmt` layer's italics.
//!
//! [`filter`] reads `RUST_LOG` into the cheapest filter that can apply it.

use std::fmt::{Debug, Write as _};
use std::sync::OnceLock;

use tracing::dispatcher::WeakDispatch;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::{Dispatch, Event, Subscriber};
use tracing_subscriber::Registry;
use tracing_subscriber::filter::{EnvFilter, Targets};
use tracing_subscriber::fmt::FormattedFields;
use tracing_subscriber::fmt::format::DefaultFields;
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

use crate::http::middleware::request_id;

/// The log filter of `directives` (`RUST_LOG`'s value, in `EnvFilter`'s syntax), or of
/// `default` where they are absent or not valid.
///
/// Directives of targets and levels only (`warn,cloudtrust_server=debug`) become a [`Targets`]
/// filter; those that name a span or a field (`[request]=debug`) need an [`EnvFilter`]. Both
/// read such directives alike, but an `EnvFilter` takes a lock and looks the span up at every
/// entry into a span, exit and close, whether or not a directive names spans — a few hundred
/// instructions on each token request, in the span every request runs in. An `EnvFilter` must
/// also see a request's span before its lines, so from then on request spans are made with the
/// request ([`request_id::make_spans_at_once`]) rather than with its first line.
pub fn filter(directives: Option<&str>, default: &str) -> Box<dyn Layer<Registry> + Send + Sync> {
    let directives = directives.filter(|d| !d.trim().is_empty());
    if directives.is_some_and(|d| d.contains(['[', '{'])) {
        request_id::make_spans_at_once();
        let parsed = directives.map(EnvFilter::try_new).and_then(Result::ok);
        return Box::new(parsed.unwrap_or_else(|| EnvFilter::new(default)));
    }
    let parsed = directives.map(str::parse::<Targets>).and_then(Result::ok);
    match parsed {
        Some(targets) => Box::new(targets),
        None => Box::new(default.parse::<Targets>().unwrap_or_default()),
    }
}

/// Makes the span of the request being handled when a line is logged in it, so that the
/// line carries the request's context. In both formats, layered under the format's layer
/// (`registry().with(filter).with(RequestSpans::default())…`), which then finds the span
/// current.
#[derive(Debug, Default)]
pub struct RequestSpans {
    /// The dispatcher this layer is part of: the span is made through it, from inside the
    /// dispatch of a line, where the default dispatcher may not be reachable.
    dispatch: OnceLock<WeakDispatch>,
}

impl<S> Layer<S> for RequestSpans
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_register_dispatch(&self, dispatch: &Dispatch) {
        let _ = self.dispatch.set(dispatch.downgrade());
    }

    fn on_event(&self, event: &Event<'_>, context: Context<'_, S>) {
        if !event.is_contextual() || context.lookup_current().is_some() {
            return;
        }
        if let Some(dispatch) = self.dispatch.get().and_then(WeakDispatch::upgrade) {
            request_id::make_current_span(&dispatch);
        }
    }
}

/// Formats the fields of request spans for the text format's `fmt` layer, which must be
/// layered over it (`registry().with(filter).with(RequestSpanFields).with(fmt::layer())`).
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestSpanFields;

impl<S> Layer<S> for RequestSpanFields
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attributes: &Attributes<'_>, id: &Id, context: Context<'_, S>) {
        let metadata = attributes.metadata();
        if metadata.name() != request_id::SPAN_NAME || metadata.target() != request_id::SPAN_TARGET
        {
            return;
        }
        let Some(span) = context.span(id) else { return };
        let mut fields = Plain(String::with_capacity(112));
        attributes.record(&mut fields);
        span.extensions_mut()
            .insert(FormattedFields::<DefaultFields>::new(fields.0));
    }
}

/// `name=value` pairs separated by spaces, strings unquoted as the `fmt` layer wrote these
/// fields when they were given with `%` — but a control character (C0, DEL or C1, which a
/// request path may hold as UTF-8) escaped: a terminal showing the log would obey it.
struct Plain(String);

impl Plain {
    fn name(&mut self, field: &Field) {
        if !self.0.is_empty() {
            self.0.push(' ');
        }
        self.0.push_str(field.name());
        self.0.push('=');
    }
}

impl Visit for Plain {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.name(field);
        if may_hold_control(value.as_bytes()) && value.chars().any(char::is_control) {
            let _ = write!(self.0, "{}", value.escape_debug());
        } else {
            self.0.push_str(value);
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        self.name(field);
        let _ = write!(self.0, "{value:?}");
    }
}

/// Whether `bytes` hold a byte a control character starts with: below 0x20, DEL, or 0xC2 (C1
/// controls are 0xC2 followed by 0x80 – 0x9F in UTF-8). Text without one needs no decoding.
/// Sixteen bytes at a time, without an early exit inside a block, so that the compiler can
/// compare a block at once: every request's span fields are checked.
fn may_hold_control(bytes: &[u8]) -> bool {
    let suspect = |b: u8| (b < 0x20) | (b == 0x7f) | (b == 0xc2);
    let mut blocks = bytes.chunks_exact(16);
    for block in &mut blocks {
        if block.iter().fold(false, |any, &b| any | suspect(b)) {
            return true;
        }
    }
    blocks.remainder().iter().any(|&b| suspect(b))
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use tracing_subscriber::layer::SubscriberExt as _;

    use super::*;

    #[test]
    fn request_fields_are_written_as_the_text_format_does_with_control_characters_escaped() {
        let log = tempfile::NamedTempFile::new().expect("a log file");
        let writer = Mutex::new(log.reopen().expect("the log file"));
        let subscriber = tracing_subscriber::registry().with(RequestSpanFields).with(
            tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .with_writer(writer),
        );
        tracing::subscriber::with_default(subscriber, || {
            let client = std::net::IpAddr::from([192, 0, 2, 1]);
            let span = tracing::info_span!(
                target: request_id::SPAN_TARGET,
                request_id::SPAN_NAME,
                txid = "t-1",
                method = "GET",
                path = "/a\u{9b}31mb\n",
                client = %client,
            );
            span.in_scope(|| tracing::info!("inside"));
        });
        let text = std::fs::read_to_string(log.path()).expect("the log");
        assert!(
            text.contains("request{txid=t-1 method=GET path=/a\\u{9b}31mb\\n client=192.0.2.1}: "),
            "{text}"
        );
        assert!(!text.contains('\u{9b}'), "{text}");
    }

    /// What `directives` enable, outside any span and then inside a request's span: debug and
    /// info for `cloudtrust_server::http`, then debug and info for another target.
    fn enabled(directives: Option<&str>) -> [[bool; 4]; 2] {
        use tracing::Level;
        let subscriber = tracing_subscriber::registry().with(filter(directives, "info"));
        tracing::subscriber::with_default(subscriber, || {
            let levels = || {
                [
                    tracing::enabled!(target: "cloudtrust_server::http", Level::DEBUG),
                    tracing::enabled!(target: "cloudtrust_server::http", Level::INFO),
                    tracing::enabled!(target: "elsewhere", Level::DEBUG),
                    tracing::enabled!(target: "elsewhere", Level::INFO),
                ]
            };
            let span = tracing::info_span!(target: request_id::SPAN_TARGET, request_id::SPAN_NAME);
            [levels(), span.in_scope(levels)]
        })
    }

    #[test]
    fn log_directives_are_applied_by_target_by_span_and_otherwise_the_default() {
        let by_target = [true, true, false, false];
        assert_eq!(
            enabled(Some("warn,cloudtrust_server=debug")),
            [by_target; 2]
        );
        let in_span = [true, true, true, true];
        let outside = [false, false, false, false];
        assert_eq!(enabled(Some("warn,[request]=debug")), [outside, in_span]);
        let default = [false, true, false, true];
        for absent in [
            None,
            Some(""),
            Some(" "),
            Some("warn,x=loud"),
            Some("[request=debug"),
        ] {
            assert_eq!(enabled(absent), [default; 2], "{absent:?}");
        }
    }

    #[test]
    fn a_byte_a_control_character_starts_with_is_found_anywhere() {
        let plain = "0123456789abcdef0123456789abcdef0123456789";
        assert!(!may_hold_control(plain.as_bytes()));
        assert!(!may_hold_control(b""));
        for at in [0, 5, 15, 16, 31, 32, 41] {
            for byte in [0x00, 0x1b, 0x1f, 0x7f, 0xc2] {
                let mut bytes = plain.as_bytes().to_vec();
                bytes[at] = byte;
                assert!(may_hold_control(&bytes), "{byte:#x} at {at}");
            }
            let mut bytes = plain.as_bytes().to_vec();
            bytes[at] = b' ';
            assert!(!may_hold_control(&bytes), "a space at {at}");
        }
    }
}
