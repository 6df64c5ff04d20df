//! Redirect URIs of Workspace clients: registering them (`validate_redirect_uris`) and an
//! authorization request naming one (`workspace_sign_in::request::check`).
//!
//! Input: one flag byte (client settings), the registered URIs one a line, a NUL byte, and the
//! authorization request's query string.
//!
//! Checked: an accepted URI meets every documented rule (absolute, no fragment, no user, not
//! even an empty one before `@`, https or loopback http or a reverse-domain private scheme, no
//! whitespace, control character or backslash, at most `MAX_URIS` of at most `MAX_URI_LEN`, no
//! duplicates); adding the answer's query never changes where the browser goes; an accepted
//! request, or an error sent to the client, goes only to a registered URI, exactly as the
//! request named it; an accepted request satisfies its limits (known scopes, S256 challenge
//! where PKCE is due, bounded values).

#![no_main]

use cloudtrust_server::domain::workspace_clients::{
    ClientType, MAX_URI_LEN, MAX_URIS, WorkspaceClient, validate_redirect_uris,
};
use cloudtrust_server::domain::workspace_sign_in::request::{
    AuthorizeError, check, code_location, with_query,
};
use cloudtrust_server::domain::workspace_sign_in::scopes::{self, OFFLINE_ACCESS};
use libfuzzer_sys::fuzz_target;
use url::Url;

/// The longest `state`, `nonce` or `acr_values` an authorization request may carry.
const MAX_VALUE_LEN: usize = 2048;
const ISSUER: &str = "https://cloudtrust.example/core";

/// The rules of one URI, restated.
fn meets_rules(uri: &str) -> bool {
    if uri.len() > MAX_URI_LEN
        || uri.contains(|c: char| c.is_whitespace() || c.is_control() || c == '\\')
    {
        return false;
    }
    let Ok(url) = Url::parse(uri) else {
        return false;
    };
    if url.fragment().is_some() || !url.username().is_empty() || url.password().is_some() {
        return false;
    }
    // No `@` in the authority as written, even before an empty user name.
    if url.has_authority() {
        let rest = &uri[uri.find(':').expect("a scheme") + 1..];
        let rest = if matches!(url.scheme(), "http" | "https") {
            rest.trim_start_matches('/')
        } else {
            rest.strip_prefix("//").unwrap_or(rest)
        };
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        if rest[..end].contains('@') {
            return false;
        }
    }
    let loopback = match url.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match url.scheme() {
        "https" => url.host().is_some(),
        "http" => loopback,
        other => other.contains('.'),
    }
}

/// Where a browser goes: everything but the query.
fn destination(uri: &str) -> (String, Option<String>, Option<u16>, String) {
    let url = Url::parse(uri).expect("a registered URI parses");
    (
        url.scheme().to_owned(),
        url.host_str().map(str::to_owned),
        url.port(),
        url.path().to_owned(),
    )
}

