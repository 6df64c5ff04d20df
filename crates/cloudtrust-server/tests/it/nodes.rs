//! Several nodes over one database: a change made on one is seen by the others' caches.

use std::time::Duration;

use cloudtrust_server::changes::CURRENT_FOR;
use cloudtrust_server::domain::audit::Actor;
use cloudtrust_server::domain::directory::{AdministratorRef, NewAdministrator};
use cloudtrust_server::domain::permissions::Access;

use crate::support::{db_test, eventually, node_url, token_request};

/// How long another node may take to see a change: at once on PostgreSQL (LISTEN/NOTIFY),
/// within the poll interval (50 ms in tests) on SQLite; the bound leaves room for a busy machine.
const PROPAGATION: Duration = Duration::from_secs(3);

db_test! {
    async fn a_client_deleted_on_one_node_gets_no_token_from_another(env) {
        let seed = env.seed().await;
        let other = env.another_node().await;
        following(&other).await;
        let other_url = node_url(&other);
        assert_ne!(other_url, env.base(), "requests reach the second node itself");
        let http = &env.http;
        // Warm the other node's cache.
        assert_eq!(token_request(http, &other_url, "root", &seed.client_id, &seed.secret).await.status(), 200);
        let token = env.token(&seed.client_id, &seed.secret).await;
        let me_on_other = || async {
            http.get(format!("{other_url}/cvadapis/me"))
                .header("authorization", format!("CwsAuth Bearer={token}"))
                .send().await.expect("request").status().as_u16()
        };
        assert_eq!(me_on_other().await, 200, "tokens verify on any node");

        env.directory()
            .delete_api_client(&Actor::operator(), "acme", &seed.client_id)
            .await
            .expect("delete");
        let refused = eventually(PROPAGATION, || async {
            token_request(http, &other_url, "root", &seed.client_id, &seed.secret).await.status() == 400
        }).await;
        assert!(refused, "the other node stopped issuing tokens to the deleted client");
        assert_eq!(me_on_other().await, 401);
        other.stop().await.expect("stop");
    }
}

db_test! {
    async fn an_access_reduction_on_one_node_makes_tokens_stale_on_another(env) {
        let seed = env.seed().await;
        let operator = Actor::operator();
        env.directory()
            .add_administrator(&operator, "acme", NewAdministrator::with_email("second@acme.example", None, Access::Full))
            .await
            .expect("second admin");
        let other = env.another_node().await;
        following(&other).await;
        let other_url = node_url(&other);
        assert_ne!(other_url, env.base(), "requests reach the second node itself");
        let token = env.token(&seed.client_id, &seed.secret).await;
        let me_on_other = || async {
            env.http.get(format!("{other_url}/cvadapis/me"))
                .header("authorization", format!("CwsAuth Bearer={token}"))
                .send().await.expect("request").status().as_u16()
        };
        assert_eq!(me_on_other().await, 200);
        env.directory()
            .set_access(&operator, "acme", AdministratorRef::Email(&seed.admin), Access::custom(["Notifications"]).expect("known"), None)
            .await
            .expect("reduce");
        assert!(eventually(PROPAGATION, || async { me_on_other().await == 401 }).await);
        other.stop().await.expect("stop");
    }
}

/// Waits until `node` follows changes made elsewhere (its cache serves from memory), failing
/// the test if it never does.
async fn following(node: &cloudtrust_server::RunningServer) {
    assert!(
        eventually(PROPAGATION, || async { node.follows_changes() }).await,
        "{} follows changes made elsewhere",
        node.base_url
    );
}

