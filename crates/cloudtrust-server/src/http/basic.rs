//! HTTP Basic client authentication (RFC 6749 §2.3.1), as the OAuth 2.0 and Smart Tools
//! token endpoints read it.

use axum::http::{HeaderMap, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// What the `Authorization` header says in HTTP Basic.
pub enum Basic {
    /// No Basic credentials (no header, or another scheme).
    Absent,
    /// Basic, but not base64 of `id:secret` in UTF-8.
    Malformed,
    /// The id and secret, each form-url-decoded as RFC 6749 §2.3.1 requires.
    Given(String, String),
}

/// Reads HTTP Basic credentials from the `Authorization` header.
pub fn basic_credentials(headers: &HeaderMap) -> Basic {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Basic::Absent;
    };
    let Ok(value) = value.to_str() else {
        return Basic::Malformed;
    };
    let Some((scheme, encoded)) = value.trim().split_once(char::is_whitespace) else {
        return Basic::Absent;
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Basic::Absent;
    }
    let decoded = STANDARD
        .decode(encoded.trim())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok());
    let Some((id, secret)) = decoded.as_deref().and_then(|d| d.split_once(':')) else {
        return Basic::Malformed;
    };
    let decode = |s: &str| -> String {
        form_urlencoded::parse(format!("v={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Basic::Given(decode(id), decode(secret))
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn basic_credentials_are_form_decoded() {
        let mut headers = HeaderMap::new();
        let encoded = STANDARD.encode("id%3A1:s%2Fecret");
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Basic {encoded}")).expect("header"),
        );
        let Basic::Given(id, secret) = basic_credentials(&headers) else {
            panic!("credentials expected");
        };
        assert_eq!(id, "id:1");
        assert_eq!(secret, "s/ecret");
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic !!!"));
        assert!(matches!(basic_credentials(&headers), Basic::Malformed));
    }
}
