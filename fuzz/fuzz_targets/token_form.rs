//! The OAuth client-credentials form (`POST /cctrustoauth2/{customerid}/tokens/clients`):
//! any body decodes without panicking, each parameter read is the form-decoded value sent, and
//! a repeated parameter (RFC 6749 §3.2) or a name or value that is not UTF-8 once decoded is
//! refused, while unknown parameters are ignored.

#![no_main]

use cloudtrust_server::http::oauth::parse_form;
use libfuzzer_sys::fuzz_target;

#[path = "../oracles/form.rs"]
mod oracle;

const READ: [&str; 3] = ["grant_type", "client_id", "client_secret"];

fuzz_target!(|body: &[u8]| {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let values = |name: &str| -> Vec<&str> {
        pairs
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    };
    let repeated = READ.iter().any(|name| values(name).len() > 1);
    let not_utf8 = oracle::holds_non_utf8(body);
    match parse_form(body) {
        Ok(form) => {
            assert!(!repeated, "a repeated parameter was accepted");
            assert!(!not_utf8, "a value that is not UTF-8 was accepted");
            for (name, got) in [
                ("grant_type", &form.grant_type),
                ("client_id", &form.client_id),
                ("client_secret", &form.client_secret),
            ] {
                assert_eq!(got.as_deref(), values(name).first().copied(), "{name}");
            }
            // What was read survives being sent again: a client that re-encodes the values
            // gets the same form.
            let mut again = form_urlencoded::Serializer::new(String::new());
            for (name, value) in [
                ("grant_type", &form.grant_type),
                ("client_id", &form.client_id),
                ("client_secret", &form.client_secret),
            ] {
                if let Some(value) = value {
                    again.append_pair(name, value);
                }
            }
            let again = again.finish();
            let again = parse_form(again.as_bytes()).expect("re-encoded form");
            assert_eq!(again.grant_type, form.grant_type);
            assert_eq!(again.client_id, form.client_id);
            assert_eq!(again.client_secret, form.client_secret);
        }
        Err(refused) => {
            assert!(
                repeated || not_utf8,
                "refused without a repeated parameter or a value that is not UTF-8"
            );
            assert_eq!(refused.code(), "invalid_request");
            assert_eq!(refused.status().as_u16(), 400);
        }
    }
});
