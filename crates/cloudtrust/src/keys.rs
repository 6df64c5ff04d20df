//! `cloudtrust keys …`: the signing keys of bearer and ID tokens — listed, rotated (the old key
//! keeps working until the tokens it signed have expired), or retired at once. Running servers
//! pick each change up without a restart.

use anyhow::Result;
use clap::Subcommand;
use cloudtrust_server::app::Foundation;
use cloudtrust_server::keys::rotation::{self, KeyInfo};
use serde_json::json;

use crate::output::{Output, print_json, when};

/// The signing-key commands.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// List the signing keys: the active one, previous ones still accepted, retired ones.
    List,
    /// Make a new key the signing key; the current one stays published and accepted until
    /// every token it signed has expired, then retires by itself.
    Rotate,
    /// Stop accepting a previous key now (a key that leaked); tokens it signed are refused.
    Retire {
        /// The key id (`kid`), as `keys list` shows it. A kid is base64url and may begin with
        /// `-`, so it is never read as an option.
        #[arg(allow_hyphen_values = true)]
        kid: String,
    },
}

fn line(key: &KeyInfo) {
    let retires = key.retire_at.map(when).unwrap_or_default();
    println!(
        "{:<43}  {:<5}  {:<8}  {:<20}  {retires}",
        key.kid,
        key.algorithm,
        key.status,
        when(key.created_at)
    );
}

/// Runs a signing-key command.
pub async fn run(f: Foundation, command: KeysCommand, out: &Output) -> Result<()> {
    let clock = &*f.clock;
    match command {
        KeysCommand::List => {
            let keys = rotation::list(&f.store, clock).await?;
            if out.is_json() {
                return print_json(&keys);
            }
            println!(
                "{:<43}  {:<5}  {:<8}  {:<20}  RETIRES",
                "KID", "ALG", "STATUS", "CREATED"
            );
            keys.iter().for_each(line);
            Ok(())
        }
        KeysCommand::Rotate => {
            let keep = rotation::keep_after_rotation(
                i64::try_from(f.config.token_lifetime_secs).unwrap_or(i64::MAX / 2),
            );
            let key =
                rotation::rotate(&f.store, &f.kek, f.config.signing_algorithm, clock, keep).await?;
            if out.is_json() {
                return print_json(&json!({ "active": key, "previous_kept_secs": keep }));
            }
            println!(
                "New signing key {} ({}). The previous key stays accepted for {keep} seconds.",
                key.kid, key.algorithm
            );
            Ok(())
        }
        KeysCommand::Retire { kid } => {
            rotation::retire(&f.store, clock, &kid).await?;
            if out.is_json() {
                return print_json(&json!({ "retired": kid }));
            }
            println!("Signing key {kid} retired: tokens it signed are no longer accepted.");
            Ok(())
        }
    }
}
