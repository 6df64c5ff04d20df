//! `cloudtrust kek …`: the key-encryption key that seals signing keys at rest — a new one made
//! for a secrets manager, or the one in effect replaced.

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use cloudtrust_server::config::Config;
use cloudtrust_server::keys::KeyEncryptionKey;
use cloudtrust_server::keys::kek::KekSource;
use cloudtrust_server::keys::rekey;
use serde_json::json;

use crate::output::{Output, print_json};

/// Names the environment variable that gives `kek rotate` the new key.
pub const NEW_KEY_ENV: &str = "CLOUDTRUST_NEW_KEY_ENCRYPTION_KEY";

/// The key-encryption-key commands.
#[derive(Debug, Subcommand)]
pub enum KekCommand {
    /// Print a new random key-encryption key, for a secrets manager; nothing else changes.
    Generate,
    /// Replace the key-encryption key: every signing key is sealed again with the new one, in
    /// one transaction. The new key is CLOUDTRUST_NEW_KEY_ENCRYPTION_KEY when set; otherwise,
    /// when the key in effect is the data dir's cloudtrust.kek, a new one is made and replaces
    /// it there. API-client secrets stay valid.
    Rotate,
}

/// Runs a key-encryption-key command.
pub async fn run(config: Config, command: KekCommand, out: &Output) -> Result<()> {
    match command {
        KekCommand::Generate => {
            let key = KeyEncryptionKey::generate()?.to_base64();
            if out.is_json() {
                return print_json(&json!({ "key_encryption_key": key }));
            }
            println!("{key}");
            Ok(())
        }
        KekCommand::Rotate => rotate(config, out).await,
    }
}

async fn rotate(config: Config, out: &Output) -> Result<()> {
    let f = crate::cli::open(config).await?;
    let in_data_dir = f.kek.source != KekSource::Config;
    let new = match std::env::var(NEW_KEY_ENV) {
        Ok(encoded) => KeyEncryptionKey::from_base64(&encoded, KekSource::Config)
            .with_context(|| NEW_KEY_ENV.to_owned())?,
        Err(_) if in_data_dir => KeyEncryptionKey::generate()?,
        Err(_) => bail!(
            "the key-encryption key in effect comes from the configuration: put the new one in \
             {NEW_KEY_ENV} (`cloudtrust kek generate` makes one)"
        ),
    };
    let data_dir = &f.config.data_dir;
    // The new key is on disk before the database needs it; a rotation interrupted after the
    // commit is finished at the next start.
    let pending = match in_data_dir {
        true => Some(new.save_pending(data_dir)?),
        false => None,
    };
    let done = match rekey::rekey(&f.store, &f.kek, &new).await {
        Ok(done) => done,
        Err(e) => {
            if let Some(pending) = pending {
                let _ = std::fs::remove_file(pending);
            }
            return Err(e.into());
        }
    };
    let key_file = match in_data_dir {
        true => Some(KeyEncryptionKey::install_pending(data_dir)?),
        false => None,
    };
    f.store.close().await;
    if out.is_json() {
        return print_json(&json!({
            "old_fingerprint": done.old_fingerprint,
            "fingerprint": done.fingerprint,
            "signing_keys_resealed": done.signing_keys,
            "key_file": key_file,
        }));
    }
    println!(
        "Key-encryption key replaced: fingerprint {} is now {}; {} signing keys sealed again.",
        done.old_fingerprint, done.fingerprint, done.signing_keys
    );
    match key_file {
        Some(path) => println!("The new key is in {}.", path.display()),
        None => println!(
            "Give every node the new key in CLOUDTRUST_KEY_ENCRYPTION_KEY and restart them."
        ),
    }
    println!(
        "Nodes still running with the old key keep signing with the keys they hold; restart \
         them to load keys made from now on."
    );
    Ok(())
}
