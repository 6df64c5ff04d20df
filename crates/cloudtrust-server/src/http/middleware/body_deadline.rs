//! A deadline for request bodies: a client that has sent its headers has `body_read_timeout`
//! to send the body, however slowly it trickles in; after that the request is answered `408`
//! and the connection closed. A body that arrived with its headers (a token request's form,
//! usually) never starts a timer.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use http_body::{Frame, SizeHint};
use tokio::time::{Instant, Sleep};

use crate::http::errors::ApiErrorResponse;

/// Whether a request's body missed its deadline.
#[derive(Debug, Clone, Default)]
pub struct Expired(Arc<AtomicBool>);

impl Expired {
    /// Whether it did.
    pub fn happened(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

/// Gives the body of `request` (unless it is already complete) `limit` to arrive, and makes
/// it the request's [`Body`] (one box, not a box in a box).
pub fn guard<B>(limit: Duration, request: axum::http::Request<B>) -> (Request, Option<Expired>)
where
    B: http_body::Body<Data = Bytes> + Send + Unpin + 'static,
    B::Error: Into<axum::BoxError>,
{
    if http_body::Body::is_end_stream(request.body()) {
        return (request.map(Body::new), None);
    }
    let expired = Expired::default();
    let (parts, body) = request.into_parts();
    let body = Deadline {
        body,
        deadline: Instant::now() + limit,
        sleep: None,
        expired: expired.clone(),
    };
    (Request::from_parts(parts, Body::new(body)), Some(expired))
}

/// The answer to a request whose body missed its deadline.
pub fn timed_out() -> Response {
    let mut response = ApiErrorResponse::new(
        StatusCode::REQUEST_TIMEOUT,
        "requestTimeout",
        "The request body did not arrive in time",
        &[],
    )
    .into_response();
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

struct Deadline<B> {
    body: B,
    deadline: Instant,
    sleep: Option<Pin<Box<Sleep>>>,
    expired: Expired,
}

impl<B> http_body::Body for Deadline<B>
where
    B: http_body::Body<Data = Bytes> + Unpin,
    B::Error: Into<axum::BoxError>,
{
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        if let Poll::Ready(frame) = Pin::new(&mut self.body).poll_frame(cx) {
            return Poll::Ready(frame.map(|frame| frame.map_err(axum::Error::new)));
        }
        // Waiting for more: only now is a timer needed.
        let deadline = self.deadline;
        let sleep = self
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        if sleep.as_mut().poll(cx).is_ready() {
            self.expired.0.store(true, Ordering::Release);
            return Poll::Ready(Some(Err(axum::Error::new("request body timed out"))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
