//! Back-off when the server says it is overloaded (`429`, `503`).

use std::time::{Duration, Instant};

use cloudtrust_proto::ApiError;
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};

/// How often, and for how long at most, a request refused with `429 Too Many Requests` or
/// `503 Service Unavailable` is sent again.
///
/// The wait before each new attempt is what the server asked for (`Retry-After` in seconds,
/// or the `retryDelay` parameter of Citrix's common error body), or else one second doubled
/// at each attempt. When the wait would take the total past [`Retry::max_wait`], the refusal
/// is returned instead: a caller is never held longer than it agreed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    /// Attempts in all, the first included; `1` never retries.
    pub max_attempts: u32,
    /// The most time spent waiting between attempts, summed over all of them.
    pub max_wait: Duration,
}

impl Default for Retry {
    /// Four attempts, thirty seconds of waiting at most.
    fn default() -> Self {
        Retry {
            max_attempts: 4,
            max_wait: Duration::from_secs(30),
        }
    }
}

impl Retry {
    /// Never retries.
    pub const NEVER: Retry = Retry {
        max_attempts: 1,
        max_wait: Duration::ZERO,
    };
}

/// A whole answer: status, headers and body, read so that the body can be inspected for a
/// retry delay and still be decoded afterwards.
pub(crate) struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

/// Whether `status` means "try again later".
fn is_retryable(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::SERVICE_UNAVAILABLE
}

/// The delay the server asked for: `Retry-After` (seconds; an HTTP date is not honoured and
/// falls back to the default back-off) or the common error's `retryDelay`.
pub(crate) fn requested_delay(reply: &Reply) -> Option<Duration> {
    let header = reply
        .headers
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let parameter = || {
        let error: ApiError = serde_json::from_slice(&reply.body).ok()?;
        error.parameter("retryDelay")?.trim().parse::<u64>().ok()
    };
    header.or_else(parameter).map(Duration::from_secs)
}

/// Sends the request `build` makes until it is not refused with 429/503, or `policy` says to
/// stop; returns the last answer.
pub(crate) async fn send(
    policy: Retry,
    build: impl Fn() -> reqwest::RequestBuilder,
) -> Result<Reply, reqwest::Error> {
    let started = Instant::now();
    let mut backoff = Duration::from_secs(1);
    let mut attempt = 1;
    loop {
        let response = build().send().await?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.bytes().await?.to_vec();
        let reply = Reply {
            status,
            headers,
            body,
        };
        if !is_retryable(status) || attempt >= policy.max_attempts {
            return Ok(reply);
        }
        let delay = requested_delay(&reply).unwrap_or(backoff);
        if started.elapsed().saturating_add(delay) > policy.max_wait {
            return Ok(reply);
        }
        tokio::time::sleep(delay).await;
        backoff = backoff.saturating_mul(2);
        attempt += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(headers: &[(&'static str, &str)], body: &str) -> Reply {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.insert(*name, value.parse().expect("header value"));
        }
        Reply {
            status: StatusCode::TOO_MANY_REQUESTS,
            headers: map,
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn the_delay_comes_from_retry_after_or_retry_delay() {
        let common = r#"{"type":"https://errors-api.cloud.com/common/rateLimitExceeded","detail":"Rate limit exceeded; try again in 7 seconds","parameters":[{"name":"retryDelay","value":"7"}]}"#;
        assert_eq!(
            requested_delay(&reply(&[("retry-after", "3")], common)),
            Some(Duration::from_secs(3)),
            "the header first"
        );
        assert_eq!(
            requested_delay(&reply(&[], common)),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            requested_delay(&reply(
                &[("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT")],
                ""
            )),
            None
        );
        assert_eq!(requested_delay(&reply(&[], "busy")), None);
    }
}