/// Watches `node`, which has just stopped hearing of changes: its cache must still be served
/// half a second later, and no longer once `CURRENT_FOR` (and a second's slack) has passed.
async fn trust_once_changes_are_not_heard(
    node: &cloudtrust_server::RunningServer,
) -> Result<(), String> {
    let since = tokio::time::Instant::now();
    tokio::time::sleep(Duration::from_millis(500)).await;
    if !node.follows_changes() {
        return Err("the cache was not served for a while".into());
    }
    let bound = CURRENT_FOR + Duration::from_secs(1);
    if !eventually(bound + PROPAGATION, || async { !node.follows_changes() }).await {
        return Err("the cache was trusted for long without news of changes".into());
    }
    match since.elapsed() {
        stopped if stopped <= bound => Ok(()),
        stopped => Err(format!(
            "the cache stopped being trusted only after {stopped:?}"
        )),
    }
}

/// The seed's client gets a token from `env`'s node until another process (the command line's
/// directory, which tells no cache) deletes it; then the node refuses it within `PROPAGATION`.
async fn a_deletion_by_another_process_reaches(
    env: &crate::support::Env,
    seed: &crate::support::Seed,
) {
    let status = || async {
        token_request(&env.http, env.base(), "root", &seed.client_id, &seed.secret)
            .await
            .status()
    };
    assert_eq!(status().await, 200);
    let command_line = cloudtrust_server::Foundation::open(env.db.config(), env.clock.clone())
        .await
        .expect("another process's foundation");
    command_line
        .directory
        .delete_api_client(&Actor::operator(), "acme", &seed.client_id)
        .await
        .expect("delete");
    let refused = eventually(PROPAGATION, || async { status().await == 400 }).await;
    assert!(refused, "the deletion reached the node's cache");
}

/// A PostgreSQL node that loses its `LISTEN` connection and cannot make another serves from its
/// cache for a while (a database restart must not stop the token endpoint), stops within
/// `CURRENT_FOR` of its last heartbeat back until it listens again, then follows changes as
/// before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    skip_postgres,
    ignore = "built without CLOUDTRUST_TEST_POSTGRES: the PostgreSQL half did not run"
)]
async fn a_node_that_loses_its_listener_stops_trusting_its_cache_until_it_listens_again() {
    use sqlx::{Connection, Executor};
    let Some(env) = crate::support::Env::new(crate::support::Backend::Postgres).await else {
        return;
    };
    let seed = env.seed().await;
    following(&env.server).await;
    let (name, admin_url) = env.db.postgres().expect("a PostgreSQL database");
    let mut admin = sqlx::PgConnection::connect(admin_url)
        .await
        .expect("maintenance connection");
    let sql = |text: String| sqlx::AssertSqlSafe(text);
    // No new connection can be made, and the listener's is cut.
    admin
        .execute(sql(format!(
            "ALTER DATABASE {name} WITH ALLOW_CONNECTIONS false"
        )))
        .await
        .expect("refuse connections");
    admin
        .execute(sql(format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = '{name}' AND query ILIKE 'LISTEN%'"
        )))
        .await
        .expect("cut the listener");
    // The last heartbeat came back at most two seconds before the cut.
    let bounded = trust_once_changes_are_not_heard(&env.server).await;
    admin
        .execute(sql(format!(
            "ALTER DATABASE {name} WITH ALLOW_CONNECTIONS true"
        )))
        .await
        .expect("allow connections");
    if let Err(broken) = bounded {
        panic!("after the listener was cut, {broken}");
    }
    // Refused for seconds, the listener tries again after a back-off of up to 16 s by now.
    assert!(
        eventually(Duration::from_secs(20), || async {
            env.server.follows_changes()
        })
        .await,
        "the node follows changes again once it may connect"
    );

    // Listening again, it sees a deletion made elsewhere.
    a_deletion_by_another_process_reaches(&env, &seed).await;
    let _ = admin.close().await;
}

