//! The `Authorization` header of cloudtrust's own APIs (`CwsAuth Bearer=<t>`, `Bearer <t>` and
//! their variants): any value is read without panicking, a token found is a non-empty piece of
//! the value with no whitespace or comma, and the token comes back from every form clients send.

#![no_main]

use cloudtrust_server::http::bearer::parse_authorization;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = std::str::from_utf8(data) else {
        return;
    };
    let Some(token) = parse_authorization(value) else {
        return;
    };
    assert!(!token.is_empty());
    assert!(
        !token.contains(|c: char| c.is_whitespace() || c == ','),
        "{token:?}"
    );
    // A slice of the value itself, not a copy: nothing was decoded or invented.
    let start = token.as_ptr() as usize - value.as_ptr() as usize;
    assert!(start + token.len() <= value.len());
    assert!(start > 0, "a token without a scheme");
    let scheme = value.trim_start();
    let scheme = &scheme[..scheme.find(char::is_whitespace).expect("a scheme")];
    assert!(
        scheme.eq_ignore_ascii_case("cwsauth") || scheme.eq_ignore_ascii_case("bearer"),
        "{scheme:?}"
    );
    for form in [
        format!("CwsAuth Bearer={token}"),
        format!("CWSAuth bearer={token}"),
        format!("CwsAuth Bearer=   {token}"),
        format!("cwsauth  BEARER = {token}"),
        format!("Bearer {token}"),
        format!("bearer   {token}  "),
        format!("CwsAuth Bearer={token}, other=1"),
    ] {
        assert_eq!(parse_authorization(&form), Some(token), "{form:?}");
    }
    // Schemes match in any letter case.
    let at = scheme.as_ptr() as usize - value.as_ptr() as usize;
    for recased in [scheme.to_ascii_uppercase(), scheme.to_ascii_lowercase()] {
        let mut again = value.to_owned();
        again.replace_range(at..at + scheme.len(), &recased);
        assert_eq!(parse_authorization(&again), Some(token), "{again:?}");
    }
});
