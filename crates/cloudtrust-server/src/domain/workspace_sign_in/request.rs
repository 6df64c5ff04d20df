//! Authorization requests (`/core/connect/authorize`): checking one, and the redirects that
//! answer it.
//!
//! The order of checks follows RFC 6749 §4.1.2.1: until the client and its redirect URI are
//! known to be genuine, an error is shown to the person and never sent anywhere; after that,
//! errors go back to the client, with `state` and `iss` (RFC 9207, against mix-up attacks).

use serde::{Deserialize, Serialize};

use super::scopes::{self, OFFLINE_ACCESS};
use crate::domain::workspace_clients::{ClientType, WorkspaceClient};

/// The longest `state`, `nonce` or `acr_values` accepted.
const MAX_VALUE_LEN: usize = 2048;

/// What `prompt` asks for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prompt {
    /// `none`: show nothing; fail when sign-in or consent would be needed.
    pub none: bool,
    /// `login` (or `select_account`): sign in again.
    pub login: bool,
    /// `consent`: ask for consent again.
    pub consent: bool,
}

/// A checked authorization request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizationRequest {
    /// The client.
    pub client_id: String,
    /// Where the answer goes: one of the client's registered URIs, exactly.
    pub redirect_uri: String,
    /// The scopes asked for, known ones only.
    pub scopes: Vec<String>,
    /// Opaque value of the client, sent back.
    pub state: Option<String>,
    /// Opaque value of the client, put in the ID token.
    pub nonce: Option<String>,
    /// The PKCE `S256` challenge.
    pub code_challenge: Option<String>,
    /// What `prompt` asks for.
    pub prompt: Prompt,
    /// The longest time since the user's sign-in that the client accepts, in seconds.
    pub max_age: Option<i64>,
    /// The issuer the request came to (`<base>/core`), named in the answer.
    pub issuer: String,
}

impl AuthorizationRequest {
    /// The scopes as one space-separated string.
    pub fn scope(&self) -> String {
        self.scopes.join(" ")
    }
}

/// Why an authorization request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizeError {
    /// Shown to the person, never redirected: the client or its redirect URI is not genuine.
    Page(String),
    /// Sent back to the client.
    Redirect(ErrorRedirect),
}

/// An error sent back to the client's redirect URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorRedirect {
    /// The redirect URI.
    pub redirect_uri: String,
    /// RFC 6749 / OpenID Connect error code.
    pub error: &'static str,
    /// Words for the developer.
    pub description: String,
    /// The client's `state`.
    pub state: Option<String>,
    /// The issuer (RFC 9207).
    pub issuer: String,
}

impl ErrorRedirect {
    /// The URL the browser is sent to.
    pub fn location(&self) -> String {
        let mut pairs = vec![
            ("error", self.error),
            ("error_description", self.description.as_str()),
        ];
        if let Some(state) = &self.state {
            pairs.push(("state", state));
        }
        pairs.push(("iss", &self.issuer));
        with_query(&self.redirect_uri, &pairs)
    }
}

/// `uri` with `pairs` added to its query, form-encoded.
pub fn with_query(uri: &str, pairs: &[(&str, &str)]) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (name, value) in pairs {
        query.append_pair(name, value);
    }
    let query = query.finish();
    // Registered redirect URIs have no fragment (RFC 6749 §3.1.2), so the query goes last.
    let separator = if uri.contains('?') { '&' } else { '?' };
    format!("{uri}{separator}{query}")
}

/// The single value of parameter `name`: `Ok(None)` when absent or empty, `Err` when repeated.
fn single<'a>(params: &'a [(String, String)], name: &str) -> Result<Option<&'a str>, String> {
    let mut values = params.iter().filter(|(k, _)| k == name).map(|(_, v)| v);
    let first = values.next();
    if values.next().is_some() {
        return Err(format!("parameter `{name}` is repeated"));
    }
    Ok(first.map(String::as_str).filter(|v| !v.is_empty()))
}

