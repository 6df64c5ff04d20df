//! Workspace OAuth clients: the OAuth 2.0 clients of Workspace applications, private
//! (confidential, with a secret that expires and is rotated with overlap) or public (native
//! applications: no secret, PKCE required).

use serde::{Deserialize, Serialize};

use super::administrators::validate_text;
use super::secrets::random_bytes;
use crate::error::{Error, Result};

/// Whether a client keeps a secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClientType {
    /// A confidential client: it has a secret.
    Private,
    /// A native application: no secret, PKCE required.
    Public,
}

impl ClientType {
    /// `private` or `public`, as stored and as in the name.
    pub fn as_str(self) -> &'static str {
        match self {
            ClientType::Private => "private",
            ClientType::Public => "public",
        }
    }

    /// Parses a stored or typed name.
    pub fn parse(text: &str) -> Result<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "private" => Ok(ClientType::Private),
            "public" => Ok(ClientType::Public),
            _ => Err(Error::invalid("client_type", "must be private or public")),
        }
    }
}

/// When a secret was made and when it stops working (unix seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretTimes {
    /// When it was made.
    pub updated_at: i64,
    /// When it stops working.
    pub expires_at: i64,
}

impl SecretTimes {
    /// Whether the secret works at `now`.
    pub fn is_valid_at(&self, now: i64) -> bool {
        now < self.expires_at
    }
}

/// A Workspace OAuth client, without its secrets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkspaceClient {
    /// The path key, `<customer>-private-<n>` or `<customer>-public-<n>`; never reused.
    pub name: String,
    /// The customer it belongs to.
    pub customer_id: String,
    /// The OAuth 2.0 client id (also the application id, `api_key`).
    pub client_id: String,
    /// The name shown to people.
    pub display_name: String,
    /// Private or public.
    pub client_type: ClientType,
    /// Where the authorization server may send the browser back to.
    pub redirect_uris: Vec<String>,
    /// Where the browser may go after signing out.
    pub post_logout_redirect_uris: Vec<String>,
    /// Whether people are asked to consent.
    pub require_user_consent: bool,
    /// Whether the authorization code flow must use PKCE.
    pub require_pkce: bool,
    /// Whether the client may get refresh tokens.
    pub allow_offline_access: bool,
    /// Whether the client works at all.
    pub enabled: bool,
    /// The email of the administrator who created it.
    pub owner: String,
    /// Who is reminded before a secret expires.
    pub owner_contact: String,
    /// The current secret's times (private clients).
    pub secret: Option<SecretTimes>,
    /// The old secret's times, until it expires or is expired.
    pub old_secret: Option<SecretTimes>,
    /// Creation time.
    pub created_at: i64,
}

/// A client to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewWorkspaceClient {
    /// The name shown to people.
    pub display_name: String,
    /// Private or public.
    pub client_type: ClientType,
    /// Redirect URIs.
    pub redirect_uris: Vec<String>,
    /// Post-logout redirect URIs.
    pub post_logout_redirect_uris: Vec<String>,
    /// Whether people are asked to consent.
    pub require_user_consent: bool,
    /// Whether a private client must use PKCE (public clients always must).
    pub require_pkce: bool,
    /// Whether the client may get refresh tokens.
    pub allow_offline_access: bool,
    /// Who is reminded before a secret expires (default: the owner).
    pub owner_contact: Option<String>,
}

/// What an edit changes; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkspaceClientChanges {
    /// The name shown to people.
    pub display_name: Option<String>,
    /// Whether people are asked to consent.
    pub require_user_consent: Option<bool>,
    /// All the redirect URIs.
    pub redirect_uris: Option<Vec<String>>,
    /// All the post-logout redirect URIs.
    pub post_logout_redirect_uris: Option<Vec<String>>,
    /// Who is reminded before a secret expires.
    pub owner_contact: Option<String>,
}

/// A client just created, with its secret (private clients), shown this once.
#[derive(Debug, Clone)]
pub struct CreatedWorkspaceClient {
    /// The client.
    pub client: WorkspaceClient,
    /// The secret in clear, for a private client.
    pub secret: Option<String>,
}

/// The most redirect URIs of either kind a client may have.
pub const MAX_URIS: usize = 20;
/// The longest redirect URI accepted.
pub const MAX_URI_LEN: usize = 2000;