/// A SQLite node that cannot read the change log serves from its cache for a while, stops
/// within `CURRENT_FOR` of its last read, and once the log answers again reads on from where
/// it stopped, trusting its cache again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_node_that_cannot_read_the_change_log_stops_trusting_its_cache_within_the_bound() {
    use sqlx::{Connection, Executor};
    let Some(env) = crate::support::Env::new(crate::support::Backend::Sqlite).await else {
        return;
    };
    let seed = env.seed().await;
    following(&env.server).await;
    let mut other = sqlx::SqliteConnection::connect(&env.db.url)
        .await
        .expect("another connection to the file");
    // Every read of the change log fails while it has another name.
    other
        .execute("ALTER TABLE change_log RENAME TO change_log_away")
        .await
        .expect("hide the change log");
    let bounded = trust_once_changes_are_not_heard(&env.server).await;
    other
        .execute("ALTER TABLE change_log_away RENAME TO change_log")
        .await
        .expect("give the change log back");
    if let Err(broken) = bounded {
        panic!("after the change log went away, {broken}");
    }
    following(&env.server).await;

    // Reading again, it sees a deletion made by another process on the same file.
    a_deletion_by_another_process_reaches(&env, &seed).await;
    let _ = other.close().await;
}

/// A TCP relay to PostgreSQL that can go silent: connections stay open, nothing more passes
/// either way — what a peer that vanished, or a firewall that drops a connection, looks like.
struct SilentRelay {
    address: std::net::SocketAddr,
    silent: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl SilentRelay {
    async fn to(target: String) -> SilentRelay {
        use std::sync::atomic::{AtomicBool, Ordering};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address = listener.local_addr().expect("address");
        let silent = std::sync::Arc::new(AtomicBool::new(false));
        let gate = silent.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = tokio::net::TcpStream::connect(&target).await else {
                    continue;
                };
                let (client_read, client_write) = client.into_split();
                let (server_read, server_write) = server.into_split();
                for (mut from, mut to) in [(client_read, server_write), (server_read, client_write)]
                {
                    let gate = gate.clone();
                    tokio::spawn(async move {
                        use tokio::io::{AsyncReadExt, AsyncWriteExt};
                        let mut buffer = vec![0u8; 16 * 1024];
                        loop {
                            let Ok(n) = from.read(&mut buffer).await else {
                                return;
                            };
                            while gate.load(Ordering::Acquire) {
                                tokio::time::sleep(Duration::from_millis(50)).await;
                            }
                            if n == 0 || to.write_all(&buffer[..n]).await.is_err() {
                                return;
                            }
                        }
                    });
                }
            }
        });
        SilentRelay { address, silent }
    }

    fn go_silent(&self, silent: bool) {
        self.silent
            .store(silent, std::sync::atomic::Ordering::Release);
    }
}

/// A PostgreSQL node whose connection to the database goes silent — no error, no close —
/// notices within seconds that no heartbeat comes back, stops trusting its cache, and
/// trusts it again once heartbeats return.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    skip_postgres,
    ignore = "built without CLOUDTRUST_TEST_POSTGRES: the PostgreSQL half did not run"
)]
async fn a_node_whose_database_connection_goes_silent_stops_trusting_its_cache() {
    let Some(db) = crate::support::TestDb::create(crate::support::Backend::Postgres).await else {
        return;
    };
    let mut url = reqwest::Url::parse(&db.url).expect("url");
    let target = format!(
        "{}:{}",
        url.host_str().expect("host"),
        url.port().unwrap_or(5432)
    );
    let relay = SilentRelay::to(target).await;
    url.set_host(Some("127.0.0.1")).expect("host");
    url.set_port(Some(relay.address.port())).expect("port");
    let mut config = db.config();
    config.database_url = Some(url.to_string());
    let node = cloudtrust_server::RunningServer::start(
        config,
        std::sync::Arc::new(cloudtrust_server::SystemClock),
    )
    .await
    .expect("node starts");
    following(&node).await;

    relay.go_silent(true);
    let distrusted = eventually(Duration::from_secs(20), || async {
        !node.follows_changes()
    })
    .await;
    relay.go_silent(false);
    assert!(
        distrusted,
        "no heartbeat back within 10 s: the cache is not trusted"
    );
    assert!(
        eventually(Duration::from_secs(20), || async { node.follows_changes() }).await,
        "listening again once the connection speaks"
    );
    node.stop().await.expect("stop");
}
