//! Configuration: defaults < config file < `CLOUDTRUST_*` environment < command-line flags.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

use crate::domain::customers::Region;
use crate::keys::SigningAlgorithm;

/// Everything a cloudtrust node needs to know at start.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// Address the HTTP listener binds.
    pub listen: SocketAddr,
    /// Serve plain HTTP on `listen`. `false` (`serve --no-plain-http`) serves HTTPS only, which
    /// must then be set up (`tls_cert` and `tls_key`, or `tls_dev`).
    pub plain_http: bool,
    /// Folder of the default SQLite database and any generated key material.
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…`; defaults to `cloudtrust.db` in [`Config::data_dir`].
    pub database_url: Option<String>,
    /// The public base URL (token `iss`, discovery); defaults to `http://<bound address>`.
    pub public_url: Option<String>,
    /// The default region: `X-CC-LocalGeo` of requests to hosts that name no region.
    pub region: Region,
    /// The public host of each region served; a request to one of them serves only customers
    /// homed in its region. Remove a region's entry to stop serving it.
    pub region_hosts: RegionHosts,
    /// The global host, serving customers homed in `us`, `eu` and `ap-s`; empty for none.
    pub global_host: Option<String>,
    /// Proxies whose `X-Forwarded-Host` names the host a client asked for.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Serve HTTPS (HTTP/1.1 and HTTP/2) on this address as well, with `tls_cert` / `tls_key`
    /// or the development certificates (`tls_dev`).
    pub tls_listen: Option<SocketAddr>,
    /// Certificate chain (PEM) for HTTPS.
    pub tls_cert: Option<PathBuf>,
    /// Private key (PEM) for HTTPS.
    pub tls_key: Option<PathBuf>,
    /// Serve HTTPS with a development CA and certificate made in the data dir.
    pub tls_dev: bool,
    /// Lifetime of bearer tokens in seconds.
    pub token_lifetime_secs: u64,
    /// `aud` of bearer tokens.
    pub token_audience: String,
    /// Algorithm new signing keys use: `ES256` (default), `EdDSA` or `RS256`.
    pub signing_algorithm: SigningAlgorithm,
    /// Days after which the signing key is replaced by itself, as `cloudtrust keys rotate`
    /// does; `0` (the default) rotates only on command.
    pub signing_key_rotation_days: u64,
    /// Key-encryption key, 32 bytes as unpadded base64url. When absent, it is read from
    /// `cloudtrust.kek` in the data dir, and generated there on first start.
    pub key_encryption_key: Option<String>,
    /// Largest accepted request body in bytes.
    pub max_body_bytes: usize,
    /// How often, in milliseconds, a node looks for changes made by other nodes or the CLI
    /// (PostgreSQL nodes are also woken at once by `LISTEN/NOTIFY`).
    pub change_poll_millis: u64,
    /// How often, in milliseconds, token usage is written to the database.
    pub usage_flush_millis: u64,
    /// The most entries each table of the token endpoints' cache holds (API clients,
    /// administrators, customers): what bounds its memory, whatever the database's size.
    pub cache_max_entries: usize,
    /// Folder where messages to people (invitations) are written as `.eml` files, when
    /// `smtp_url` is not set; with neither, no message is sent.
    pub mail_dir: Option<PathBuf>,
    /// The `From` mailbox of messages to people, such as `cloudtrust <cloudtrust@example.com>`.
    pub mail_from: String,
    /// The SMTP server that sends messages to people, as a URL: `smtp://host:port` (plain),
    /// `smtp://host?tls=required` (STARTTLS), `smtps://host` (TLS from the start), with
    /// `user:password@` before the host to authenticate. When set, `mail_dir` is not used.
    pub smtp_url: Option<String>,
    /// Besides the per-client counts, give every issued bearer token its own system-log
    /// record (`platform/secureclient/token/issued`, target: the token's `jti`).
    pub audit_each_token: bool,
    /// How many days system-log records are kept.
    pub audit_retention_days: u64,
    /// Failed token requests per minute allowed for one client id (a burst of this many),
    /// on each node.
    pub failed_attempts_per_client: u32,
    /// Failed token requests per minute allowed from one source address for client ids that
    /// do not exist, on each node.
    pub failed_attempts_per_address: u32,
    /// Add failed token requests up across all nodes on one PostgreSQL database (written in
    /// batches every second), so N nodes do not allow N times the limits.
    pub throttle_shared: bool,
    /// Minutes without use after which a web-console session ends.
    pub console_idle_minutes: u64,
    /// Days a Workspace OAuth client's secret lasts.
    pub workspace_secret_lifetime_days: u64,
    /// Days before a Workspace OAuth client's secret expires at which its owner contact is
    /// reminded (and once more at expiry).
    pub workspace_secret_reminder_days: Vec<u64>,
    /// Seconds between two looks for secret reminders that fell due.
    pub workspace_reminder_check_secs: u64,
    /// Days a Workspace refresh token lasts unused; each use gives a new one for as long.
    pub workspace_refresh_lifetime_days: u64,
    /// Seconds a client has to send a request's headers (to start its next request on a
    /// kept-alive connection, and its first after connecting, the TLS handshake included)
    /// before the connection is closed.
    pub header_read_timeout: u64,
    /// Seconds a client has to send a request's body once its headers arrived (`408` after).
    pub body_read_timeout: u64,
    /// Connections open at once, over every listener; one more is closed at once.
    pub max_connections: usize,
    /// Address of a plain-HTTP listener serving only `/metrics`; when set, the main listeners
    /// answer `/metrics` with 404, so that it need not be exposed to clients.
    pub metrics_listen: Option<SocketAddr>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            plain_http: true,
            data_dir: PathBuf::from("."),
            database_url: None,
            public_url: None,
            region: Region::Us,
            region_hosts: RegionHosts::default(),
            global_host: Some("api.cloud.com".to_owned()),
            trusted_proxies: Vec::new(),
            tls_listen: None,
            metrics_listen: None,
            tls_cert: None,
            tls_key: None,
            tls_dev: false,
            token_lifetime_secs: 3600,
            token_audience: "cloudtrust".to_owned(),
            signing_algorithm: SigningAlgorithm::Es256,
            signing_key_rotation_days: 0,
            key_encryption_key: None,
            max_body_bytes: 64 * 1024,
            change_poll_millis: 250,
            usage_flush_millis: 1000,
            cache_max_entries: 100_000,
            mail_dir: None,
            mail_from: DEFAULT_MAIL_FROM.to_owned(),
            smtp_url: None,
            audit_each_token: false,
            audit_retention_days: 90,
            failed_attempts_per_client: 10,
            failed_attempts_per_address: 60,
            throttle_shared: false,
            console_idle_minutes: 30,
            workspace_secret_lifetime_days: 90,
            workspace_secret_reminder_days: vec![14, 7, 1],
            workspace_reminder_check_secs: 300,
            workspace_refresh_lifetime_days: 30,
            header_read_timeout: 10,
            body_read_timeout: 20,
            max_connections: 4096,
        }
    }
}

