//! Bodies larger than the limit: the handler answers 413 without reading them, and the rest
//! is then read and thrown away in the background, up to a bound, before the connection is
//! closed. A client still sending its body then reads the 413 instead of finding its
//! connection reset under it (what closing a socket with unread data does).

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::header;
use http_body::{Frame, SizeHint};
use http_body_util::BodyExt;

use crate::http::BodyLimit;

/// The most of a refused body that is read and thrown away.
const DRAIN_BYTES: usize = 4 * 1024 * 1024;
/// The longest a refused body is read for: a slow sender is cut off after it.
const DRAIN_TIME: Duration = Duration::from_secs(5);

/// Marks the body of a request that announces more than `limit` bytes, so what the handler
/// leaves unread is read away.
pub fn guard(limit: BodyLimit, request: Request) -> Request {
    let announced = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if announced.is_none_or(|n| n <= limit.0 as u64) {
        return request;
    }
    let (parts, body) = request.into_parts();
    Request::from_parts(parts, Body::new(DrainedOnDrop(Some(body))))
}

/// A body that, dropped before its end, hands what is left to a task that reads it away.
struct DrainedOnDrop(Option<Body>);

impl http_body::Body for DrainedOnDrop {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        match self.0.as_mut() {
            Some(body) => Pin::new(body).poll_frame(cx),
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.0.as_ref().is_none_or(http_body::Body::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        self.0
            .as_ref()
            .map_or_else(|| SizeHint::with_exact(0), http_body::Body::size_hint)
    }
}

impl Drop for DrainedOnDrop {
    fn drop(&mut self) {
        let Some(body) = self.0.take() else { return };
        if http_body::Body::is_end_stream(&body) {
            return;
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(drain(body));
        }
    }
}

async fn drain(mut body: Body) {
    let _ = tokio::time::timeout(DRAIN_TIME, async {
        let mut read = 0;
        while read <= DRAIN_BYTES {
            match body.frame().await {
                Some(Ok(frame)) => read += frame.data_ref().map_or(0, Bytes::len),
                _ => return,
            }
        }
    })
    .await;
}
