//! The test harness: a real server on 127.0.0.1:0 over a fresh database, SQLite or PostgreSQL.

use std::io::Write;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use cloudtrust_server::domain::Directory;
use cloudtrust_server::domain::audit::Actor;
use cloudtrust_server::domain::customers::Region;
use cloudtrust_server::domain::directory::{AdministratorRef, NewAdministrator};
use cloudtrust_server::domain::permissions::Access;
use cloudtrust_server::{Clock, Config, Foundation, RunningServer, SystemClock};
use reqwest::Method;
use serde_json::Value;
use tokio::io::AsyncReadExt as _;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

pub use crate::testdb::{Backend, TestDb, eventually};

pub(crate) use crate::testdb::db_test;

/// Reads until the server closes the connection (or `limit` passes); what it sent.
pub async fn read_until_closed(
    stream: &mut tokio::net::TcpStream,
    limit: Duration,
) -> Option<String> {
    let mut received = Vec::new();
    let read = tokio::time::timeout(limit, async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => received.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    read.ok()
        .map(|()| String::from_utf8_lossy(&received).into_owned())
}

/// What `db_test!` bodies get by default: a running server.
pub type DefaultFixture = Env;

impl crate::testdb::Fixture for Env {
    async fn start(backend: Backend) -> Option<Self> {
        Env::new(backend).await
    }
}

/// A clock the tests can move forward, and stop so that second boundaries cannot race.
#[derive(Debug, Default)]
pub struct TestClock {
    offset: AtomicI64,
    /// The stopped time, or 0 while the clock follows the system's.
    stopped_at: AtomicI64,
}

impl TestClock {
    pub fn advance(&self, seconds: i64) {
        self.offset.fetch_add(seconds, Ordering::SeqCst);
    }

    /// Stops the clock at the current time; only `advance` moves it from now on.
    pub fn stop(&self) {
        self.stopped_at.store(SystemClock.now(), Ordering::SeqCst);
    }
}

impl Clock for TestClock {
    fn now(&self) -> i64 {
        let base = match self.stopped_at.load(Ordering::SeqCst) {
            0 => SystemClock.now(),
            stopped => stopped,
        };
        base + self.offset.load(Ordering::SeqCst)
    }
}

/// Everything logged by the suite, to check what logs contain.
pub fn captured_logs() -> &'static Mutex<Vec<u8>> {
    static LOGS: OnceLock<Mutex<Vec<u8>>> = OnceLock::new();
    LOGS.get_or_init(|| Mutex::new(Vec::new()))
}

struct Capture;

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        captured_logs()
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn install_log_capture() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        // As `serve` logs in the text format.
        let _ = tracing_subscriber::registry()
            .with(cloudtrust_server::logging::filter(
                Some("cloudtrust_server=debug"),
                "info",
            ))
            .with(cloudtrust_server::logging::RequestSpans::default())
            .with(cloudtrust_server::logging::RequestSpanFields)
            .with(
                tracing_subscriber::fmt::layer()
                    .with_ansi(false)
                    .with_writer(|| Capture),
            )
            .try_init();
    });
}

impl TestDb {
    /// A configuration for a node over this database.
    pub fn config(&self) -> Config {
        Config {
            listen: "127.0.0.1:0".parse().expect("addr"),
            data_dir: self.data_dir.path().to_owned(),
            database_url: Some(self.url.clone()),
            change_poll_millis: 50,
            usage_flush_millis: 100,
            mail_dir: Some(self.data_dir.path().join("mail")),
            ..Config::default()
        }
    }
}

/// The credentials of a seeded API client.
#[derive(Debug, Clone)]
pub struct Seed {
    pub admin: String,
    pub client_id: String,
    pub secret: String,
}

/// A customer `acme` with a Full administrator and one API client, made by the operator.
pub async fn seed(directory: &Directory) -> Seed {
    let operator = Actor::operator();
    directory
        .create_customer(&operator, Some("acme"), "Acme", Region::Us)
        .await
        .expect("customer");
    directory
        .add_administrator(
            &operator,
            "acme",
            NewAdministrator::with_email("owner@acme.example", Some("Owner"), Access::Full),
        )
        .await
        .expect("administrator");
    let created = directory
        .create_api_client(
            &operator,
            "acme",
            AdministratorRef::Email("owner@acme.example"),
            "ci",
        )
        .await
        .expect("client");
    Seed {
        admin: "owner@acme.example".to_owned(),
        client_id: created.client.id,
        secret: created.secret,
    }
}

