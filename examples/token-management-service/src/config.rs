//! The service's configuration, read from the environment under the names `cloudtrust serve
//! --dev` writes to `cloudtrust-dev.env`, so that sourcing that file is all the setup needed.

use std::fmt;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::time::Duration;

use url::{Host, Url};

/// The paths this service answers itself; the redirect URI's path must be another one.
const OWN_PATHS: [&str; 4] = ["/", "/login", "/api/me", "/logout"];

/// What the service needs to know.
#[derive(Clone, Debug)]
pub struct Config {
    /// The OpenID Connect issuer (`WORKSPACE_ISSUER`), e.g. `http://127.0.0.1:8080/core`.
    pub issuer: String,
    /// The private Workspace OAuth client's id (`WORKSPACE_CLIENT_ID`).
    pub client_id: String,
    /// Its secret (`WORKSPACE_CLIENT_SECRET`).
    pub client_secret: String,
    /// The redirect URI registered for the client (`WORKSPACE_REDIRECT_URI`). Its origin is
    /// this service's own URL, and its path is where the service takes the authorization
    /// response.
    pub redirect_uri: Url,
    /// Where to listen (`LISTEN`): the redirect URI's host and port unless set.
    pub listen: SocketAddr,
    /// Where the server sends the browser after signing out (`POST_LOGOUT_REDIRECT_URI`);
    /// it must be registered with the client. Without it the server shows its own page.
    pub post_logout_redirect_uri: Option<Url>,
    /// How long before its expiry an access token is replaced: a token about to expire could
    /// expire on its way to the resource server.
    pub refresh_margin: Duration,
    /// The most sessions kept at once; when full, the least recently used one is forgotten.
    pub max_sessions: usize,
    /// How long a session lasts without being used.
    pub session_idle: Duration,
    /// The most sign-ins in progress kept at once.
    pub max_pending_logins: usize,
    /// How long a browser has to come back from the sign-in pages.
    pub login_timeout: Duration,
}

/// Why the configuration cannot be used.
#[derive(Debug, PartialEq, Eq)]
pub enum ConfigError {
    /// Required variables that are not set (or empty).
    Missing(Vec<&'static str>),
    /// A variable whose value cannot be used, and why.
    Invalid {
        /// The variable.
        name: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Missing(names) => write!(
                f,
                "missing environment variable{} {}. Start the server with `cargo run --release -p \
                 cloudtrust -- serve --dev` and `source` the cloudtrust-dev.env file it prints \
                 first",
                if names.len() == 1 { "" } else { "s" },
                names.join(", ")
            ),
            ConfigError::Invalid { name, reason } => write!(f, "{name}: {reason}"),
        }
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// A configuration with the given client and the defaults: listening on the redirect URI's
    /// host and port, refreshing 60 s before expiry, at most 10 000 sessions idle for at most
    /// an hour, and ten minutes to sign in.
    pub fn new(
        issuer: &str,
        client_id: &str,
        client_secret: &str,
        redirect_uri: &str,
    ) -> Result<Config, ConfigError> {
        let invalid = |name, reason: String| ConfigError::Invalid { name, reason };
        let redirect_uri = Url::parse(redirect_uri)
            .map_err(|e| invalid("WORKSPACE_REDIRECT_URI", format!("not a URL ({e})")))?;
        check_redirect_uri(&redirect_uri).map_err(|r| invalid("WORKSPACE_REDIRECT_URI", r))?;
        Url::parse(issuer).map_err(|e| invalid("WORKSPACE_ISSUER", format!("not a URL ({e})")))?;
        let listen =
            listen_address(&redirect_uri).map_err(|r| invalid("WORKSPACE_REDIRECT_URI", r))?;
        Ok(Config {
            issuer: issuer.trim_end_matches('/').to_owned(),
            client_id: client_id.to_owned(),
            client_secret: client_secret.to_owned(),
            redirect_uri,
            listen,
            post_logout_redirect_uri: None,
            refresh_margin: Duration::from_secs(60),
            max_sessions: 10_000,
            session_idle: Duration::from_secs(3600),
            max_pending_logins: 10_000,
            login_timeout: Duration::from_secs(600),
        })
    }

    /// The configuration from the process environment.
    pub fn from_env() -> Result<Config, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// The configuration from `lookup`, which answers a variable's value by its name.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let required = [
            "WORKSPACE_ISSUER",
            "WORKSPACE_CLIENT_ID",
            "WORKSPACE_CLIENT_SECRET",
            "WORKSPACE_REDIRECT_URI",
        ];
        let value = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let missing: Vec<&'static str> = required
            .into_iter()
            .filter(|name| value(name).is_none())
            .collect();
        if !missing.is_empty() {
            return Err(ConfigError::Missing(missing));
        }
        let [issuer, client_id, client_secret, redirect_uri] =
            required.map(|name| value(name).unwrap_or_default());
        let mut config = Config::new(&issuer, &client_id, &client_secret, &redirect_uri)?;
        if let Some(listen) = value("LISTEN") {
            config.listen = listen.trim().parse().map_err(|e| ConfigError::Invalid {
                name: "LISTEN",
                reason: format!("not an address such as 127.0.0.1:53682 ({e})"),
            })?;
        }
        if let Some(uri) = value("POST_LOGOUT_REDIRECT_URI") {
            config.post_logout_redirect_uri =
                Some(Url::parse(uri.trim()).map_err(|e| ConfigError::Invalid {
                    name: "POST_LOGOUT_REDIRECT_URI",
                    reason: format!("not a URL ({e})"),
                })?);
        }
        Ok(config)
    }

    /// The page to open in a browser: the redirect URI's origin, which is where the browser
    /// holds this service's cookies.
    pub fn home_url(&self) -> String {
        format!("{}/", self.redirect_uri.origin().ascii_serialization())
    }

    /// Whether cookies get the `Secure` attribute: when the service's own URL is HTTPS.
    pub fn secure_cookies(&self) -> bool {
        self.redirect_uri.scheme() == "https"
    }

    /// The path the authorization response comes back to.
    pub fn callback_path(&self) -> &str {
        self.redirect_uri.path()
    }
}

