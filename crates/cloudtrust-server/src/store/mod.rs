//! Storage: the only module with SQL. One code path for SQLite and PostgreSQL through sqlx
//! `Any`, with `$N` placeholders and portable types; one migrations folder per dialect.

pub mod administrators;
pub mod api_clients;
pub mod audit;
pub mod backup;
pub mod changes;
pub mod console_sessions;
pub mod customers;
pub mod end_users;
pub mod failed_attempts;
pub mod revoked_bearer_tokens;
pub mod settings;
pub mod signing_keys;
pub mod smart_keys;
pub mod workspace_clients;
pub mod workspace_grants;
pub mod workspace_sessions;

use std::ops::{Deref, DerefMut};
use std::path::Path;
use std::time::Duration;

use sqlx::any::AnyPoolOptions;
use sqlx::migrate::Migrator;
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool, Executor};

pub use signing_keys::SigningKeyRow;

use crate::error::{Error, Result};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");

/// Which database is behind the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

/// How the connection pool is used (see [`Store::pool_status`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStatus {
    /// Connections open.
    pub open: u32,
    /// Open connections not in use.
    pub idle: u32,
    /// The most connections the pool opens.
    pub max: u32,
}

/// A pool of connections to the database.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    url: std::sync::Arc<str>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Store({:?})", self.backend)
    }
}

/// A connection: pass `&mut conn` (or `&mut tx`) to the query functions of the submodules.
pub type Conn = AnyConnection;

/// How long a SQLite connection may sit in the pool before it is checked again when next
/// acquired.
const CHECK_IDLE_CONNECTION_AFTER: Duration = Duration::from_secs(1);

/// How many rows a query should return at once on `conn`, to read `wanted`. SQLite's driver
/// hands rows from its thread to the caller through a channel of 50: past that, the two
/// threads take turns for every further row (a context switch each, a third of a 100-item
/// listing's time on one CPU), so a long read on SQLite is made in chunks that fit. PostgreSQL
/// streams rows over its socket and reads in one query.
pub(crate) fn rows_at_once(conn: &Conn, wanted: i64) -> i64 {
    /// Rows, and the query's result after them, fit in the driver's channel.
    const SQLITE_ROWS: i64 = 48;
    if conn.backend_name() == "SQLite" {
        wanted.clamp(1, SQLITE_ROWS)
    } else {
        wanted.max(1)
    }
}

/// A database transaction; dropped without [`Tx::commit`], it rolls back.
pub struct Tx(sqlx::Transaction<'static, Any>);

impl Tx {
    /// Commits the transaction.
    pub async fn commit(self) -> Result<()> {
        self.0.commit().await?;
        Ok(())
    }
}

impl Deref for Tx {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        &self.0
    }
}

impl DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.0
    }
}

