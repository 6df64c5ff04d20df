//! JSON in and out for the resource APIs: a body extractor whose failures are the common
//! error shape (415, 413, 400 `invalidJson` / `missing` / `invalidEnum`), query parameters
//! matched case-insensitively as ASP.NET does, and RFC 3339 times.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::errors::ApiErrorResponse;
use super::{is_json_media, media_type};
use crate::domain::paging::PageRequest;

/// A JSON request body.
#[derive(Debug, Clone)]
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiErrorResponse;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let media = media_type(request.headers()).unwrap_or_default();
        if !is_json_media(media) {
            return Err(ApiErrorResponse::unsupported_media_type(
                &media.to_ascii_lowercase(),
            ));
        }
        let body = Bytes::from_request(request, state)
            .await
            .map_err(|_| ApiErrorResponse::too_large())?;
        parse(&body).map(ApiJson)
    }
}

/// Parses a JSON body, naming what is wrong with it and where.
pub fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiErrorResponse> {
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|e| {
        ApiErrorResponse::bad_request("invalidJson", format!("The body is not JSON: {e}"), "body")
    })?;
    // serde also reads a struct from an array, field by field; every body here is an object.
    if !value.is_object() {
        return Err(ApiErrorResponse::bad_request(
            "invalidJson",
            "The body must be a JSON object",
            "body",
        ));
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let error = e.into_inner();
        let text = error.to_string();
        // serde names the missing field or the refused variant between backticks; the path
        // names where in the body that was ("." for the top level).
        let quoted = text.split('`').nth(1).unwrap_or("body");
        let at = |name: &str| match path.as_str() {
            "." | "" => name.to_owned(),
            outer => format!("{outer}.{name}"),
        };
        if text.starts_with("missing field") {
            let field = at(quoted);
            ApiErrorResponse::bad_request("missing", format!("{field} is required"), &field)
        } else if text.starts_with("unknown field") {
            let field = path_or(&path, quoted);
            ApiErrorResponse::bad_request(
                "invalidJson",
                format!("{field} cannot be set here"),
                &field,
            )
        } else if text.starts_with("unknown variant") {
            ApiErrorResponse::bad_request("invalidEnum", text.clone(), &path_or(&path, quoted))
        } else {
            ApiErrorResponse::bad_request("invalidJson", text, &path_or(&path, "body"))
        }
    })
}

/// The path of a value in the body, or `fallback` for the body itself. An empty key (`{"": 1}`)
/// is named as JSON writes it, `""`, so that the error still names a field.
fn path_or(path: &str, fallback: &str) -> String {
    match path {
        "." | "" if fallback.is_empty() => "\"\"".to_owned(),
        "." | "" => fallback.to_owned(),
        path => path.to_owned(),
    }
}

/// The query parameters, names lowercased (Citrix's services match them in any case).
#[derive(Debug, Clone, Default)]
pub struct Query(HashMap<String, String>);

impl<S: Send + Sync> FromRequestParts<S> for Query {
    type Rejection = ApiErrorResponse;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        Ok(Query(
            form_urlencoded::parse(query.as_bytes())
                .map(|(k, v)| (k.to_ascii_lowercase(), v.into_owned()))
                .collect(),
        ))
    }
}

impl Query {
    /// The value of `name` (any case), unless empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
            .filter(|v| !v.trim().is_empty())
    }

    /// The page asked for with `limit_name` (1 to `max`, default `default`) and `token_name`.
    pub fn page(
        &self,
        limit_name: &str,
        token_name: &str,
        default: usize,
        max: usize,
    ) -> Result<PageRequest, ApiErrorResponse> {
        let limit = match self.get(limit_name) {
            None => default,
            Some(text) => text
                .trim()
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=max).contains(n))
                .ok_or_else(|| {
                    ApiErrorResponse::bad_request(
                        "outOfRange",
                        format!("Maximum items per page is between 1 and {max}"),
                        limit_name,
                    )
                })?,
        };
        Ok(PageRequest {
            continuation: self.get(token_name).map(str::to_owned),
            limit,
        })
    }
}