/// The directory over a fresh database, without a server: for the rules of who may do what,
/// below HTTP.
pub struct Rules {
    pub clock: Arc<TestClock>,
    pub foundation: Foundation,
    // Kept for its drop, last: the database outlives the foundation.
    _db: TestDb,
}

impl crate::testdb::Fixture for Rules {
    async fn start(backend: Backend) -> Option<Self> {
        let db = TestDb::create(backend).await?;
        let clock = Arc::new(TestClock::default());
        let foundation = Foundation::open(db.config(), clock.clone())
            .await
            .expect("foundation opens");
        Some(Rules {
            clock,
            foundation,
            _db: db,
        })
    }
}

impl Rules {
    pub fn directory(&self) -> &Directory {
        &self.foundation.directory
    }

    pub fn store(&self) -> &cloudtrust_server::store::Store {
        &self.foundation.store
    }

    /// A customer `acme` with a Full administrator and one API client.
    pub async fn seed(&self) -> Seed {
        seed(self.directory()).await
    }
}

/// A running server over a fresh database, with an HTTP client.
pub struct Env {
    pub clock: Arc<TestClock>,
    pub server: RunningServer,
    pub http: reqwest::Client,
    // Dropped last: the database outlives the server.
    pub db: TestDb,
}

impl Env {
    pub async fn new(backend: Backend) -> Option<Env> {
        Self::with(backend, |_| {}).await
    }

    pub async fn with(backend: Backend, tweak: impl FnOnce(&mut Config)) -> Option<Env> {
        install_log_capture();
        let db = TestDb::create(backend).await?;
        let mut config = db.config();
        tweak(&mut config);
        let clock = Arc::new(TestClock::default());
        let server = RunningServer::start(config, clock.clone())
            .await
            .expect("server starts");
        Some(Env {
            clock,
            server,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("http client"),
            db,
        })
    }

    /// A second node over the same database and data dir (so the same key-encryption key).
    /// Nodes behind one load balancer share one public URL, hence one issuer.
    pub async fn another_node(&self) -> RunningServer {
        let mut config = self.db.config();
        config.public_url = Some(self.server.base_url.clone());
        RunningServer::start(config, self.clock.clone())
            .await
            .expect("second node starts")
    }

    pub fn directory(&self) -> &Directory {
        self.server.directory()
    }

    pub fn base(&self) -> &str {
        &self.server.base_url
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.base_url)
    }

    /// A customer `acme` with a Full administrator and one API client.
    pub async fn seed(&self) -> Seed {
        seed(self.directory()).await
    }

    /// Posts the client-credentials form to `/cctrustoauth2/{customer}/tokens/clients`.
    pub async fn request_token(&self, customer: &str, id: &str, secret: &str) -> reqwest::Response {
        token_request(&self.http, self.base(), customer, id, secret).await
    }

    /// A bearer token for the client, asserting success.
    pub async fn token(&self, id: &str, secret: &str) -> String {
        let response = self.request_token("root", id, secret).await;
        assert_eq!(response.status(), 200, "token request failed");
        let body: serde_json::Value = response.json().await.expect("json");
        body["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned()
    }

    /// `GET /cvadapis/me` with the given Authorization value.
    pub async fn me(&self, authorization: &str) -> reqwest::Response {
        self.http
            .get(self.url("/cvadapis/me"))
            .header("Authorization", authorization)
            .send()
            .await
            .expect("request")
    }
}

/// The status of `GET /cvadapis/me` at the node `base` with the bearer token `token`.
pub async fn me_at(env: &Env, base: &str, token: &str) -> u16 {
    env.http
        .get(format!("{base}/cvadapis/me"))
        .header("authorization", format!("CwsAuth Bearer={token}"))
        .send()
        .await
        .expect("request")
        .status()
        .as_u16()
}

/// Posts the client-credentials form to a node.
pub async fn token_request(
    http: &reqwest::Client,
    base: &str,
    customer: &str,
    id: &str,
    secret: &str,
) -> reqwest::Response {
    http.post(format!("{base}/cctrustoauth2/{customer}/tokens/clients"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", id),
            ("client_secret", secret),
        ])
        .send()
        .await
        .expect("request")
}

