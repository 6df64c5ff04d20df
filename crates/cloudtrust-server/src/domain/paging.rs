//! Pages of long lists: a page size and an opaque continuation token, as Citrix Cloud's APIs
//! page (`maxItemCount` + `requestContinuation`, `Limit` + `ContinuationToken`).
//!
//! The token is the sort key of the last item returned, base64url-encoded: stable under
//! concurrent inserts and deletes (keyset paging), and meaningless to clients.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::error::{Error, Result};

/// Which page to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    /// The token of the previous page, if any.
    pub continuation: Option<String>,
    /// At most this many items.
    pub limit: usize,
}

impl PageRequest {
    /// The first page of `limit` items.
    pub fn first(limit: usize) -> Self {
        PageRequest {
            continuation: None,
            limit,
        }
    }

    /// The decoded sort key of the previous page's last item.
    pub fn after(&self) -> Result<Option<String>> {
        self.continuation
            .as_deref()
            .filter(|t| !t.is_empty())
            .map(decode)
            .transpose()
    }

    /// The number of rows to fetch: one more than the page holds, to learn whether another
    /// page follows.
    pub fn fetch(&self) -> i64 {
        i64::try_from(self.limit).unwrap_or(i64::MAX - 1) + 1
    }
}

/// One page of items.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// The token of the next page; `None` on the last one.
    pub continuation: Option<String>,
}

impl<T> Default for Page<T> {
    /// The empty last page.
    fn default() -> Self {
        Page {
            items: Vec::new(),
            continuation: None,
        }
    }
}

impl<T> Page<T> {
    /// Cuts `rows` (fetched with [`PageRequest::fetch`]) to the page and makes the next token
    /// from the last item's sort key.
    pub fn from_rows(mut rows: Vec<T>, request: &PageRequest, key: impl Fn(&T) -> String) -> Self {
        let more = rows.len() > request.limit;
        rows.truncate(request.limit);
        let continuation = if more {
            rows.last().map(|last| encode(&key(last)))
        } else {
            None
        };
        Page {
            items: rows,
            continuation,
        }
    }
}

fn encode(key: &str) -> String {
    URL_SAFE_NO_PAD.encode(key.as_bytes())
}

fn decode(token: &str) -> Result<String> {
    URL_SAFE_NO_PAD
        .decode(token.trim())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .filter(|key| !key.chars().any(char::is_control))
        .ok_or_else(|| Error::invalid("continuationToken", "is not a token this server issued"))
}

/// Splits a `<unix seconds>:<id>` key.
pub fn split_time_key(key: &str) -> Result<(i64, &str)> {
    key.split_once(':')
        .and_then(|(at, id)| Some((at.parse().ok()?, id)))
        .ok_or_else(|| Error::invalid("continuationToken", "is not a token this server issued"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_carry_a_token_only_when_more_follow() {
        let request = PageRequest::first(2);
        assert_eq!(request.fetch(), 3);
        let page = Page::from_rows(vec![1, 2, 3], &request, |n| n.to_string());
        assert_eq!(page.items, vec![1, 2]);
        let next = PageRequest {
            continuation: page.continuation.clone(),
            limit: 2,
        };
        assert_eq!(next.after().expect("decodes").as_deref(), Some("2"));
        let last = Page::from_rows(vec![3], &next, |n| n.to_string());
        assert_eq!(last.continuation, None);
        let bad = PageRequest {
            continuation: Some("!!".to_owned()),
            limit: 2,
        };
        assert!(bad.after().is_err());
        assert_eq!(split_time_key("12:abc").expect("key"), (12, "abc"));
        assert!(split_time_key("x:abc").is_err());
    }
}