impl Store {
    /// Connects to `url` (`sqlite://…` or `postgres://…`).
    pub async fn connect(url: &str) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(Error::invalid(
                "database_url",
                "must start with sqlite:// or postgres://",
            ));
        };
        if backend == Backend::Sqlite {
            create_sqlite_parent(url)?;
        }
        let options = AnyPoolOptions::new()
            .max_connections(match backend {
                Backend::Sqlite => 4,
                Backend::Postgres => 16,
            })
            .acquire_timeout(Duration::from_secs(10))
            // Checking a connection at every acquire costs a round trip to the database (to
            // SQLite's thread, two context switches) on every request that reads. On SQLite only
            // one idle for a while is checked, as HikariCP does. PostgreSQL's connections are
            // checked every time: after a restart of the server, one used a moment ago is as
            // dead as the rest, and the check keeps it from failing a request.
            .test_before_acquire(false)
            .before_acquire(move |conn, meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite && meta.idle_for < CHECK_IDLE_CONNECTION_AFTER {
                        return Ok(true);
                    }
                    Ok(sqlx::Connection::ping(conn).await.is_ok())
                })
            })
            .after_connect(|conn, _| {
                Box::pin(async move {
                    if conn.backend_name() == "SQLite" {
                        // Durable at each checkpoint, which WAL makes safe and fast.
                        conn.execute("PRAGMA synchronous = NORMAL").await?;
                    }
                    Ok(())
                })
            });
        let pool = options.connect(url).await?;
        if backend == Backend::Sqlite {
            // Persistent in the file: readers never wait for the writer.
            pool.execute("PRAGMA journal_mode = WAL").await?;
        }
        Ok(Store {
            pool,
            backend,
            url: std::sync::Arc::from(url),
        })
    }

    /// Applies the migrations of this backend's dialect.
    pub async fn migrate(&self) -> Result<()> {
        let migrator = match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator.run(&self.pool).await?;
        Ok(())
    }

    /// The version of the schema the migrations build: the number of the last one. The two
    /// dialects' migrations are numbered alike.
    pub fn schema_version(&self) -> i64 {
        SQLITE_MIGRATIONS
            .iter()
            .map(|m| m.version)
            .max()
            .unwrap_or_default()
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The URL the store connected to (for a PostgreSQL `LISTEN` connection).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Starts a transaction. On SQLite it takes the write lock at once (`BEGIN IMMEDIATE`):
    /// a deferred transaction that reads and then writes fails with "database is locked" when
    /// another writer got in between, without waiting, whereas one that starts as a writer
    /// waits its turn.
    pub async fn begin(&self) -> Result<Tx> {
        let tx = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        };
        Ok(Tx(tx))
    }

    /// Starts a transaction that only reads and sees one moment of the database throughout,
    /// whatever commits meanwhile (an export's consistent copy). Dropped, it ends.
    pub async fn begin_snapshot(&self) -> Result<Tx> {
        let tx = match self.backend {
            // In WAL mode a read transaction's first read fixes what it sees.
            Backend::Sqlite => self.pool.begin_with("BEGIN DEFERRED").await?,
            Backend::Postgres => {
                self.pool
                    .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                    .await?
            }
        };
        Ok(Tx(tx))
    }

    /// The pool's connections: open, of which idle, and the most it opens.
    pub fn pool_status(&self) -> PoolStatus {
        PoolStatus {
            open: self.pool.size(),
            idle: u32::try_from(self.pool.num_idle()).unwrap_or(u32::MAX),
            max: self.pool.options().get_max_connections(),
        }
    }

    /// A connection from the pool, for reads outside a transaction.
    pub async fn conn(&self) -> Result<PoolConnection<Any>> {
        Ok(self.pool.acquire().await?)
    }

    /// Checks the database answers.
    pub async fn ping(&self) -> Result<()> {
        self.pool.execute("SELECT 1").await?;
        Ok(())
    }

    /// Closes every connection.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Every signing key.
    pub async fn signing_keys(&self) -> Result<Vec<SigningKeyRow>> {
        signing_keys::all(&mut *self.conn().await?).await
    }

    /// Inserts a signing key unless an active key of its algorithm exists.
    pub async fn insert_signing_key_if_none_active(&self, row: &SigningKeyRow) -> Result<()> {
        signing_keys::insert_if_none_active(&mut *self.conn().await?, row).await
    }
}

/// The integration tests' fresh databases, shared with the unit tests that need a store.
#[cfg(test)]
#[path = "../../tests/common/testdb.rs"]
#[allow(dead_code, unused_macros, unused_imports)]
pub(crate) mod testdb;

/// A migrated database of its own on `backend`, dropped with the [`testdb::TestDb`] returned
/// beside it (which holds its URL); `None` when PostgreSQL is asked for and no server is
/// configured (which fails instead under `CI=true`).
#[cfg(test)]
pub(crate) async fn for_tests(backend: testdb::Backend) -> Option<(Store, testdb::TestDb)> {
    let db = testdb::TestDb::create(backend).await?;
    let store = Store::connect(&db.url).await.expect("store");
    store.migrate().await.expect("migrated");
    Some((store, db))
}

/// Creates the folder of a SQLite file so that `mode=rwc` can create the file.
fn create_sqlite_parent(url: &str) -> Result<()> {
    let path = url
        .trim_start_matches("sqlite:")
        .trim_start_matches("//")
        .split('?')
        .next()
        .unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        return Ok(());
    }
    if let Some(parent) = Path::new(path).parent()
        && !parent.as_os_str().is_empty()
    {
        crate::private_files::create_dir(parent)?;
    }
    Ok(())
}

/// Whether `e` is a unique-constraint violation (portable across both databases).
pub fn is_unique_violation(e: &Error) -> bool {
    match e {
        Error::Database(sqlx::Error::Database(db)) => db.is_unique_violation(),
        _ => false,
    }
}