/// The RFC 6749 error code of a response body.
pub async fn oauth_error(response: reqwest::Response) -> (u16, serde_json::Value) {
    let status = response.status().as_u16();
    let body = response.json().await.expect("error body is JSON");
    (status, body)
}

/// A client that keeps cookies and does not follow redirects, as a browser's forms see the
/// console.
pub fn web_client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("http client")
}

/// The anti-forgery token of the first form of a page.
pub fn csrf_of(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).expect("a form with a csrf field") + marker.len();
    let end = html[start..].find('"').expect("end of the value") + start;
    html[start..end].to_owned()
}

/// The `Location` of a redirect.
pub fn location(response: &reqwest::Response) -> &str {
    response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

/// The address `node` listens on, as a base URL. A node's `base_url` is its public URL, which
/// nodes behind one load balancer share (see [`Env::another_node`]), so requests sent there
/// reach the first node, not this one.
pub fn node_url(node: &RunningServer) -> String {
    format!("http://{}", node.addr)
}

/// A customer homed in `region` with a Full administrator and one API client; returns the
/// client's id and secret.
pub async fn customer_in(env: &Env, id: &str, region: Region) -> (String, String) {
    let operator = Actor::operator();
    let directory = env.directory();
    directory
        .create_customer(&operator, Some(id), id, region)
        .await
        .expect("customer");
    let email = format!("admin@{id}.example");
    directory
        .add_administrator(
            &operator,
            id,
            NewAdministrator::with_email(&email, None, Access::Full),
        )
        .await
        .expect("administrator");
    let created = directory
        .create_api_client(&operator, id, AdministratorRef::Email(&email), "ci")
        .await
        .expect("client");
    (created.client.id, created.secret)
}

/// A token request sent as if to `host`.
pub async fn token_at(env: &Env, host: &str, id: &str, secret: &str) -> reqwest::Response {
    env.http
        .post(env.url("/cctrustoauth2/root/tokens/clients"))
        .header("Host", host)
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", id),
            ("client_secret", secret),
        ])
        .send()
        .await
        .expect("request")
}

/// The value of parameter `name` of an error in the common shape.
pub fn parameter<'a>(body: &'a serde_json::Value, name: &str) -> Option<&'a str> {
    body["parameters"]
        .as_array()?
        .iter()
        .find(|p| p["name"] == name)?["value"]
        .as_str()
}

/// The claims of a JWT, read without verifying it.
pub fn unverified_claims(token: &str) -> serde_json::Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).expect("a compact JWS");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url");
    serde_json::from_slice(&bytes).expect("JSON claims")
}

/// Everything logged so far, as text.
pub fn logs() -> String {
    String::from_utf8_lossy(&captured_logs().lock().unwrap_or_else(|e| e.into_inner())).into_owned()
}

/// Adds an administrator with `access` and returns a bearer token of a new API client of its.
pub async fn admin_with_token(env: &Env, email: &str, access: Access) -> String {
    let operator = Actor::operator();
    let directory = env.directory();
    directory
        .add_administrator(
            &operator,
            "acme",
            NewAdministrator::with_email(email, None, access),
        )
        .await
        .expect("administrator");
    client_token(env, email).await
}

/// A bearer token of a new API client of `email`.
pub async fn client_token(env: &Env, email: &str) -> String {
    let created = env
        .directory()
        .create_api_client(
            &Actor::operator(),
            "acme",
            AdministratorRef::Email(email),
            "test",
        )
        .await
        .expect("client");
    env.token(&created.client.id, &created.secret).await
}

/// Sends an API call the way Citrix's Go SDK does.
pub async fn call(
    env: &Env,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value, reqwest::header::HeaderMap) {
    let mut request = env
        .http
        .request(method, env.url(path))
        .header("Authorization", format!("CWSAuth bearer={token}"))
        .header("Citrix-CustomerId", "acme")
        .header("Accept", "application/json");
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.expect("body");
    let value = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).expect("JSON body")
    };
    (status, value, headers)
}

pub fn error_name(body: &Value) -> &str {
    body["type"]
        .as_str()
        .and_then(|t| t.rsplit('/').next())
        .unwrap_or_default()
}
