//! Wiring, and the only place that knows every part: [`Foundation`] (the database and the
//! directory over it, what the command line and the server share) and [`RunningServer`] (the
//! services, the background jobs and the listeners of a node).

mod connection;
mod listener;
mod server;

use std::sync::Arc;

pub use server::RunningServer;

use crate::clock::Clock;
use crate::config::Config;
use crate::domain::Directory;
use crate::domain::secrets::SecretHasher;
use crate::error::{Error, Result};
use crate::keys::kek::{KEK_FILE, KekSource, KeyEncryptionKey};
use crate::keys::rekey::{KEK_FINGERPRINT, secret_hash_key};
use crate::store::{self, Store};

/// What the command line and the server both need: the database and the directory over it.
#[derive(Debug)]
pub struct Foundation {
    /// The configuration in effect.
    pub config: Config,
    /// The database.
    pub store: Store,
    /// The key-encryption key, checked against the database.
    pub kek: Arc<KeyEncryptionKey>,
    /// The keyed hash of API-client secrets.
    pub secrets: Arc<SecretHasher>,
    /// Customers, administrators and API clients.
    pub directory: Directory,
    /// The time source.
    pub clock: Arc<dyn Clock>,
}

impl Foundation {
    /// Connects, migrates and checks the key-encryption key (creating it on first use).
    pub async fn open(config: Config, clock: Arc<dyn Clock>) -> Result<Foundation> {
        if config.database_url.is_none() {
            crate::private_files::create_dir(&config.data_dir)?;
        }
        let store = Store::connect(&config.database_url()).await?;
        store.migrate().await?;
        let kek = open_kek(&config, &store).await?;
        let hash_key = secret_hash_key(&mut *store.conn().await?, &kek).await?;
        let secrets = Arc::new(SecretHasher::new(&hash_key));
        let directory = Directory::new(store.clone(), clock.clone(), secrets.clone())
            .with_workspace_secret_lifetime(config.workspace_secret_lifetime_secs());
        Ok(Foundation {
            config,
            store,
            kek: Arc::new(kek),
            secrets,
            directory,
            clock,
        })
    }
}

async fn open_kek(config: &Config, store: &Store) -> Result<KeyEncryptionKey> {
    let mut kek = KeyEncryptionKey::locate(config.key_encryption_key.as_deref(), &config.data_dir)?;
    let mut conn = store.conn().await?;
    let recorded = store::settings::get(&mut conn, KEK_FINGERPRINT).await?;
    if recorded.is_none()
        && kek.source == KekSource::Generated
        && let Err(e) = kek.save(&config.data_dir)
    {
        // Another process may have written one first: use that.
        kek = KeyEncryptionKey::locate(None, &config.data_dir).map_err(|_| e)?;
    }
    if let Some(recorded) = &recorded
        && kek.source == KekSource::File
        && *recorded != kek.fingerprint()
        && let Some(replacement) = KeyEncryptionKey::finish_rotation(&config.data_dir, recorded)?
    {
        kek = replacement;
    }
    let mismatch = |recorded: &str| {
        Error::internal(format!(
            "this database was set up with another key-encryption key (fingerprint {recorded}, \
             this one {}); run with the data dir that holds its {} (--data-dir) or set \
             CLOUDTRUST_KEY_ENCRYPTION_KEY",
            kek.fingerprint(),
            KEK_FILE,
        ))
    };
    match recorded {
        Some(recorded) if recorded != kek.fingerprint() => return Err(mismatch(&recorded)),
        Some(_) => {}
        None => {
            if kek.source == KekSource::Generated {
                return Err(Error::internal(
                    "the generated key-encryption key was not saved",
                ));
            }
            let in_effect =
                store::settings::set_once(&mut conn, KEK_FINGERPRINT, &kek.fingerprint()).await?;
            if in_effect != kek.fingerprint() {
                return Err(mismatch(&in_effect));
            }
        }
    }
    Ok(kek)
}
