//! Backup, restore and moving between databases: `cloudtrust export` writes the whole
//! deployment as one JSON document and `cloudtrust import` loads one into an empty database,
//! SQLite or PostgreSQL, in one transaction.
//!
//! The document holds what the database holds: secrets only as their hashes, signing keys
//! sealed with the key-encryption key (KEK). The KEK itself is never in it, so an export
//! alone signs nothing; the database it is imported into needs the same KEK, which also keys
//! the hashes of API-client secrets. The document names the KEK's fingerprint and import
//! checks it before writing anything.
//!
//! ```json
//! {"format": "cloudtrust-export", "version": 1, "schema_version": 11,
//!  "exported_at": "2026-11-30T15:00:00Z", "kek_fingerprint": "…",
//!  "tables": {"customers": [{"id": "acme", …}], …}}
//! ```

mod import;

use std::io::Write;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub use import::import;

use crate::error::{Error, Result};
use crate::keys::rekey::KEK_FINGERPRINT;
use crate::store::{self, Store, backup};

/// The document's `format`.
pub const FORMAT: &str = "cloudtrust-export";
/// The document's `version`: how its JSON is laid out (the tables' columns follow
/// `schema_version`).
pub const VERSION: i64 = 1;

/// The tables a document carries, in an order that satisfies every foreign key.
pub const EXPORTED: &[&str] = &[
    "customers",
    "administrators",
    "administrator_permissions",
    "api_clients",
    "smart_keys",
    "signing_keys",
    "settings",
    "audit_events",
    "workspace_clients",
    "workspace_client_numbers",
    "workspace_secret_reminders",
    "end_users",
    "workspace_consents",
    "workspace_grants",
    "workspace_refresh_tokens",
    "workspace_revoked_tokens",
    "revoked_bearer_tokens",
];

/// The tables a document leaves out, all short-lived: sign-in sessions of the console and of
/// Workspace (people sign in again), sign-ins under way and authorization codes (minutes),
/// failed-attempt counters, and the change feed between nodes.
pub const LEFT_OUT: &[&str] = &[
    "change_log",
    "console_sessions",
    "failed_attempts",
    "workspace_codes",
    "workspace_interactions",
    "workspace_sessions",
];

/// How many rows of each table an export wrote or an import read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts(pub Vec<(&'static str, u64)>);

impl Counts {
    /// Rows in all.
    pub fn total(&self) -> u64 {
        self.0.iter().map(|(_, n)| n).sum()
    }
}

/// Writes the whole database to `out` as one document, read in one snapshot: what commits
/// meanwhile is either wholly in it or not at all.
pub async fn export(store: &Store, now: i64, out: &mut dyn Write) -> Result<Counts> {
    let mut tx = store.begin_snapshot().await?;
    for table in backup::tables(&mut tx, store.backend()).await? {
        if !EXPORTED.contains(&table.as_str()) && !LEFT_OUT.contains(&table.as_str()) {
            return Err(Error::internal(format!(
                "table {table} is neither exported nor left out"
            )));
        }
    }
    let exported_at = OffsetDateTime::from_unix_timestamp(now)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default();
    let header = serde_json::json!({
        "format": FORMAT,
        "version": VERSION,
        "schema_version": store.schema_version(),
        "exported_at": exported_at,
        "kek_fingerprint": store::settings::get(&mut tx, KEK_FINGERPRINT).await?,
    });
    let mut header = serde_json::to_string(&header).map_err(written)?;
    // The header object stays open: the tables follow it.
    header.pop();
    write!(out, "{header},\"tables\":{{").map_err(written)?;
    let mut counts = Counts::default();
    for (i, &table) in EXPORTED.iter().enumerate() {
        let columns = backup::columns(&mut tx, store.backend(), table).await?;
        let separator = if i == 0 { "" } else { "," };
        write!(out, "{separator}\n\"{table}\":[").map_err(written)?;
        let mut rows = 0u64;
        backup::each_row(&mut tx, store.backend(), table, &columns, |row| {
            let separator = if rows == 0 { "\n" } else { ",\n" };
            out.write_all(separator.as_bytes()).map_err(written)?;
            serde_json::to_writer(&mut *out, &row).map_err(written)?;
            rows += 1;
            Ok(())
        })
        .await?;
        out.write_all(b"]").map_err(written)?;
        counts.0.push((table, rows));
    }
    out.write_all(b"}}\n").map_err(written)?;
    out.flush().map_err(written)?;
    Ok(counts)
}

fn written(e: impl std::fmt::Display) -> Error {
    Error::internal(format!("writing the export: {e}"))
}
