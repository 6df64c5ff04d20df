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
    memchr::memchr_iter(b'&', body)
        .chain([body.len()])
        .scan(0, |start, end| {
            let pair = &body[*start..end];
            *start = end + 1;
            Some(pair)
        })
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = match memchr::memchr(b'=', pair) {
                Some(at) => (&pair[..at], &pair[at + 1..]),
                None => (pair, &pair[pair.len()..]),
            };
            Ok((value_of(name)?, value_of(value)?))
        })
}

/// One form-encoded value: `+` is a space, `%XX` a byte, and the result must be UTF-8.
pub fn value_of(encoded: &[u8]) -> Result<Cow<'_, str>, NotUtf8> {
    if memchr::memchr2(b'+', b'%', encoded).is_none() {
        return std::str::from_utf8(encoded)
            .map(Cow::Borrowed)
            .map_err(|_| NotUtf8);
    }
    let spaced: Vec<u8> = encoded
        .iter()
        .map(|&b| if b == b'+' { b' ' } else { b })
        .collect();
    String::from_utf8(percent_decode(&spaced).collect())
        .map(Cow::Owned)
        .map_err(|_| NotUtf8)
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
    }
}