/// Whether `challenge` can be an S256 PKCE challenge: 43 base64url characters.
fn is_s256_challenge(challenge: &str) -> bool {
    challenge.len() == 43
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Checks an authorization request for `client` (looked up by its `client_id`), arriving at
/// `issuer`.
pub fn check(
    params: &[(String, String)],
    client: Option<&WorkspaceClient>,
    issuer: &str,
) -> Result<AuthorizationRequest, AuthorizeError> {
    let page = |text: &str| AuthorizeError::Page(text.to_owned());
    let client_id = single(params, "client_id")
        .map_err(|e| page(&e))?
        .ok_or_else(|| page("The application did not say who it is (client_id is missing)."))?;
    let client = client
        .filter(|c| c.client_id == client_id)
        .ok_or_else(|| page("This application is not known here (unknown client_id)."))?;
    if !client.enabled {
        return Err(page(
            "This application has been disabled by its administrator.",
        ));
    }
    let redirect_uri = single(params, "redirect_uri")
        .map_err(|e| page(&e))?
        .ok_or_else(|| {
            page("The application did not say where to return (redirect_uri is missing).")
        })?;
    if !client.redirect_uris.iter().any(|r| r == redirect_uri) {
        return Err(page(
            "The application asked to return to an address it has not registered \
             (redirect_uri does not match).",
        ));
    }
    // The client's `state` goes back with every error, unless it is longer than a request may
    // carry (refused below): an answer never reflects more than a request may hold.
    let state = single(params, "state")
        .ok()
        .flatten()
        .filter(|s| s.len() <= MAX_VALUE_LEN)
        .map(str::to_owned);
    let fail = |error: &'static str, description: String| {
        AuthorizeError::Redirect(ErrorRedirect {
            redirect_uri: redirect_uri.to_owned(),
            error,
            description,
            state: state.clone(),
            issuer: issuer.to_owned(),
        })
    };
    let invalid = |description: String| fail("invalid_request", description);
    let get = |name: &str| single(params, name).map_err(invalid);
    if single(params, "state").is_err() {
        return Err(invalid("parameter `state` is repeated".to_owned()));
    }
    match get("response_type")? {
        None => return Err(invalid("response_type is required".to_owned())),
        Some("code") => {}
        Some(other) => {
            return Err(fail(
                "unsupported_response_type",
                format!("response_type `{other}` is not supported; use code"),
            ));
        }
    }
    if let Some(mode) = get("response_mode")?
        && mode != "query"
    {
        return Err(invalid(format!(
            "response_mode `{mode}` is not supported; use query"
        )));
    }
    if get("request")?.is_some() {
        return Err(fail(
            "request_not_supported",
            "request objects are not supported".to_owned(),
        ));
    }
    if get("request_uri")?.is_some() {
        return Err(fail(
            "request_uri_not_supported",
            "request_uri is not supported".to_owned(),
        ));
    }
    let scope = get("scope")?.ok_or_else(|| invalid("scope is required".to_owned()))?;
    let scopes = scopes::parse(scope)
        .map_err(|unknown| fail("invalid_scope", format!("scope `{unknown}` is not known")))?;
    if scopes.is_empty() {
        return Err(invalid("scope is required".to_owned()));
    }
    if scopes.iter().any(|s| s == OFFLINE_ACCESS) && !client.allow_offline_access {
        return Err(fail(
            "invalid_scope",
            "this application may not ask for offline_access".to_owned(),
        ));
    }
    let code_challenge = get("code_challenge")?;
    let method = get("code_challenge_method")?;
    let code_challenge = match (code_challenge, method) {
        (None, None) => None,
        (None, Some(_)) => return Err(invalid("code_challenge is missing".to_owned())),
        (Some(_), None | Some("plain")) => {
            return Err(invalid(
                "code_challenge_method must be S256; plain is not allowed".to_owned(),
            ));
        }
        (Some(challenge), Some("S256")) => {
            if !is_s256_challenge(challenge) {
                return Err(invalid(
                    "code_challenge must be 43 base64url characters (S256)".to_owned(),
                ));
            }
            Some(challenge.to_owned())
        }
        (Some(_), Some(other)) => {
            return Err(invalid(format!(
                "code_challenge_method `{other}` is not supported; use S256"
            )));
        }
    };
    if code_challenge.is_none() && (client.client_type == ClientType::Public || client.require_pkce)
    {
        return Err(invalid(
            "this application must use PKCE: send code_challenge with code_challenge_method=S256"
                .to_owned(),
        ));
    }
    let mut prompt = Prompt::default();
    if let Some(text) = get("prompt")? {
        for value in text.split(' ').filter(|v| !v.is_empty()) {
            match value.to_ascii_lowercase().as_str() {
                "none" => prompt.none = true,
                "login" | "select_account" => prompt.login = true,
                "consent" => prompt.consent = true,
                other => return Err(invalid(format!("prompt `{other}` is not supported"))),
            }
        }
        if prompt.none && (prompt.login || prompt.consent) {
            return Err(invalid(
                "prompt=none cannot be combined with other values".to_owned(),
            ));
        }
    }
    let max_age = match get("max_age")? {
        None => None,
        Some(text) => Some(
            text.parse::<i64>()
                .ok()
                .filter(|v| *v >= 0)
                .ok_or_else(|| invalid("max_age must be a number of seconds".to_owned()))?,
        ),
    };
    let nonce = get("nonce")?.map(str::to_owned);
    for (name, value) in [
        ("state", get("state")?),
        ("nonce", nonce.as_deref()),
        ("acr_values", get("acr_values")?),
    ] {
        if value.is_some_and(|v| v.len() > MAX_VALUE_LEN) {
            return Err(invalid(format!(
                "{name} is longer than {MAX_VALUE_LEN} characters"
            )));
        }
    }
    Ok(AuthorizationRequest {
        client_id: client.client_id.clone(),
        redirect_uri: redirect_uri.to_owned(),
        scopes,
        state,
        nonce,
        code_challenge,
        prompt,
        max_age,
        issuer: issuer.to_owned(),
    })
}