/// The public host of each region (Citrix Cloud's by default).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RegionHosts {
    /// United States.
    pub us: Option<String>,
    /// European Union.
    pub eu: Option<String>,
    /// Asia Pacific South.
    #[serde(rename = "ap-s")]
    pub ap_s: Option<String>,
    /// Japan.
    pub jp: Option<String>,
}

impl Default for RegionHosts {
    fn default() -> Self {
        RegionHosts {
            us: Some("api-us.cloud.com".to_owned()),
            eu: Some("api-eu.cloud.com".to_owned()),
            ap_s: Some("api-ap-s.cloud.com".to_owned()),
            jp: Some("api.citrixcloud.jp".to_owned()),
        }
    }
}

impl RegionHosts {
    /// The host of `region`, if served.
    /// An empty host (`jp = ""` in the file, `CLOUDTRUST_REGION_HOSTS__JP=` in the
    /// environment) means the region has no host here: a file can only add to the defaults,
    /// so this is how it takes one away.
    pub fn host(&self, region: Region) -> Option<&str> {
        match region {
            Region::Us => self.us.as_deref(),
            Region::Eu => self.eu.as_deref(),
            Region::ApS => self.ap_s.as_deref(),
            Region::Jp => self.jp.as_deref(),
        }
        .map(str::trim)
        .filter(|host| !host.is_empty())
    }
}

/// Where HTTPS listens when asked for without an address.
pub const DEFAULT_TLS_LISTEN: &str = "127.0.0.1:8443";

/// The `From` of messages to people when `mail_from` is not set.
pub const DEFAULT_MAIL_FROM: &str = "cloudtrust <cloudtrust@localhost>";

/// The name of the default SQLite database file in the data dir.
pub const DEFAULT_DATABASE_FILE: &str = "cloudtrust.db";