/// Checks redirect URIs (RFC 9700 §2.1, RFC 8252 §7): absolute and without fragment; `https`,
/// `http` only for loopback hosts, or a private-use scheme in reverse-domain form
/// (`com.example.app:/callback`); no user name or password in the authority; no whitespace,
/// control character or backslash, so the text stored is exactly the text checked (redirect
/// URIs are later compared as strings). At most [`MAX_URIS`]; duplicates are dropped. `field`
/// names the list in errors.
pub fn validate_redirect_uris(field: &'static str, uris: &[String]) -> Result<Vec<String>> {
    if uris.len() > MAX_URIS {
        return Err(Error::invalid(
            field,
            format!("at most {MAX_URIS} URIs are allowed"),
        ));
    }
    let mut checked: Vec<String> = Vec::with_capacity(uris.len());
    for uri in uris {
        let uri = uri.trim();
        let refuse = |why: &str| Error::invalid(field, format!("`{uri}` {why}"));
        if uri.len() > MAX_URI_LEN {
            return Err(Error::invalid(
                field,
                format!("a URI is longer than {MAX_URI_LEN} characters"),
            ));
        }
        if uri
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '\\')
        {
            return Err(refuse(
                "holds whitespace, a control character or a backslash",
            ));
        }
        let parsed = url::Url::parse(uri).map_err(|_| refuse("is not an absolute URI"))?;
        if parsed.fragment().is_some() {
            return Err(refuse("has a fragment, which redirect URIs may not have"));
        }
        if !parsed.username().is_empty()
            || parsed.password().is_some()
            || has_user_info(uri, &parsed)
        {
            return Err(refuse("names a user, which redirect URIs may not"));
        }
        match parsed.scheme() {
            "https" if parsed.host().is_some() => {}
            "http" if is_loopback(&parsed) => {}
            "http" => {
                return Err(refuse(
                    "uses http, which only loopback hosts may; use https",
                ));
            }
            private if private.contains('.') && !matches!(private, "https" | "http") => {}
            _ => {
                return Err(refuse(
                    "must use https, http on a loopback host, or an application's own scheme \
                     in reverse-domain form (com.example.app:/callback)",
                ));
            }
        }
        if !checked.iter().any(|c| c == uri) {
            checked.push(uri.to_owned());
        }
    }
    Ok(checked)
}

/// Whether the authority of `uri` (as written) holds an `@`, even with an empty user: `url`
/// leaves an empty one out of what it reads, and reads `app.example://@` as having no host
/// only while nothing follows, so the answer's query would turn it unparseable.
fn has_user_info(uri: &str, parsed: &url::Url) -> bool {
    if !parsed.has_authority() {
        return false;
    }
    // After the scheme come two slashes (any number, for http and https), then the authority
    // up to the path, query or fragment.
    let after_scheme = uri.split_once(':').map_or("", |(_, rest)| rest);
    let authority = if matches!(parsed.scheme(), "http" | "https") {
        after_scheme.trim_start_matches('/')
    } else {
        after_scheme.strip_prefix("//").unwrap_or(after_scheme)
    };
    authority
        .split(['/', '?', '#'])
        .next()
        .is_some_and(|authority| authority.contains('@'))
}

fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Checks a display name: 1 to 200 characters, no control characters.
pub fn validate_display_name(name: &str) -> Result<String> {
    validate_text("display_name", name, 200)
}

/// A fresh client id: 16 random bytes as unpadded base64url (what Citrix's look like), so it
/// needs no encoding in a URL or a form.
pub fn generate_client_id() -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random_bytes::<16>())
}

/// The name of the `number`th client of `client_type` of `customer_id`.
pub fn client_name(customer_id: &str, client_type: ClientType, number: i64) -> String {
    format!("{customer_id}-{}-{number}", client_type.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uris(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn redirect_uris_are_absolute_without_fragments_and_http_only_on_loopback() {
        let good = uris(&[
            "https://app.example.com/callback",
            "http://127.0.0.1:53682/callback",
            "http://localhost/cb",
            "http://[::1]:8080/cb",
            "com.example.app:/oauth2redirect",
            "https://app.example.com/callback",
        ]);
        let checked = validate_redirect_uris("redirect_uris", &good).expect("valid");
        assert_eq!(checked.len(), 5, "duplicates are dropped");
        let at_elsewhere = uris(&[
            "https://app.example.com/@team/cb?as=a@b",
            "com.example.app:/@cb",
            "com.example.app:///@cb",
        ]);
        assert!(validate_redirect_uris("redirect_uris", &at_elsewhere).is_ok());
        for bad in [
            "/callback",
            "app.example.com/callback",
            "https://app.example.com/callback#frag",
            "http://app.example.com/callback",
            "javascript:alert(1)",
            "data:text/html,hi",
            "http://127.0.0.1.example.com/cb",
            "http://localhost.example.com/cb",
            "https://app.example.com@evil.example/cb",
            "https://user:pass@app.example.com/cb",
            "https://@app.example.com/cb",
            "https:@app.example.com/cb",
            "com.example.app://@",
            "com.example.app://:@host/cb",
            "ws://evil.example/cb",
            "ftp://evil.example/cb",
            "myapp:/cb",
            "https://a.example/cb https://b.example/cb",
            "https://app.ex\tample/cb",
            "https://app.example.com\\cb",
            "file:///etc/passwd",
            "HTTP://evil.example/cb",
        ] {
            assert!(
                validate_redirect_uris("redirect_uris", &uris(&[bad])).is_err(),
                "{bad}"
            );
        }
        let many: Vec<String> = (0..=MAX_URIS)
            .map(|n| format!("https://app.example.com/{n}"))
            .collect();
        assert!(validate_redirect_uris("redirect_uris", &many).is_err());
    }

    #[test]
    fn names_and_ids_have_their_shapes() {
        assert_eq!(
            client_name("acme", ClientType::Private, 3),
            "acme-private-3"
        );
        let id = generate_client_id();
        assert_eq!(id.len(), 22);
        assert!(
            id.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_ne!(id, generate_client_id());
        assert_eq!(
            ClientType::parse(" Public ").expect("type"),
            ClientType::Public
        );
        assert!(ClientType::parse("confidential").is_err());
    }
}
