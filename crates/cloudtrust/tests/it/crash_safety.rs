//! Crash safety of `cloudtrust serve`, on real processes and real databases.
//!
//! - A server killed with SIGKILL in the middle of a stream of writes loses none it
//!   acknowledged: a new server on the same database (for SQLite, the same file, recovered from
//!   its write-ahead log) has every one of them, whole, and nothing half made.
//! - A PostgreSQL restart under token load fails no token request, and writes work again
//!   without restarting cloudtrust; while PostgreSQL is down a write answers within a bounded
//!   time, at worst with a clean 5xx, and never hangs.

use std::collections::{HashMap, HashSet};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sqlx::Connection;

use crate::support::{
    Acme, Server, acme, cloudtrust, db_test, eventually, request_token, token_status,
};

/// Concurrent writers, and concurrent token requesters.
const TASKS: usize = 4;
/// Writes acknowledged before the server is killed.
const ACKNOWLEDGED_BEFORE_KILL: usize = 100;
/// Longer than any answer may take here; a request without an answer by then counts as hung.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Locks a mutex whose holders do not panic while holding it.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().expect("lock")
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .build()
        .expect("HTTP client")
}

/// A bearer token for the client, from the OAuth 2.0 client-credentials endpoint.
async fn bearer(http: &reqwest::Client, base: &str, id: &str, secret: &str) -> String {
    let response = request_token(http, base, "acme", id, secret)
        .await
        .expect("token request");
    assert_eq!(response.status(), 200, "token for {id}");
    let body: Value = response.json().await.expect("token JSON");
    body["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned()
}

/// `POST /secureClients/$create`: the answer's status and JSON body (null when it has none), or
/// the transport error when no whole answer came back.
async fn create_client(
    http: &reqwest::Client,
    base: &str,
    bearer: &str,
    name: &str,
) -> Result<(u16, Value), reqwest::Error> {
    let response = http
        .post(format!("{base}/secureClients/$create"))
        .header("Authorization", format!("CwsAuth Bearer={bearer}"))
        .header("Citrix-CustomerId", "acme")
        .header("Accept", "application/json")
        .json(&json!({ "name": name }))
        .send()
        .await?;
    let status = response.status().as_u16();
    let text = response.text().await?;
    Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
}

/// The first column of every row `sql` returns, read straight from the database.
async fn column(url: &str, sql: &'static str) -> Vec<String> {
    if url.starts_with("sqlite:") {
        let mut conn = sqlx::SqliteConnection::connect(url)
            .await
            .expect("open the SQLite file");
        sqlx::query_scalar(sql)
            .fetch_all(&mut conn)
            .await
            .expect(sql)
    } else {
        let mut conn = sqlx::PgConnection::connect(url)
            .await
            .expect("connect to PostgreSQL");
        sqlx::query_scalar(sql)
            .fetch_all(&mut conn)
            .await
            .expect(sql)
    }
}

/// An acknowledged write: the client the server said it created.
struct Acknowledged {
    id: String,
    name: String,
    secret: String,
}

/// What the writers saw.
#[derive(Default)]
struct Stream {
    acknowledged: Mutex<Vec<Acknowledged>>,
    /// Answers other than 201: none may come while the server is alive.
    refused: Mutex<Vec<String>>,
    /// Per writer: when its request got no answer (the kill), and the name it asked for.
    cut: Mutex<Vec<(Instant, String)>>,
}

/// Creates clients one after another until a request gets no answer.
async fn write_until_cut(
    http: reqwest::Client,
    base: String,
    bearer: String,
    writer: usize,
    stream: Arc<Stream>,
) {
    for n in 0.. {
        let name = format!("w{writer}-{n}");
        match create_client(&http, &base, &bearer, &name).await {
            Ok((201, body)) => lock(&stream.acknowledged).push(Acknowledged {
                id: body["client"]["id"].as_str().expect("id").to_owned(),
                name,
                secret: body["secret"].as_str().expect("secret").to_owned(),
            }),
            Ok((status, body)) => lock(&stream.refused).push(format!("{status}: {body}")),
            Err(_) => {
                lock(&stream.cut).push((Instant::now(), name));
                return;
            }
        }
    }
}

db_test! {
    async fn a_server_killed_during_a_stream_of_writes_loses_no_acknowledged_write(db) {
        let seed = acme(|args| db.json(args), "seed");
        let start = || {
            let mut command = cloudtrust(db.data_dir.path());
            command.args(["--database-url", &db.url]);
            command
        };
        let http = http();
        let server = Server::start(start(), false).await;
        let token = bearer(&http, &server.base_url, &seed.client_id, &seed.secret).await;

        let stream = Arc::new(Stream::default());
        let writers: Vec<_> = (0..TASKS)
            .map(|writer| {
                tokio::spawn(write_until_cut(
                    http.clone(),
                    server.base_url.clone(),
                    token.clone(),
                    writer,
                    stream.clone(),
                ))
            })
            .collect();
        let enough = eventually(Duration::from_secs(30), || async {
            lock(&stream.acknowledged).len() >= ACKNOWLEDGED_BEFORE_KILL
        })
        .await;
        assert!(enough, "{} writes acknowledged in 30 s", lock(&stream.acknowledged).len());
        let killed_at = Instant::now();
        let status = server.kill();
        assert_eq!(status.signal(), Some(9), "killed by SIGKILL: {status:?}");
        for writer in writers {
            tokio::time::timeout(REQUEST_TIMEOUT * 2, writer)
                .await
                .expect("every writer stops once its server is gone")
                .expect("writer");
        }

        let acknowledged = std::mem::take(&mut *lock(&stream.acknowledged));
        let cut = std::mem::take(&mut *lock(&stream.cut));
        assert_eq!(*lock(&stream.refused), Vec::<String>::new(), "every answer was a creation");
        // Mid-stream: writes had been acknowledged, and every writer was still writing when the
        // server died, its stream cut by the kill and not before.
        assert!(acknowledged.len() >= ACKNOWLEDGED_BEFORE_KILL);
        assert_eq!(cut.len(), TASKS, "every writer lost its answer");
        assert!(cut.iter().all(|(at, _)| *at >= killed_at), "no request failed before the kill");

        let server = Server::start(start(), false).await;
        let listed = db.json(&["client", "list", "--customer", "acme"]);
        let listed: HashMap<&str, &Value> = listed
            .as_array()
            .expect("clients")
            .iter()
            .map(|c| (c["id"].as_str().expect("id"), c))
            .collect();

        // Every acknowledged write is there, as answered, and its secret (whose hash went into
        // the same row) still gets a token.
        for write in &acknowledged {
            let Some(client) = listed.get(write.id.as_str()) else {
                panic!("acknowledged client {} ({}) lost", write.id, write.name);
            };
            assert_eq!(client["name"], write.name.as_str());
            assert_eq!(
                token_status(&server.base_url, "acme", &write.id, &write.secret).await,
                200,
                "a token for {}",
                write.name
            );
        }
        // Beyond those, only the writes whose answer the kill cut off may have committed: at
        // most one per writer, each under the name that writer was asking for.
        let unanswered: HashSet<&str> = cut.iter().map(|(_, name)| name.as_str()).collect();
        let answered: HashSet<&str> = acknowledged.iter().map(|w| w.id.as_str()).collect();
        for (id, client) in &listed {
            assert_eq!(client["customer_id"], "acme", "{client}");
            assert_eq!(client["owner_id"], seed.admin_id.as_str(), "{client}");
            let name = client["name"].as_str().expect("name");
            assert!(
                answered.contains(id) || *id == seed.client_id || unanswered.contains(name),
                "{client} was never asked for"
            );
        }
        let names: HashSet<&str> = listed.values().map(|c| c["name"].as_str().expect("name")).collect();
        assert_eq!(names.len(), listed.len(), "no write committed twice");

        // No half-made write: a client, its system-log record and its change-log entry (which
        // other nodes' caches follow) are written in one transaction, so after the crash each
        // client has exactly one creation record and a change entry, and no creation record or
        // change entry names a client that is not there.
        let mut ids: Vec<&str> = listed.keys().copied().collect();
        ids.sort_unstable();
        let mut created = column(
            &db.url,
            "SELECT target_id FROM audit_events WHERE event_type = 'platform/secureclient/create'",
        )
        .await;
        created.sort_unstable();
        assert_eq!(created, ids, "one creation record per client, and none for a missing one");
        let mut changed = column(&db.url, "SELECT DISTINCT key FROM change_log WHERE kind = 'client'").await;
        changed.sort_unstable();
        assert_eq!(changed, ids, "one change entry per client, and none for a missing one");
        if db.url.starts_with("sqlite:") {
            // The file itself survived: pages, indexes and foreign keys.
            assert_eq!(column(&db.url, "PRAGMA integrity_check").await, ["ok"]);
            assert_eq!(column(&db.url, "PRAGMA foreign_key_check").await, Vec::<String>::new());
        }

        // And the restarted server takes writes again (with a token of its own: a token names
        // the address of the server that issued it).
        let token = bearer(&http, &server.base_url, &seed.client_id, &seed.secret).await;
        let (status, body) = create_client(&http, &server.base_url, &token, "after").await.expect("answer");
        assert_eq!(status, 201, "{body}");
        eprintln!(
            "{} writes acknowledged before SIGKILL, {} clients after recovery",
            acknowledged.len(),
            listed.len()
        );
        assert!(server.stop().success());
    }
}

/// A PostgreSQL cluster of this test's own, in a temporary folder, run as the `postgres`
/// user (`initdb` refuses root); stopped when dropped, whatever happened.
struct PrivatePostgres {
    bin: PathBuf,
    data: PathBuf,
    options: String,
    log: PathBuf,
    port: u16,
    // Dropped after `drop` has stopped the cluster.
    _root: tempfile::TempDir,
}

impl PrivatePostgres {
    /// The folder of `initdb` and `pg_ctl`, or why this machine cannot run a private cluster.
    fn tools() -> Result<PathBuf, String> {
        let uid = std::process::Command::new("id")
            .arg("-u")
            .output()
            .map_err(|e| format!("id -u: {e}"))?;
        if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
            return Err("not root: cannot run PostgreSQL as the postgres user".into());
        }
        let user = std::process::Command::new("id")
            .args(["-u", "postgres"])
            .output()
            .map_err(|e| format!("id -u postgres: {e}"))?;
        if !user.status.success() {
            return Err("no postgres user".into());
        }
        let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
            .map_err(|e| format!("no PostgreSQL under /usr/lib/postgresql: {e}"))?
            .filter_map(Result::ok)
            .filter_map(|entry| {
                let version = entry.file_name().to_str()?.parse().ok()?;
                let bin = entry.path().join("bin");
                (bin.join("initdb").exists() && bin.join("pg_ctl").exists())
                    .then_some((version, bin))
            })
            .collect();
        found.sort();
        found
            .pop()
            .map(|(_, bin)| bin)
            .ok_or_else(|| "no initdb and pg_ctl under /usr/lib/postgresql/*/bin".into())
    }

    /// Creates and starts a cluster on a free port of 127.0.0.1 with trust authentication.
    async fn start(bin: PathBuf) -> PrivatePostgres {
        let root = tempfile::tempdir().expect("temp dir");
        let data = root.path().join("data");
        let sockets = root.path().join("sockets");
        std::fs::create_dir(&sockets).expect("socket dir");
        let chown = std::process::Command::new("chown")
            .args(["-R", "postgres:"])
            .arg(root.path())
            .status()
            .expect("chown");
        assert!(chown.success(), "chown the cluster's folder to postgres");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let cluster = PrivatePostgres {
            options: format!(
                "-c listen_addresses=127.0.0.1 -p {port} -k {}",
                sockets.display()
            ),
            log: root.path().join("postgres.log"),
            bin,
            data,
            port,
            _root: root,
        };
        let initdb = as_postgres(&cluster.bin.join("initdb"))
            .arg("-D")
            .arg(&cluster.data)
            .args([
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--locale=C",
                "-N",
            ])
            .output()
            .await
            .expect("run initdb");
        assert!(
            initdb.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&initdb.stderr)
        );
        cluster.up().await;
        cluster
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn pg_ctl(&self, args: &[&str]) -> tokio::process::Command {
        let mut command = as_postgres(&self.bin.join("pg_ctl"));
        command.arg("-D").arg(&self.data).args(args);
        command
    }

    /// Starts the cluster and waits until it accepts connections.
    async fn up(&self) {
        let out = self
            .pg_ctl(&["start", "-w", "-t", "60", "-o", &self.options, "-l"])
            .arg(&self.log)
            .output()
            .await
            .expect("run pg_ctl start");
        assert!(out.status.success(), "pg_ctl start: {}", self.log_tail());
    }

    /// Stops the cluster the way an administrator restarting it does: open sessions are
    /// ended, then the server shuts down cleanly.
    async fn down(&self) {
        let out = self
            .pg_ctl(&["stop", "-w", "-t", "60", "-m", "fast"])
            .output()
            .await
            .expect("run pg_ctl stop");
        assert!(out.status.success(), "pg_ctl stop: {}", self.log_tail());
    }

    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let _ = std::process::Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(self.bin.join("pg_ctl"))
            .arg("-D")
            .arg(&self.data)
            .args(["stop", "-w", "-m", "immediate"])
            .output();
    }
}

