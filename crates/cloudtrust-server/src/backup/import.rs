//! Loading a document into an empty database. The JSON is read as a stream on a thread of
//! its own and handed over row by row through a bounded channel, so a document of a million
//! rows is never held whole; everything goes in one transaction, committed only once the
//! document has been read to its end.

use std::fmt;
use std::io::Read;

use serde::de::{DeserializeSeed, Error as _, IgnoredAny, MapAccess, SeqAccess, Visitor};
use tokio::sync::mpsc;

use super::{Counts, EXPORTED, FORMAT, VERSION};
use crate::error::{Error, Result};
use crate::keys::KeyEncryptionKey;
use crate::store::backup::{self, Column, RowMap};
use crate::store::{Store, Tx};

/// Rows inserted by one statement batch (and held at most at a time).
const BATCH: usize = 500;

/// What the reader hands over.
enum Event {
    /// The document's fields before `tables`.
    Header(Header),
    /// A row of the table `EXPORTED[index]`.
    Row(usize, RowMap),
}

#[derive(Debug, Clone, Default)]
struct Header {
    format: Option<String>,
    version: Option<i64>,
    schema_version: Option<i64>,
    kek_fingerprint: Option<String>,
}

/// Loads the document read from `input` into `store`, which must hold no data yet, checking
/// first that `kek` is the key-encryption key the document's signing keys and secret hashes
/// were made with. All or nothing.
pub async fn import(
    store: &Store,
    kek: &KeyEncryptionKey,
    input: impl Read + Send + 'static,
) -> Result<Counts> {
    let (sender, mut events) = mpsc::channel(4 * BATCH);
    let reader = tokio::task::spawn_blocking(move || {
        let mut json = serde_json::Deserializer::from_reader(std::io::BufReader::new(input));
        Document { sender: &sender }.deserialize(&mut json)?;
        json.end()
    });
    let loaded = load(store, kek, &mut events).await;
    drop(events);
    let read = reader
        .await
        .map_err(|e| Error::internal(format!("reading the document: {e}")))?;
    // The loading side's error comes first: the reader's is then only that it was stopped.
    match (loaded?, read) {
        (_, Err(e)) => Err(Error::invalid("document", e.to_string())),
        (None, Ok(())) => Err(Error::invalid("document", "no tables")),
        (Some((tx, counts)), Ok(())) => {
            tx.commit().await?;
            Ok(counts)
        }
    }
}

async fn load(
    store: &Store,
    kek: &KeyEncryptionKey,
    events: &mut mpsc::Receiver<Event>,
) -> Result<Option<(Tx, Counts)>> {
    // Nothing comes when the reader fails before `tables`: its error is the one to report.
    let Some(Event::Header(header)) = events.recv().await else {
        return Ok(None);
    };
    check(store, kek, &header)?;
    let mut tx = store.begin().await?;
    for &table in EXPORTED {
        let rows = backup::count(&mut tx, table).await?;
        if rows > 0 {
            return Err(Error::Conflict(format!(
                "import needs an empty database: {table} has {rows} rows"
            )));
        }
    }
    let mut columns: Vec<Option<Vec<Column>>> = vec![None; EXPORTED.len()];
    let mut counts = Counts(EXPORTED.iter().map(|&t| (t, 0)).collect());
    let mut batch: Vec<RowMap> = Vec::with_capacity(BATCH);
    let mut current = 0;
    while let Some(event) = events.recv().await {
        let Event::Row(table, row) = event else {
            continue;
        };
        if table != current || batch.len() == BATCH {
            flush(&mut tx, store, &mut columns, current, &mut batch).await?;
            current = table;
        }
        batch.push(row);
        counts.0[table].1 += 1;
    }
    flush(&mut tx, store, &mut columns, current, &mut batch).await?;
    Ok(Some((tx, counts)))
}