impl Config {
    /// Loads the configuration: defaults, then `file` (TOML) when given, then `CLOUDTRUST_*`
    /// environment variables, then `overrides` (typically command-line flags; `None` fields
    /// leave earlier values alone).
    pub fn load(
        file: Option<&Path>,
        overrides: impl Serialize,
    ) -> Result<Config, Box<figment::Error>> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(file) = file {
            figment = figment.merge(Toml::file_exact(file));
        }
        let mut config: Config = figment
            .merge(Env::prefixed("CLOUDTRUST_"))
            .merge(Serialized::defaults(overrides))
            .extract()
            .map_err(Box::new)?;
        config.make_paths_absolute().map_err(|e| {
            Box::new(figment::Error::from(format!(
                "the working directory is needed to resolve relative paths: {e}"
            )))
        })?;
        // A secret that expires at once, or after the end of time, is a typing mistake.
        if !(1..=3650).contains(&config.workspace_secret_lifetime_days) {
            return Err(Box::new(figment::Error::from(
                "workspace_secret_lifetime_days must be between 1 and 3650".to_owned(),
            )));
        }
        if config.cache_max_entries == 0 {
            return Err(Box::new(figment::Error::from(
                "cache_max_entries must be at least 1".to_owned(),
            )));
        }
        if config.signing_key_rotation_days > 3650 {
            return Err(Box::new(figment::Error::from(
                "signing_key_rotation_days must be between 0 (never) and 3650".to_owned(),
            )));
        }
        if !(1..=3650).contains(&config.workspace_refresh_lifetime_days) {
            return Err(Box::new(figment::Error::from(
                "workspace_refresh_lifetime_days must be between 1 and 3650".to_owned(),
            )));
        }
        if config
            .workspace_secret_reminder_days
            .iter()
            .any(|days| !(1..=3650).contains(days))
        {
            return Err(Box::new(figment::Error::from(
                "workspace_secret_reminder_days must each be between 1 and 3650".to_owned(),
            )));
        }
        Ok(config)
    }

    /// Resolves relative paths against the working directory once, at start: every path the
    /// server prints or writes into a file (such as `cloudtrust-dev.env`, which other shells
    /// source from anywhere) is then absolute.
    fn make_paths_absolute(&mut self) -> std::io::Result<()> {
        self.data_dir = std::path::absolute(&self.data_dir)?;
        for path in [&mut self.mail_dir, &mut self.tls_cert, &mut self.tls_key]
            .into_iter()
            .flatten()
        {
            *path = std::path::absolute(&*path)?;
        }
        Ok(())
    }

    /// The SMTP URL in effect: `smtp_url` unless it is blank (so an empty
    /// `CLOUDTRUST_SMTP_URL` turns SMTP off).
    pub fn smtp_url(&self) -> Option<&str> {
        self.smtp_url
            .as_deref()
            .map(str::trim)
            .filter(|url| !url.is_empty())
    }

    /// The global host in effect (`None` when unset or empty).
    pub fn global_host(&self) -> Option<&str> {
        self.global_host
            .as_deref()
            .map(str::trim)
            .filter(|host| !host.is_empty())
    }

    /// How long a Workspace OAuth client's secret lasts, in seconds.
    pub fn workspace_secret_lifetime_secs(&self) -> i64 {
        i64::try_from(self.workspace_secret_lifetime_days.saturating_mul(86_400))
            .unwrap_or(i64::MAX)
    }

    /// How long a Workspace refresh token lasts unused, in seconds.
    pub fn workspace_refresh_lifetime_secs(&self) -> i64 {
        i64::try_from(self.workspace_refresh_lifetime_days.saturating_mul(86_400))
            .unwrap_or(i64::MAX)
    }

    /// The database URL in effect.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join(DEFAULT_DATABASE_FILE).display()
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Flags {
        #[serde(skip_serializing_if = "Option::is_none")]
        listen: Option<SocketAddr>,
    }

    #[test]
    fn a_file_overrides_defaults_and_flags_override_the_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("cloudtrust.toml");
        std::fs::write(
            &file,
            "listen = \"127.0.0.1:9000\"\ntoken_lifetime_secs = 600\nsigning_algorithm = \"EdDSA\"\nregion = \"eu\"\n",
        )
        .expect("write");
        let config = Config::load(Some(&file), Flags { listen: None }).expect("loads");
        assert_eq!(config.listen, SocketAddr::from(([127, 0, 0, 1], 9000)));
        assert_eq!(config.token_lifetime_secs, 600);
        assert_eq!(config.signing_algorithm, SigningAlgorithm::EdDsa);
        assert_eq!(config.region, Region::Eu);
        assert_eq!(
            config.token_audience, "cloudtrust",
            "unset keys keep their default"
        );

        let flagged = Config::load(
            Some(&file),
            Flags {
                listen: Some(SocketAddr::from(([127, 0, 0, 1], 9001))),
            },
        )
        .expect("loads");
        assert_eq!(flagged.listen.port(), 9001);
    }

    #[test]
    fn bad_values_and_missing_files_are_reported() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("bad.toml");
        std::fs::write(&file, "signing_algorithm = \"HS256\"\n").expect("write");
        assert!(Config::load(Some(&file), Flags { listen: None }).is_err());
        assert!(
            Config::load(
                Some(&dir.path().join("absent.toml")),
                Flags { listen: None }
            )
            .is_err()
        );
    }

    #[derive(Serialize)]
    struct Paths {
        data_dir: PathBuf,
        mail_dir: PathBuf,
    }

    #[test]
    fn relative_paths_are_resolved_against_the_working_directory() {
        let config = Config::load(
            None,
            Paths {
                data_dir: PathBuf::from("data"),
                mail_dir: PathBuf::from("./mail"),
            },
        )
        .expect("loads");
        let here = std::env::current_dir().expect("working directory");
        assert_eq!(config.data_dir, here.join("data"));
        assert_eq!(
            config.mail_dir.as_deref(),
            Some(here.join("mail").as_path())
        );
        assert!(
            config
                .database_url()
                .starts_with(&format!("sqlite://{}", here.join("data").display())),
            "the default database is named by an absolute path"
        );
    }

    #[test]
    fn the_default_database_is_a_sqlite_file_in_the_data_dir() {
        let config = Config {
            data_dir: PathBuf::from("/var/lib/cloudtrust"),
            ..Config::default()
        };
        assert_eq!(
            config.database_url(),
            "sqlite:///var/lib/cloudtrust/cloudtrust.db?mode=rwc"
        );
    }
}
