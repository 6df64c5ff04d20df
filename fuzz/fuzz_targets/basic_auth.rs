//! HTTP Basic client authentication (RFC 6749 §2.3.1) as the token endpoints read it. Two
//! inputs: an arbitrary `Authorization` value, checked against a reference reading of the
//! RFC; and an id and secret (split at the first NUL byte) that a client encodes the RFC's way,
//! which must come back exactly.

#![no_main]

use axum::http::{HeaderMap, HeaderValue, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use cloudtrust_server::http::basic::{Basic, basic_credentials};
use libfuzzer_sys::fuzz_target;

/// Decodes one `application/x-www-form-urlencoded` value: `+` is a space, `%XX` a byte, and
/// nothing else is special (a value is not a list of pairs, so `&` and `=` stay as they are).
/// `None` when the bytes are not UTF-8: credentials are read as sent or refused, never with
/// bytes replaced.
fn form_decode(text: &str) -> Option<String> {
    let plus = text.replace('+', " ");
    String::from_utf8(percent_encoding::percent_decode_str(&plus).collect::<Vec<u8>>()).ok()
}

fn form_encode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

fn credentials(value: &[u8]) -> Option<Basic> {
    let value = HeaderValue::from_bytes(value).ok()?;
    let mut headers = HeaderMap::new();
    headers.insert(header::AUTHORIZATION, value);
    Some(basic_credentials(&headers))
}

fuzz_target!(|data: &[u8]| {
    // An id and a secret, encoded as a client does: each must come back exactly.
    if let Some(split) = data.iter().position(|b| *b == 0)
        && let (Ok(id), Ok(secret)) = (
            std::str::from_utf8(&data[..split]),
            std::str::from_utf8(&data[split + 1..]),
        )
    {
        let encoded = STANDARD.encode(format!("{}:{}", form_encode(id), form_encode(secret)));
        match credentials(format!("Basic {encoded}").as_bytes()) {
            Some(Basic::Given(got_id, got_secret)) => {
                assert_eq!(got_id, id);
                assert_eq!(got_secret, secret);
            }
            _ => panic!("well-formed Basic credentials were not read"),
        }
    }

    // An arbitrary header value.
    let Some(read) = credentials(data) else {
        return;
    };
    // HTTP separates the scheme with spaces or tabs (RFC 9110 §11.4); bytes beyond ASCII may
    // appear in a value, never in base64.
    let text = String::from_utf8_lossy(data);
    let basic = text
        .trim_ascii()
        .split_once(|c: char| c.is_ascii_whitespace())
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"));
    match read {
        Basic::Absent => assert!(basic.is_none(), "Basic credentials were missed"),
        Basic::Malformed => {
            let (_, encoded) = basic.expect("Malformed only for the Basic scheme");
            let pair = STANDARD
                .decode(encoded.trim_ascii())
                .ok()
                .and_then(|b| String::from_utf8(b).ok());
            let good =
                pair.as_deref()
                    .and_then(|p| p.split_once(':'))
                    .is_some_and(|(id, secret)| {
                        form_decode(id).is_some() && form_decode(secret).is_some()
                    });
            assert!(!good, "a good pair refused");
        }
        Basic::Given(id, secret) => {
            let (_, encoded) = basic.expect("Given only for the Basic scheme");
            let pair = String::from_utf8(STANDARD.decode(encoded.trim_ascii()).expect("base64"))
                .expect("UTF-8");
            let (raw_id, raw_secret) = pair.split_once(':').expect("a colon");
            assert_eq!(Some(id), form_decode(raw_id), "client id");
            assert_eq!(Some(secret), form_decode(raw_secret), "client secret");
        }
    }
});