/// Checks that the redirect URI can be this service's own address: HTTP(S), and a path the
/// router can take as it is and that no page of the service already uses.
fn check_redirect_uri(uri: &Url) -> Result<(), String> {
    if !matches!(uri.scheme(), "http" | "https") {
        return Err("must be an http or https URL, this service's own".to_owned());
    }
    let path = uri.path();
    if OWN_PATHS.contains(&path) {
        return Err(format!(
            "its path {path} is a page of this service; use /callback"
        ));
    }
    let plain = |c: char| c.is_ascii_alphanumeric() || "-._~/".contains(c);
    if !path.chars().all(plain) {
        return Err(
            "its path may hold only letters, digits, '-', '.', '_', '~' and '/'".to_owned(),
        );
    }
    Ok(())
}

/// The address the redirect URI points at, where the browser will come back to.
fn listen_address(uri: &Url) -> Result<SocketAddr, String> {
    let port = uri
        .port_or_known_default()
        .ok_or_else(|| "has no port".to_owned())?;
    match uri.host() {
        Some(Host::Ipv4(ip)) => Ok(SocketAddr::new(IpAddr::V4(ip), port)),
        Some(Host::Ipv6(ip)) => Ok(SocketAddr::new(IpAddr::V6(ip), port)),
        Some(Host::Domain(name)) => (name, port)
            .to_socket_addrs()
            .ok()
            .and_then(|mut addresses| addresses.next())
            .ok_or_else(|| format!("its host {name} does not resolve; set LISTEN")),
        None => Err("has no host".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        }
    }

    const DEV: [(&str, &str); 4] = [
        ("WORKSPACE_ISSUER", "http://127.0.0.1:8080/core"),
        ("WORKSPACE_CLIENT_ID", "id"),
        ("WORKSPACE_CLIENT_SECRET", "secret"),
        ("WORKSPACE_REDIRECT_URI", "http://127.0.0.1:53682/callback"),
    ];

    #[test]
    fn the_dev_env_file_is_enough_and_the_redirect_uri_says_where_to_listen() {
        let config = Config::from_lookup(lookup(&DEV)).expect("config");
        assert_eq!(config.listen, "127.0.0.1:53682".parse().expect("address"));
        assert_eq!(config.home_url(), "http://127.0.0.1:53682/");
        assert_eq!(config.callback_path(), "/callback");
        assert!(!config.secure_cookies());
        assert_eq!(config.post_logout_redirect_uri, None);
    }

    #[test]
    fn listen_and_post_logout_redirect_uri_are_taken_when_set() {
        let mut pairs = DEV.to_vec();
        pairs.push(("LISTEN", "0.0.0.0:9000"));
        pairs.push(("POST_LOGOUT_REDIRECT_URI", "http://127.0.0.1:53682/"));
        let config = Config::from_lookup(lookup(&pairs)).expect("config");
        assert_eq!(config.listen, "0.0.0.0:9000".parse().expect("address"));
        assert_eq!(
            config.post_logout_redirect_uri.map(String::from).as_deref(),
            Some("http://127.0.0.1:53682/")
        );
    }

    #[test]
    fn every_missing_variable_is_named() {
        let error = Config::from_lookup(lookup(&DEV[..2])).expect_err("incomplete");
        assert_eq!(
            error,
            ConfigError::Missing(vec!["WORKSPACE_CLIENT_SECRET", "WORKSPACE_REDIRECT_URI"])
        );
        assert!(error.to_string().contains("cloudtrust-dev.env"), "{error}");
    }

    #[test]
    fn https_means_secure_cookies() {
        let config = Config::new("https://id.example/core", "id", "s", "https://127.0.0.1/cb")
            .expect("config");
        assert!(config.secure_cookies());
        assert_eq!(config.listen.port(), 443);
    }

    #[test]
    fn a_redirect_uri_the_service_cannot_serve_is_refused() {
        for uri in [
            "http://127.0.0.1:53682/",
            "http://127.0.0.1:53682/login",
            "http://127.0.0.1:53682/{id}",
            "com.example.app:/callback",
        ] {
            let error = Config::new("http://127.0.0.1:8080/core", "id", "s", uri);
            assert!(
                matches!(
                    error,
                    Err(ConfigError::Invalid {
                        name: "WORKSPACE_REDIRECT_URI",
                        ..
                    })
                ),
                "{uri}: {error:?}"
            );
        }
    }
}