fn as_postgres(program: &Path) -> tokio::process::Command {
    let mut command = tokio::process::Command::new("runuser");
    command
        .args(["-u", "postgres", "--"])
        .arg(program)
        .kill_on_drop(true);
    command
}

/// The command line on the private cluster; the command must succeed.
fn cli_json(data_dir: &Path, url: &str, args: &[&str]) -> Value {
    let out = cloudtrust(data_dir)
        .args(["--database-url", url])
        .args(args)
        .arg("--json")
        .output()
        .expect("run cloudtrust");
    assert!(
        out.status.success(),
        "cloudtrust {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON output")
}

/// What the token requesters saw.
#[derive(Default)]
struct TokenLoad {
    stop: AtomicBool,
    issued: AtomicUsize,
    failed: Mutex<Vec<String>>,
    slowest: Mutex<Duration>,
}

async fn request_tokens(
    http: reqwest::Client,
    base: String,
    seed: Arc<Acme>,
    load: Arc<TokenLoad>,
) {
    while !load.stop.load(Ordering::Acquire) {
        let started = Instant::now();
        let answer = http
            .post(format!("{base}/cctrustoauth2/acme/tokens/clients"))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", seed.client_id.as_str()),
                ("client_secret", seed.secret.as_str()),
            ])
            .send()
            .await;
        let took = started.elapsed();
        {
            let mut slowest = lock(&load.slowest);
            *slowest = (*slowest).max(took);
        }
        match answer {
            Ok(response) if response.status() == 200 => {
                load.issued.fetch_add(1, Ordering::AcqRel);
            }
            Ok(response) => {
                let status = response.status();
                let body = response.text().await.unwrap_or_default();
                lock(&load.failed).push(format!("{status} after {took:?}: {body}"));
            }
            Err(e) => lock(&load.failed).push(format!("no answer after {took:?}: {e}")),
        }
        // A steady stream rather than a flood: the point is continuity, not throughput.
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// A write attempt during or after the outage.
struct Attempt {
    started: Instant,
    took: Duration,
    outcome: Result<u16, String>,
}

