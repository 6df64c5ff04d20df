//! A fresh database per test, shared by the integration tests of every crate and by the
//! server's unit tests that need PostgreSQL: a temporary SQLite file, or a new PostgreSQL
//! database on `CLOUDTRUST_TEST_POSTGRES`, dropped afterwards; and [`db_test!`], which runs one
//! test body against each.

use std::time::Duration;

use sqlx::{Connection, Executor};

/// Names the PostgreSQL server the suites may create databases on.
pub const PG_ENV: &str = "CLOUDTRUST_TEST_POSTGRES";

/// Which database a test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A fresh database and data dir.
pub struct TestDb {
    pub url: String,
    pub data_dir: tempfile::TempDir,
    postgres: Option<(String, String)>,
}

impl TestDb {
    /// A new database, or `None` when PostgreSQL is asked for but not configured (which fails
    /// instead under `CI=true`: the PostgreSQL half may not be skipped there).
    pub async fn create(backend: Backend) -> Option<TestDb> {
        let data_dir = tempfile::tempdir().expect("temp dir");
        let (url, postgres) = match backend {
            Backend::Sqlite => (
                format!(
                    "sqlite://{}/cloudtrust.db?mode=rwc",
                    data_dir.path().display()
                ),
                None,
            ),
            Backend::Postgres => {
                let Ok(admin_url) = std::env::var(PG_ENV) else {
                    assert!(
                        std::env::var("CI").as_deref() != Ok("true"),
                        "{PG_ENV} must be set under CI=true: the PostgreSQL half may not be skipped"
                    );
                    eprintln!("skipped: set {PG_ENV} to run this test against PostgreSQL");
                    return None;
                };
                let name = format!("cloudtrust_it_{}", uuid::Uuid::new_v4().simple());
                let mut conn = sqlx::PgConnection::connect(&admin_url)
                    .await
                    .expect("connect to CLOUDTRUST_TEST_POSTGRES");
                conn.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .await
                    .expect("create test database");
                let _ = conn.close().await;
                let mut url = reqwest::Url::parse(&admin_url).expect("postgres url");
                url.set_path(&name);
                (url.to_string(), Some((admin_url, name)))
            }
        };
        Some(TestDb {
            url,
            data_dir,
            postgres,
        })
    }
}

impl TestDb {
    /// The PostgreSQL database's name and the URL of the server's maintenance database, for
    /// tests that act on the database from outside.
    // Shared by the test binaries of every crate; not every one acts on its database so.
    #[allow(dead_code)]
    pub fn postgres(&self) -> Option<(&str, &str)> {
        self.postgres
            .as_ref()
            .map(|(admin_url, name)| (name.as_str(), admin_url.as_str()))
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin_url, name)) = self.postgres.take() {
            let _ = std::thread::spawn(move || {
                let Ok(runtime) = tokio::runtime::Runtime::new() else {
                    return;
                };
                runtime.block_on(async move {
                    if let Ok(mut conn) = sqlx::PgConnection::connect(&admin_url).await {
                        let _ = conn
                            .execute(sqlx::AssertSqlSafe(format!(
                                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                            )))
                            .await;
                    }
                });
            })
            .join();
        }
    }
}

/// What a test body gets: something started over a fresh database of one backend.
pub trait Fixture: Sized {
    /// Starts it, or `None` when that backend is not available here.
    fn start(backend: Backend) -> impl std::future::Future<Output = Option<Self>> + Send;
}

impl Fixture for TestDb {
    async fn start(backend: Backend) -> Option<Self> {
        TestDb::create(backend).await
    }
}

/// Runs a test body twice, as `<name>::sqlite` and `<name>::postgres`, each with its own
/// fixture over a fresh database: `async fn name(env) { … }` gets the crate's default
/// fixture (`crate::support::DefaultFixture`), `async fn name(env: Type) { … }` a `Type`.
///
/// When the tests were built without `CLOUDTRUST_TEST_POSTGRES` (and not under `CI=true`),
/// the PostgreSQL halves are marked ignored, so the test output says they did not run.
macro_rules! db_test {
    ($(#[$meta:meta])* async fn $name:ident($env:ident) $body:block) => {
        $crate::testdb::db_test! {
            $(#[$meta])* async fn $name($env: $crate::support::DefaultFixture) $body
        }
    };
    ($(#[$meta:meta])* async fn $name:ident($env:ident: $fixture:ty) $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            $(#[$meta])*
            async fn run($env: $fixture) $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let backend = $crate::testdb::Backend::Sqlite;
                if let Some(env) = <$fixture as $crate::testdb::Fixture>::start(backend).await {
                    run(env).await;
                }
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            #[cfg_attr(
                skip_postgres,
                ignore = "built without CLOUDTRUST_TEST_POSTGRES: the PostgreSQL half did not run"
            )]
            async fn postgres() {
                let backend = $crate::testdb::Backend::Postgres;
                if let Some(env) = <$fixture as $crate::testdb::Fixture>::start(backend).await {
                    run(env).await;
                }
            }
        }
    };
}
pub(crate) use db_test;

/// Waits, bounded, until `check` holds; returns whether it did.
pub async fn eventually<F, Fut>(limit: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if check().await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
