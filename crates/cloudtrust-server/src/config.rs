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
    /// Folder of the default SQLite database and any generated key material.
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…`; defaults to `cloudtrust.db` in [`Config::data_dir`].
    pub database_url: Option<String>,
    /// The public base URL (token `iss`, discovery); defaults to `http://<bound address>`.
    pub public_url: Option<String>,
    /// The region this deployment serves (`X-CC-LocalGeo`).
    pub region: Region,
    /// Lifetime of bearer tokens in seconds.
    pub token_lifetime_secs: u64,
    /// `aud` of bearer tokens.
    pub token_audience: String,
    /// Algorithm new signing keys use: `ES256` (default), `EdDSA` or `RS256`.
    pub signing_algorithm: SigningAlgorithm,
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
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("."),
            database_url: None,
            public_url: None,
            region: Region::Us,
            token_lifetime_secs: 3600,
            token_audience: "cloudtrust".to_owned(),
            signing_algorithm: SigningAlgorithm::Es256,
            key_encryption_key: None,
            max_body_bytes: 64 * 1024,
            change_poll_millis: 250,
            usage_flush_millis: 1000,
        }
    }
}

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
        figment
            .merge(Env::prefixed("CLOUDTRUST_"))
            .merge(Serialized::defaults(overrides))
            .extract()
            .map_err(Box::new)
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
