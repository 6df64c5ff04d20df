//! HTTP Basic client authentication (RFC 6749 §2.3.1), as the OAuth 2.0 and Smart Tools
//! token endpoints read it.

use std::borrow::Cow;

use axum::http::{HeaderMap, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::errors::OAuthError;
use super::urlencoded::value_of;

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
    // A value may carry bytes beyond ASCII under another scheme, which leaves Basic absent;
    // under Basic they fail the base64 decoding below.
    let value = String::from_utf8_lossy(value.as_bytes());
    let Some((scheme, encoded)) = value
        .trim_ascii()
        .split_once(|c: char| c.is_ascii_whitespace())
    else {
        return Basic::Absent;
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Basic::Absent;
    }
    let decoded = STANDARD
        .decode(encoded.trim_ascii())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok());
    let Some((id, secret)) = decoded.as_deref().and_then(|d| d.split_once(':')) else {
        return Basic::Malformed;
    };
    // Each half is one form-encoded value (RFC 6749 §2.3.1), not a list of pairs: a raw `&`
    // or `=` is part of it.
    match (value_of(id.as_bytes()), value_of(secret.as_bytes())) {
        (Ok(id), Ok(secret)) => Basic::Given(id.into_owned(), secret.into_owned()),
        _ => Basic::Malformed,
    }
}

/// The client's id and secret, from HTTP Basic or from the form's `client_id` /
/// `client_secret`, and whether Basic was used (a refusal then answers `401`). Given both
/// ways, they must agree.
pub fn client_authentication<'a>(
    headers: &HeaderMap,
    form_id: Option<Cow<'a, str>>,
    form_secret: Option<Cow<'a, str>>,
) -> Result<(Cow<'a, str>, Cow<'a, str>, bool), OAuthError> {
    let basic = match basic_credentials(headers) {
        Basic::Absent => None,
        Basic::Malformed => return Err(OAuthError::invalid_client(true)),
        Basic::Given(id, secret) => Some((Cow::Owned(id), Cow::Owned(secret))),
    };
    match (basic, form_id, form_secret) {
        (Some((id, secret)), None, None) => Ok((id, secret, true)),
        (Some((id, secret)), form_id, form_secret) => {
            if form_id.is_some_and(|f| f != id) || form_secret.is_some_and(|f| f != secret) {
                return Err(OAuthError::invalid_request(
                    "client credentials given twice, in the Authorization header and the body",
                ));
            }
            Ok((id, secret, true))
        }
        (None, Some(id), Some(secret)) => Ok((id, secret, false)),
        (None, _, _) => Err(OAuthError::invalid_client(false)),
    }
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

    #[test]
    fn another_scheme_with_bytes_beyond_ascii_is_not_basic() {
        let mut headers = HeaderMap::new();
        let value = HeaderValue::from_bytes("ǾSIC    aWQ6c2".as_bytes()).expect("header");
        headers.insert(header::AUTHORIZATION, value);
        assert!(matches!(basic_credentials(&headers), Basic::Absent));
        let value = HeaderValue::from_bytes("Basic aWQ6c2é".as_bytes()).expect("header");
        headers.insert(header::AUTHORIZATION, value);
        assert!(matches!(basic_credentials(&headers), Basic::Malformed));
    }

    #[test]
    fn ampersands_and_equals_signs_stay_in_the_credentials() {
        // Clients that do not form-encode (`curl -u id:secret`) send `&` and `=` as they are.
        let mut headers = HeaderMap::new();
        let encoded = STANDARD.encode("client+id:se&cret=1%&x");
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Basic {encoded}")).expect("header"),
        );
        let Basic::Given(id, secret) = basic_credentials(&headers) else {
            panic!("credentials expected");
        };
        assert_eq!(id, "client id");
        assert_eq!(secret, "se&cret=1%&x");
    }
}