/// The answer's query reaches the client intact, after the URI's own, and the browser goes
/// where the URI says.
fn check_location(uri: &str, location: &str, pairs: &[(&str, &str)]) {
    assert_eq!(destination(location), destination(uri), "{location}");
    let url = Url::parse(location).expect("location parses");
    assert!(url.fragment().is_none());
    let sent: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    assert!(sent.len() >= pairs.len(), "{location}");
    let tail = &sent[sent.len() - pairs.len()..];
    for ((name, value), (want_name, want_value)) in tail.iter().zip(pairs) {
        assert_eq!((name.as_str(), value.as_str()), (*want_name, *want_value));
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let (uris, query) = match rest.iter().position(|b| *b == 0) {
        Some(at) => (&rest[..at], &rest[at + 1..]),
        None => (rest, &b""[..]),
    };
    let Ok(uris) = std::str::from_utf8(uris) else {
        return;
    };
    let uris: Vec<String> = uris.split('\n').map(str::to_owned).collect();

    let registered = match validate_redirect_uris("redirect_uris", &uris) {
        Ok(checked) => {
            assert!(uris.len() <= MAX_URIS);
            let mut expected: Vec<&str> = Vec::new();
            for uri in &uris {
                let uri = uri.trim();
                if !expected.contains(&uri) {
                    expected.push(uri);
                }
            }
            assert_eq!(checked, expected, "not the trimmed list without duplicates");
            for uri in &checked {
                assert!(meets_rules(uri), "{uri:?} was accepted");
                let pairs = [("code", "c+&=#?/ é"), ("iss", ISSUER)];
                check_location(uri, &with_query(uri, &pairs), &pairs);
            }
            checked
        }
        Err(_) => {
            assert!(
                uris.len() > MAX_URIS || uris.iter().any(|u| !meets_rules(u.trim())),
                "{uris:?} refused"
            );
            // The request check compares strings: the list as registered by other means.
            uris.iter().map(|u| u.trim().to_owned()).collect()
        }
    };

    let params: Vec<(String, String)> = form_urlencoded::parse(query)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let single = |name: &str| -> Option<Option<&str>> {
        let mut values = params.iter().filter(|(k, _)| k == name).map(|(_, v)| v);
        let first = values.next();
        if values.next().is_some() {
            return None;
        }
        Some(first.map(String::as_str).filter(|v| !v.is_empty()))
    };
    let client = WorkspaceClient {
        name: "acme-private-1".to_owned(),
        customer_id: "acme".to_owned(),
        client_id: "wsp-client".to_owned(),
        display_name: "Workspace app".to_owned(),
        client_type: if flags & 1 == 0 {
            ClientType::Private
        } else {
            ClientType::Public
        },
        redirect_uris: registered,
        post_logout_redirect_uris: Vec::new(),
        require_user_consent: flags & 2 != 0,
        require_pkce: flags & 4 != 0,
        allow_offline_access: flags & 8 != 0,
        enabled: flags & 16 == 0,
        owner: "owner@acme.example".to_owned(),
        owner_contact: "owner@acme.example".to_owned(),
        secret: None,
        old_secret: None,
        created_at: 0,
    };
    let known = flags & 32 == 0;
    // The redirect URI is genuine once the client is, and the URI is one it registered.
    let genuine = known
        && client.enabled
        && single("client_id") == Some(Some(client.client_id.as_str()))
        && single("redirect_uri")
            .flatten()
            .is_some_and(|r| client.redirect_uris.iter().any(|u| u == r));
    match check(&params, known.then_some(&client), ISSUER) {
        Ok(request) => {
            assert!(genuine);
            assert_eq!(
                Some(Some(request.redirect_uri.as_str())),
                single("redirect_uri")
            );
            assert_eq!(request.client_id, client.client_id);
            assert_eq!(request.issuer, ISSUER);
            assert!(!request.scopes.is_empty());
            let scope = single("scope").flatten().expect("a scope");
            assert_eq!(scopes::parse(scope).as_ref(), Ok(&request.scopes));
            if request.scopes.iter().any(|s| s == OFFLINE_ACCESS) {
                assert!(client.allow_offline_access);
            }
            if client.client_type == ClientType::Public || client.require_pkce {
                assert!(request.code_challenge.is_some(), "PKCE skipped");
            }
            if let Some(challenge) = &request.code_challenge {
                assert_eq!(challenge.len(), 43);
                assert!(
                    challenge
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                );
            }
            assert!(!(request.prompt.none && (request.prompt.login || request.prompt.consent)));
            assert!(request.max_age.is_none_or(|age| age >= 0));
            for value in [&request.state, &request.nonce] {
                assert!(value.as_ref().is_none_or(|v| v.len() <= MAX_VALUE_LEN));
            }
            if let Some(uri) = single("redirect_uri").flatten()
                && meets_rules(uri)
            {
                let location = code_location(&request, "the-code");
                let mut pairs = vec![("code", "the-code")];
                if let Some(state) = &request.state {
                    pairs.push(("state", state));
                }
                pairs.push(("iss", ISSUER));
                check_location(uri, &location, &pairs);
            }
        }
        Err(AuthorizeError::Page(_)) => assert!(!genuine, "a genuine redirect URI got a page"),
        Err(AuthorizeError::Redirect(refusal)) => {
            assert!(
                genuine,
                "an error sent to an address not known to be genuine"
            );
            assert_eq!(
                Some(Some(refusal.redirect_uri.as_str())),
                single("redirect_uri")
            );
            assert_eq!(refusal.issuer, ISSUER);
            assert!(
                refusal
                    .state
                    .as_ref()
                    .is_none_or(|s| s.len() <= MAX_VALUE_LEN),
                "an overlong state sent back"
            );
            if meets_rules(&refusal.redirect_uri) {
                let location = refusal.location();
                let mut pairs = vec![
                    ("error", refusal.error),
                    ("error_description", refusal.description.as_str()),
                ];
                if let Some(state) = &refusal.state {
                    pairs.push(("state", state));
                }
                pairs.push(("iss", ISSUER));
                check_location(&refusal.redirect_uri, &location, &pairs);
            }
        }
    }
});
