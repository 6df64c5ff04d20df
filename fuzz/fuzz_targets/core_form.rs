//! Form bodies of the Workspace OpenID Connect endpoints (`/core/connect/token`, revocation,
//! introspection): `OAuthForm::parse` takes only `application/x-www-form-urlencoded`, and then
//! every parameter reads as sent, empty as absent, repeated as an `invalid_request`; a body
//! with a name or value that is not UTF-8 once decoded is refused as an `invalid_request`.
//!
//! Input: the `Content-Type` value, a newline, the body.

#![no_main]

use axum::http::{HeaderMap, HeaderValue, header};
use cloudtrust_server::http::core::OAuthForm;
use libfuzzer_sys::fuzz_target;

#[path = "../oracles/form.rs"]
mod oracle;

/// The parameters the endpoints read, besides whatever names the body holds.
const NAMES: [&str; 12] = [
    "grant_type",
    "code",
    "redirect_uri",
    "code_verifier",
    "refresh_token",
    "scope",
    "client_id",
    "client_secret",
    "token",
    "token_type_hint",
    "csrf",
    "password",
];

fuzz_target!(|data: &[u8]| {
    let (content_type, body) = match data.iter().position(|b| *b == b'\n') {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (&b""[..], data),
    };
    let mut headers = HeaderMap::new();
    let media = HeaderValue::from_bytes(content_type).ok().inspect(|value| {
        headers.insert(header::CONTENT_TYPE, value.clone());
    });
    let is_form = media
        .as_ref()
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| {
            m.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    let not_utf8 = oracle::holds_non_utf8(body);
    let form = match OAuthForm::parse(&headers, body) {
        Ok(form) => {
            assert!(is_form, "a body that is not a form was read");
            assert!(!not_utf8, "a value that is not UTF-8 was read");
            form
        }
        Err(refused) if is_form => {
            assert!(not_utf8, "a form was refused");
            assert_eq!(refused.code(), "invalid_request");
            assert_eq!(refused.status().as_u16(), 400);
            return;
        }
        Err(refused) => {
            assert_eq!(refused.status().as_u16(), 415);
            return;
        }
    };
    let pairs: Vec<(String, String)> = form_urlencoded::parse(body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let names = NAMES
        .iter()
        .copied()
        .chain(pairs.iter().map(|(k, _)| k.as_str()));
    for name in names {
        let values: Vec<&str> = pairs
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect();
        match (form.get(name), values.as_slice()) {
            (Err(refused), [_, _, ..]) => {
                assert_eq!(refused.code(), "invalid_request");
                assert!(form.required(name).is_err());
            }
            (Ok(None), []) | (Ok(None), [""]) => assert!(form.required(name).is_err()),
            (Ok(Some(got)), [sent]) => {
                assert_eq!(got, *sent);
                assert!(!got.is_empty());
                assert_eq!(form.required(name).ok(), Some(got));
            }
            (got, sent) => panic!(
                "{name}: read {got:?}, sent {sent:?}",
                got = got.map_err(|e| e.code().to_owned())
            ),
        }
    }
});
