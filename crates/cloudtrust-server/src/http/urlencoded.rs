//! `application/x-www-form-urlencoded` bodies of the token endpoints, decoded strictly.
//!
//! The WHATWG parser (`form_urlencoded`) replaces bytes that are not UTF-8 after
//! percent-decoding with U+FFFD, so two different secrets could decode to the same text.
//! Credentials are compared as sent or refused: a value that is not UTF-8 is an error here.
//! Values without `+` or `%` — ids, secrets and grant types as clients send them — are
//! borrowed from the body, not copied.

use std::borrow::Cow;

use percent_encoding::percent_decode;

/// A name or value that is not UTF-8 once decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotUtf8;

/// The `name=value` pairs of `body`, in order; empty pairs (`a=1&&b=2`) are skipped and a pair
/// without `=` has an empty value, as in the WHATWG parser.
pub fn pairs(body: &[u8]) -> impl Iterator<Item = Result<(Cow<'_, str>, Cow<'_, str>), NotUtf8>> {
    // The body is checked once, not each name and value: split at `&` and `=`, which are ASCII
    // and so never inside a character, its pieces are UTF-8 exactly when the whole is.
    let (text, refused) = match std::str::from_utf8(body) {
        Ok(text) => (text, None),
        Err(_) => ("", Some(Err(NotUtf8))),
    };
    // Split with `memchr`, not `str::split`: the standard library's search for a `char` cost
    // the token endpoint more than the checks saved.
    let pairs = memchr::memchr_iter(b'&', text.as_bytes())
        .chain([text.len()])
        .scan(0, move |start, end| {
            let pair = text.get(*start..end).unwrap_or_default();
            *start = end + 1;
            Some(pair)
        })
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = match memchr::memchr(b'=', pair.as_bytes()) {
                Some(at) => (
                    pair.get(..at).unwrap_or_default(),
                    pair.get(at + 1..).unwrap_or_default(),
                ),
                None => (pair, ""),
            };
            Ok((decoded(name)?, decoded(value)?))
        });
    refused.into_iter().chain(pairs)
}

/// One form-encoded value: `+` is a space, `%XX` a byte, and the result must be UTF-8.
pub fn value_of(encoded: &[u8]) -> Result<Cow<'_, str>, NotUtf8> {
    if memchr::memchr2(b'+', b'%', encoded).is_none() {
        return std::str::from_utf8(encoded)
            .map(Cow::Borrowed)
            .map_err(|_| NotUtf8);
    }
    unescaped(encoded).map(Cow::Owned)
}

/// [`value_of`] for a value already known to be UTF-8 as sent.
fn decoded(encoded: &str) -> Result<Cow<'_, str>, NotUtf8> {
    if memchr::memchr2(b'+', b'%', encoded.as_bytes()).is_none() {
        return Ok(Cow::Borrowed(encoded));
    }
    unescaped(encoded.as_bytes()).map(Cow::Owned)
}

/// `encoded` with `+` and `%XX` decoded, if that is UTF-8.
fn unescaped(encoded: &[u8]) -> Result<String, NotUtf8> {
    let spaced: Vec<u8> = encoded
        .iter()
        .map(|&b| if b == b'+' { b' ' } else { b })
        .collect();
    String::from_utf8(percent_decode(&spaced).collect()).map_err(|_| NotUtf8)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decoded(body: &str) -> Vec<(String, String)> {
        pairs(body.as_bytes())
            .map(|pair| {
                let (name, value) = pair.expect("UTF-8");
                (name.into_owned(), value.into_owned())
            })
            .collect()
    }

    #[test]
    fn pairs_decode_as_the_whatwg_parser_does_for_utf8() {
        let body = "grant_type=client_credentials&client_id=a%2Bb&&client_secret=x+y%3D&flag&=v&%C3%A9=%E2%82%AC";
        assert_eq!(
            decoded(body),
            form_urlencoded::parse(body.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect::<Vec<_>>()
        );
        assert_eq!(decoded(body)[1], ("client_id".into(), "a+b".into()));
        assert_eq!(decoded(body)[2], ("client_secret".into(), "x y=".into()));
        assert_eq!(decoded(body)[3], ("flag".into(), String::new()));
    }

    #[test]
    fn plain_values_are_borrowed_and_bad_escapes_kept_as_sent() {
        assert!(matches!(
            value_of(b"plain-value_1.2~"),
            Ok(Cow::Borrowed(_))
        ));
        assert_eq!(value_of(b"100%").as_deref(), Ok("100%"));
        assert_eq!(value_of(b"%zz%4").as_deref(), Ok("%zz%4"));
    }

    #[test]
    fn bytes_that_are_not_utf8_are_refused_not_replaced() {
        assert_eq!(value_of(b"secret%FF"), Err(NotUtf8));
        assert_eq!(value_of(&[b's', 0xC3]), Err(NotUtf8));
        assert!(pairs(b"client_id=a&client_secret=%C3%28").any(|pair| pair.is_err()));
        assert!(pairs(b"client_id=a&ignored=\xC3\x28").any(|pair| pair.is_err()));
        assert!(pairs(b"client_id=\xC3&client_secret=\xA9").any(|pair| pair.is_err()));
        assert!(pairs("client_id=\u{e9}&x=\u{20ac}".as_bytes()).all(|pair| pair.is_ok()));
    }
}