/// The redirect that answers `request` with `code`.
pub fn code_location(request: &AuthorizationRequest, code: &str) -> String {
    let mut pairs = vec![("code", code)];
    if let Some(state) = &request.state {
        pairs.push(("state", state));
    }
    pairs.push(("iss", &request.issuer));
    with_query(&request.redirect_uri, &pairs)
}

/// The redirect that refuses `request` with `error` (after a page was shown).
pub fn error_location(
    request: &AuthorizationRequest,
    error: &'static str,
    description: &str,
) -> String {
    ErrorRedirect {
        redirect_uri: request.redirect_uri.clone(),
        error,
        description: description.to_owned(),
        state: request.state.clone(),
        issuer: request.issuer.clone(),
    }
    .location()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ISSUER: &str = "https://cloudtrust.example/core";
    const REDIRECT: &str = "https://app.example.com/callback";

    fn client() -> WorkspaceClient {
        WorkspaceClient {
            name: "acme-private-1".to_owned(),
            customer_id: "acme".to_owned(),
            client_id: "app".to_owned(),
            display_name: "App".to_owned(),
            client_type: ClientType::Private,
            redirect_uris: vec![REDIRECT.to_owned()],
            post_logout_redirect_uris: Vec::new(),
            require_user_consent: false,
            require_pkce: false,
            allow_offline_access: false,
            enabled: true,
            owner: "owner@acme.example".to_owned(),
            owner_contact: "owner@acme.example".to_owned(),
            secret: None,
            old_secret: None,
            created_at: 0,
        }
    }

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn refusal(pairs: &[(&str, &str)]) -> ErrorRedirect {
        match check(&params(pairs), Some(&client()), ISSUER) {
            Err(AuthorizeError::Redirect(refusal)) => refusal,
            other => panic!("a redirected error expected, not {other:?}"),
        }
    }

    #[test]
    fn an_overlong_state_is_refused_and_never_sent_back() {
        let long = "s".repeat(MAX_VALUE_LEN + 1);
        let base = [("client_id", "app"), ("redirect_uri", REDIRECT)];
        // Refused for another reason first: the error goes back without the state.
        let early = refusal(&[base[0], base[1], ("state", &long)]);
        assert_eq!(early.error, "invalid_request");
        assert_eq!(early.state, None);
        assert!(early.location().len() < MAX_VALUE_LEN);
        // Otherwise well-formed: refused for its state, which is not sent back either.
        let complete = [
            base[0],
            base[1],
            ("response_type", "code"),
            ("scope", "openid"),
            ("state", &long),
        ];
        let refused = refusal(&complete);
        assert_eq!(refused.state, None);
        assert!(refused.description.starts_with("state is longer"));
        // A state of the longest length accepted goes back as it came.
        let longest = "s".repeat(MAX_VALUE_LEN);
        let echoed = refusal(&[base[0], base[1], ("state", &longest)]);
        assert_eq!(echoed.state.as_deref(), Some(longest.as_str()));
    }
}