/// How long PostgreSQL stays down: less than the 10 s a node serves its cache without news of
/// changes, so the token endpoint must not notice.
const OUTAGE: Duration = Duration::from_secs(2);
/// The longest a write may take to answer, even while PostgreSQL is down.
const WRITE_ANSWER_BOUND: Duration = Duration::from_secs(15);
/// How soon after PostgreSQL is back a write must succeed.
const WRITE_RECOVERY_BOUND: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgresql_restart_under_token_load_fails_no_token_request_and_writes_recover() {
    let bin = match PrivatePostgres::tools() {
        Ok(bin) => bin,
        Err(reason) => {
            // Mirrors CLOUDTRUST_TEST_POSTGRES: under CI=true a missing PostgreSQL fails.
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "{reason}: under CI=true the PostgreSQL restart test may not be skipped"
            );
            eprintln!("skipped: {reason}");
            return;
        }
    };
    let postgres = PrivatePostgres::start(bin).await;
    let url = postgres.url();
    let data_dir = tempfile::tempdir().expect("temp dir");
    let seed = Arc::new(acme(|args| cli_json(data_dir.path(), &url, args), "seed"));
    let mut command = cloudtrust(data_dir.path());
    command.args(["--database-url", &url]);
    let server = Server::start(command, false).await;
    let base = server.base_url.clone();
    let http = http();
    let token = bearer(&http, &base, &seed.client_id, &seed.secret).await;
    let (status, body) = create_client(&http, &base, &token, "before")
        .await
        .expect("answer");
    assert_eq!(status, 201, "{body}");

    let load = Arc::new(TokenLoad::default());
    let requesters: Vec<_> = (0..TASKS)
        .map(|_| {
            tokio::spawn(request_tokens(
                http.clone(),
                base.clone(),
                seed.clone(),
                load.clone(),
            ))
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before_outage = load.issued.load(Ordering::Acquire);
    assert!(before_outage > 0, "the load is running");

    postgres.down().await;
    let down_at = Instant::now();
    let issued_at_down = load.issued.load(Ordering::Acquire);
    // Writes from the moment PostgreSQL is gone until one succeeds.
    let writer = tokio::spawn({
        let (http, base, token) = (http.clone(), base.clone(), token.clone());
        async move {
            let mut attempts = Vec::new();
            for n in 0usize.. {
                let started = Instant::now();
                let outcome = create_client(&http, &base, &token, &format!("outage-{n}"))
                    .await
                    .map(|(status, _)| status)
                    .map_err(|e| e.to_string());
                let done = outcome == Ok(201);
                attempts.push(Attempt {
                    started,
                    took: started.elapsed(),
                    outcome,
                });
                if done || started.duration_since(down_at) > OUTAGE + WRITE_RECOVERY_BOUND {
                    return attempts;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            attempts
        }
    });
    tokio::time::sleep(OUTAGE).await;
    let issued_while_down = load.issued.load(Ordering::Acquire) - issued_at_down;
    postgres.up().await;
    let back_at = Instant::now();
    let attempts = tokio::time::timeout(OUTAGE + WRITE_RECOVERY_BOUND + REQUEST_TIMEOUT, writer)
        .await
        .expect("the writes end")
        .expect("writer");
    // The load keeps running a little after writes are back, then stops.
    tokio::time::sleep(Duration::from_millis(500)).await;
    load.stop.store(true, Ordering::Release);
    for requester in requesters {
        requester.await.expect("requester");
    }

    let issued = load.issued.load(Ordering::Acquire);
    let failed = std::mem::take(&mut *lock(&load.failed));
    let slowest = *lock(&load.slowest);
    let recovered = attempts.last().filter(|a| a.outcome == Ok(201));
    eprintln!(
        "{issued} tokens issued, {issued_while_down} while PostgreSQL was down, {} failed, \
         slowest {slowest:?}; {} write attempts from the outage on, the first success {:?} \
         after PostgreSQL was back",
        failed.len(),
        attempts.len(),
        recovered.map(|a| (a.started + a.took).saturating_duration_since(back_at)),
    );
    assert!(
        failed.is_empty(),
        "{} of {} token requests failed across the restart, first ones: {:#?}",
        failed.len(),
        issued + failed.len(),
        &failed[..failed.len().min(5)]
    );
    // Tokens kept coming while the database was down, not only once it was back.
    assert!(
        issued_while_down > 0,
        "no token issued while PostgreSQL was down"
    );

    assert!(
        attempts[0].started < back_at,
        "the first write was made while PostgreSQL was down"
    );
    for attempt in &attempts {
        assert!(
            attempt.took <= WRITE_ANSWER_BOUND,
            "a write took {:?} to answer ({:?})",
            attempt.took,
            attempt.outcome
        );
        assert!(
            matches!(attempt.outcome, Ok(201) | Ok(500..=599)),
            "a write during the outage is created or refused with a 5xx: {:?}",
            attempt.outcome
        );
    }
    let recovered = recovered.expect("a write succeeded after PostgreSQL came back");
    assert!(
        (recovered.started + recovered.took).saturating_duration_since(back_at)
            <= WRITE_RECOVERY_BOUND
    );

    // The server is whole again: a client made now gets tokens.
    let (status, body) = create_client(&http, &base, &token, "after")
        .await
        .expect("answer");
    assert_eq!(status, 201, "{body}");
    let id = body["client"]["id"].as_str().expect("id").to_owned();
    let secret = body["secret"].as_str().expect("secret").to_owned();
    assert_eq!(token_status(&base, "acme", &id, &secret).await, 200);
    assert!(server.stop().success(), "a clean stop after the restart");
    drop(postgres);
}