/// Whether the request's `Accept` allows a JSON answer (no `Accept` does).
pub fn accepts_json(headers: &axum::http::HeaderMap) -> bool {
    let Some(accept) = headers
        .get(axum::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
    else {
        return true;
    };
    accept.split(',').any(|range| {
        let media = range.split(';').next().unwrap_or_default().trim();
        media.is_empty()
            || media == "*/*"
            || media.eq_ignore_ascii_case("application/*")
            || media.eq_ignore_ascii_case("application/json")
    })
}

/// Refuses (406) a request whose `Accept` rules out JSON; no `Accept` is fine.
#[derive(Debug, Clone, Copy)]
pub struct JsonAccepted;

impl<S: Send + Sync> FromRequestParts<S> for JsonAccepted {
    type Rejection = ApiErrorResponse;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        if accepts_json(&parts.headers) {
            Ok(JsonAccepted)
        } else {
            let asked = parts
                .headers
                .get(axum::http::header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            Err(ApiErrorResponse::not_acceptable(asked))
        }
    }
}

/// Unix seconds as RFC 3339 UTC (`2026-11-25T22:40:46Z`).
pub fn rfc3339(unix: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    struct Body {
        name: String,
        kind: Kind,
    }

    #[derive(Debug, serde::Deserialize)]
    struct Outer {
        #[serde(rename = "inner")]
        _inner: Body,
    }

    #[derive(Debug, serde::Deserialize)]
    enum Kind {
        A,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Strict {
        #[serde(default, rename = "editable")]
        _editable: Option<String>,
    }

    #[test]
    fn a_field_that_cannot_be_set_is_named() {
        let refused = parse::<Strict>(br#"{"editable":"x","name":"y"}"#).expect_err("refused");
        assert_eq!(refused.body().name(), "invalidJson");
        assert_eq!(refused.body().parameter("name"), Some("name"));
        assert!(parse::<Strict>(br#"{"editable":"x"}"#).is_ok());
    }

    #[test]
    fn an_empty_key_that_cannot_be_set_is_named_too() {
        let refused = parse::<Strict>(br#"{"":9}"#).expect_err("refused");
        assert_eq!(refused.body().name(), "invalidJson");
        assert_eq!(refused.body().parameter("name"), Some(r#""""#));
        assert_eq!(refused.body().detail, r#""" cannot be set here"#);
    }

    #[test]
    fn a_body_that_is_not_an_object_is_refused() {
        for body in [&b"[\"x\"]"[..], b"[]", b"\"x\"", b"null", b"1"] {
            let refused = parse::<Strict>(body).expect_err("refused");
            assert_eq!(refused.body().name(), "invalidJson");
            assert_eq!(refused.body().detail, "The body must be a JSON object");
        }
    }

    #[test]
    fn body_errors_name_the_problem() {
        let name = |body: &[u8]| {
            parse::<Body>(body)
                .expect_err("refused")
                .body()
                .name()
                .to_owned()
        };
        assert_eq!(name(b"{"), "invalidJson");
        assert_eq!(name(br#"{"kind":"A"}"#), "missing");
        assert_eq!(name(br#"{"name":"x","kind":"B"}"#), "invalidEnum");
        assert_eq!(name(br#"{"name":1,"kind":"A"}"#), "invalidJson");
        let body = parse::<Body>(br#"{"name":"x","kind":"A"}"#).expect("parses");
        assert_eq!(body.name, "x");
        assert!(matches!(body.kind, Kind::A));
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
    }

    #[test]
    fn body_errors_say_where_the_problem_is() {
        let named = |body: &[u8]| {
            let refused = parse::<Outer>(body).expect_err("refused");
            let error = refused.body();
            (
                error.name().to_owned(),
                error.parameter("name").map(str::to_owned),
            )
        };
        let at = |name: &str, field: &str| (name.to_owned(), Some(field.to_owned()));
        assert_eq!(
            named(br#"{"inner":{"kind":"A"}}"#),
            at("missing", "inner.name")
        );
        assert_eq!(named(br#"{}"#), at("missing", "inner"));
        assert_eq!(
            named(br#"{"inner":{"name":"x","kind":"B"}}"#),
            at("invalidEnum", "inner.kind")
        );
        assert_eq!(
            named(br#"{"inner":{"name":1,"kind":"A"}}"#),
            at("invalidJson", "inner.name")
        );
        assert_eq!(named(br#""x""#), at("invalidJson", "body"));
    }
}