fn check(store: &Store, kek: &KeyEncryptionKey, header: &Header) -> Result<()> {
    if header.format.as_deref() != Some(FORMAT) {
        return Err(Error::invalid(
            "document",
            format!("not a cloudtrust export (its format is not {FORMAT:?})"),
        ));
    }
    if header.version != Some(VERSION) {
        return Err(Error::invalid(
            "document",
            format!("version {:?} is not {VERSION}", header.version),
        ));
    }
    if header.schema_version != Some(store.schema_version()) {
        return Err(Error::invalid(
            "document",
            format!(
                "exported from schema {:?}, this cloudtrust has schema {}: import with the \
                 cloudtrust version that exported it, then upgrade",
                header.schema_version,
                store.schema_version()
            ),
        ));
    }
    match &header.kek_fingerprint {
        Some(theirs) if *theirs != kek.fingerprint() => Err(Error::invalid(
            "key_encryption_key",
            format!(
                "the export's signing keys and secret hashes were made with the key-encryption \
                 key of fingerprint {theirs}, this one is {}: put that key in the data dir's \
                 cloudtrust.kek or CLOUDTRUST_KEY_ENCRYPTION_KEY",
                kek.fingerprint()
            ),
        )),
        _ => Ok(()),
    }
}

async fn flush(
    tx: &mut Tx,
    store: &Store,
    columns: &mut [Option<Vec<Column>>],
    table: usize,
    batch: &mut Vec<RowMap>,
) -> Result<()> {
    if batch.is_empty() {
        return Ok(());
    }
    let name = EXPORTED[table];
    if columns[table].is_none() {
        columns[table] = Some(backup::columns(tx, store.backend(), name).await?);
    }
    let known = columns[table].as_deref().unwrap_or_default();
    backup::insert(tx, name, known, batch).await?;
    batch.clear();
    Ok(())
}

/// The document: header fields, then `tables`, each table's rows sent on as they are read.
struct Document<'a> {
    sender: &'a mpsc::Sender<Event>,
}

impl<'de> DeserializeSeed<'de> for Document<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Document<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a cloudtrust export (a JSON object)")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut header = Header::default();
        let mut tables = false;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "format" => header.format = map.next_value()?,
                "version" => header.version = map.next_value()?,
                "schema_version" => header.schema_version = map.next_value()?,
                "kek_fingerprint" => header.kek_fingerprint = map.next_value()?,
                "tables" if !tables => {
                    tables = true;
                    send(self.sender, Event::Header(header.clone()))?;
                    map.next_value_seed(Tables {
                        sender: self.sender,
                    })?;
                }
                "tables" => return Err(A::Error::custom("tables appears twice")),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if !tables {
            return Err(A::Error::missing_field("tables"));
        }
        Ok(())
    }
}

fn send<E: serde::de::Error>(sender: &mpsc::Sender<Event>, event: Event) -> Result<(), E> {
    // A closed channel means the loading side stopped with an error of its own, which is
    // the one reported.
    sender
        .blocking_send(event)
        .map_err(|_| E::custom("import stopped"))
}

struct Tables<'a> {
    sender: &'a mpsc::Sender<Event>,
}

impl<'de> DeserializeSeed<'de> for Tables<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Tables<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object of tables")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut last = None;
        while let Some(name) = map.next_key::<String>()? {
            let Some(table) = EXPORTED.iter().position(|t| *t == name) else {
                return Err(A::Error::custom(format!("unknown table {name:?}")));
            };
            // In the order of EXPORTED, which satisfies the foreign keys; once each.
            if last.is_some_and(|last| table <= last) {
                return Err(A::Error::custom(format!(
                    "table {name:?} is out of order or repeated"
                )));
            }
            last = Some(table);
            map.next_value_seed(Rows {
                sender: self.sender,
                table,
            })?;
        }
        Ok(())
    }
}

struct Rows<'a> {
    sender: &'a mpsc::Sender<Event>,
    table: usize,
}

impl<'de> DeserializeSeed<'de> for Rows<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Rows<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of rows")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(row) = seq.next_element::<RowMap>()? {
            send(self.sender, Event::Row(self.table, row))?;
        }
        Ok(())
    }
}
