//! `cloudtrust export` and `cloudtrust import`: the whole deployment as one JSON document, for
//! backups and for moving between SQLite and PostgreSQL.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;
use cloudtrust_server::backup::{self, Counts};
use cloudtrust_server::config::Config;
use cloudtrust_server::keys::KeyEncryptionKey;
use cloudtrust_server::keys::kek::{KEK_FILE, KekSource};
use cloudtrust_server::private_files;
use cloudtrust_server::store::Store;
use cloudtrust_server::{Clock, SystemClock};
use serde_json::json;

use crate::output::{Output, print_json};

/// `cloudtrust export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Write the document to FILE, made new and readable by its owner only, instead of
    /// standard output.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
}

/// `cloudtrust import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The document `cloudtrust export` wrote; `-` reads standard input.
    #[arg(value_name = "FILE")]
    input: PathBuf,
}

/// Writes the database the configuration names as one document.
pub async fn export(config: Config, args: ExportArgs, out: &Output) -> Result<()> {
    let store = connect(&config).await?;
    let now = SystemClock.now();
    let (counts, written_to) = match &args.output {
        Some(path) => {
            let path = std::path::absolute(path).context("the output path")?;
            let file = private_files::create_new(&path)
                .with_context(|| format!("creating {}", path.display()))?;
            let mut file = std::io::BufWriter::new(file);
            let counts = match backup::export(&store, now, &mut file).await {
                Ok(counts) => counts,
                Err(e) => {
                    drop(file);
                    let _ = std::fs::remove_file(&path);
                    return Err(e.into());
                }
            };
            file.into_inner()
                .map_err(|e| e.into_error())
                .and_then(|f| f.sync_all())
                .with_context(|| format!("writing {}", path.display()))?;
            (counts, Some(path))
        }
        None => {
            let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
            let counts = backup::export(&store, now, &mut stdout).await?;
            stdout.flush()?;
            (counts, None)
        }
    };
    store.close().await;
    match written_to {
        // The document is standard output: the summary goes to standard error.
        None => eprintln!("{}", summary("Exported", &counts)),
        Some(path) if out.is_json() => print_json(&json!({
            "output": path,
            "rows": counts.total(),
            "tables": table_counts(&counts),
        }))?,
        Some(path) => println!("{} to {}", summary("Exported", &counts), path.display()),
    }
    Ok(())
}

/// Loads a document into the (empty) database the configuration names.
pub async fn import(config: Config, args: ImportArgs, out: &Output) -> Result<()> {
    let store = connect(&config).await?;
    let kek = KeyEncryptionKey::locate(config.key_encryption_key.as_deref(), &config.data_dir)?;
    if kek.source == KekSource::Generated {
        bail!(
            "no key-encryption key: the export's signing keys and secret hashes need the one \
             they were made with. Copy its {KEK_FILE} into {} or set \
             CLOUDTRUST_KEY_ENCRYPTION_KEY",
            config.data_dir.display()
        );
    }
    let counts = if args.input == Path::new("-") {
        backup::import(&store, &kek, std::io::stdin()).await?
    } else {
        let file = std::fs::File::open(&args.input)
            .with_context(|| format!("opening {}", args.input.display()))?;
        backup::import(&store, &kek, file).await?
    };
    store.close().await;
    if out.is_json() {
        return print_json(&json!({
            "rows": counts.total(),
            "tables": table_counts(&counts),
            "kek_fingerprint": kek.fingerprint(),
        }));
    }
    println!(
        "{}. Start the server with the same key-encryption key (fingerprint {}).",
        summary("Imported", &counts),
        kek.fingerprint()
    );
    Ok(())
}

/// The store, migrated, without touching the key-encryption key: an export needs none, and an
/// import must not record one before the document's own.
async fn connect(config: &Config) -> Result<Store> {
    if config.database_url.is_none() {
        private_files::create_dir(&config.data_dir)
            .with_context(|| format!("creating {}", config.data_dir.display()))?;
    }
    let store = Store::connect(&config.database_url()).await?;
    store.migrate().await?;
    Ok(store)
}

fn summary(done: &str, counts: &Counts) -> String {
    let tables = counts.0.iter().filter(|(_, n)| *n > 0).count();
    format!("{done} {} rows of {tables} tables", counts.total())
}

fn table_counts(counts: &Counts) -> serde_json::Map<String, serde_json::Value> {
    counts
        .0
        .iter()
        .map(|(table, n)| ((*table).to_owned(), json!(n)))
        .collect()
}
