//! The client SDK against a real cloudtrust server (over a fresh SQLite database, on
//! loopback), and against peers that answer what no cloudtrust server would — throttling,
//! numeric `expires_in`, broken bodies — as other servers and proxies on the way might.

mod api;
mod peer;
mod token_source;
mod verify;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cloudtrust_client::{ApiClient, TokenSource};
use cloudtrust_server::domain::audit::Actor;
use cloudtrust_server::domain::audit::event_types::SECURECLIENT_TOKEN_ISSUED;
use cloudtrust_server::domain::customers::Region;
use cloudtrust_server::domain::directory::{AdministratorRef, NewAdministrator};
use cloudtrust_server::domain::paging::PageRequest;
use cloudtrust_server::domain::permissions::Access;
use cloudtrust_server::keys::rotation;
use cloudtrust_server::{Config, Foundation, RunningServer, SystemClock};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The customer every test server has.
const CUSTOMER: &str = "acme";
/// Its Full administrator, owner of the API client.
const OWNER: &str = "owner@acme.example";

/// A running server with one API client.
struct Server {
    server: RunningServer,
    config: Config,
    client_id: String,
    secret: String,
    // Dropped last: the database outlives the server.
    _data_dir: tempfile::TempDir,
}

impl Server {
    /// A server issuing tokens for `token_lifetime_secs`, with a customer `acme`, its Full
    /// administrator and an API client.
    async fn start(token_lifetime_secs: u64) -> Server {
        Self::start_with(token_lifetime_secs, |_| {}).await
    }

    /// Like [`Server::start`], with `configure` applied to the configuration first.
    async fn start_with(token_lifetime_secs: u64, configure: impl FnOnce(&mut Config)) -> Server {
        let data_dir = tempfile::tempdir().expect("temp dir");
        let mut config = Config {
            listen: "127.0.0.1:0".parse().expect("address"),
            data_dir: data_dir.path().to_owned(),
            database_url: Some(format!(
                "sqlite://{}/cloudtrust.db?mode=rwc",
                data_dir.path().display()
            )),
            token_lifetime_secs,
            ..Config::default()
        };
        configure(&mut config);
        let server = RunningServer::start(config.clone(), Arc::new(SystemClock))
            .await
            .expect("server starts");
        let directory = server.directory();
        let operator = Actor::operator();
        directory
            .create_customer(&operator, Some(CUSTOMER), "Acme", Region::Us)
            .await
            .expect("customer");
        directory
            .add_administrator(
                &operator,
                CUSTOMER,
                NewAdministrator::with_email(OWNER, None, Access::Full),
            )
            .await
            .expect("administrator");
        let created = directory
            .create_api_client(&operator, CUSTOMER, AdministratorRef::Email(OWNER), "sdk")
            .await
            .expect("client");
        Server {
            server,
            config,
            client_id: created.client.id,
            secret: created.secret,
            _data_dir: data_dir,
        }
    }

    /// Makes a new signing key the one that signs, through the database as `cloudtrust keys
    /// rotate` does; with `retire_previous`, the key it replaces is retired at once, as after
    /// a leak. Returns the new key's id.
    async fn rotate_signing_key(&self, retire_previous: bool) -> String {
        let foundation = Foundation::open(self.config.clone(), Arc::new(SystemClock))
            .await
            .expect("foundation");
        let previous = rotation::list(&foundation.store, &SystemClock)
            .await
            .expect("keys")
            .into_iter()
            .find(|k| k.status == "active")
            .expect("an active key");
        let new = rotation::rotate(
            &foundation.store,
            &foundation.kek,
            foundation.config.signing_algorithm,
            &SystemClock,
            3600,
        )
        .await
        .expect("rotated");
        if retire_previous {
            rotation::retire(&foundation.store, &SystemClock, &previous.kid)
                .await
                .expect("retired");
        }
        foundation.store.close().await;
        new.kid
    }

    fn base(&self) -> &str {
        &self.server.base_url
    }

    fn source(&self) -> TokenSource {
        TokenSource::new(self.base(), "root", &self.client_id, &self.secret)
    }

    fn api(&self) -> ApiClient {
        ApiClient::new(self.source())
    }

    /// The status of `GET /cvadapis/me` with `token`.
    async fn me(&self, token: &str) -> u16 {
        reqwest::Client::new()
            .get(format!("{}/cvadapis/me", self.base()))
            .header("Authorization", format!("CwsAuth Bearer={token}"))
            .send()
            .await
            .expect("request")
            .status()
            .as_u16()
    }

    /// How many tokens the server has issued, by its system log (with `audit_each_token`).
    async fn tokens_issued(&self) -> usize {
        let (page, _) = self
            .server
            .directory()
            .read_system_log(
                &Actor::operator(),
                CUSTOMER,
                (0, i64::MAX),
                &PageRequest::first(1000),
            )
            .await
            .expect("system log");
        page.items
            .iter()
            .filter(|e| e.event_type == SECURECLIENT_TOKEN_ISSUED)
            .count()
    }
}

/// Asks `source` for a token until it gives one other than `first`; returns it and when.
async fn next_token(source: &TokenSource, first: &str, limit: Duration) -> (String, Instant) {
    let deadline = Instant::now() + limit;
    loop {
        let token = source.token().await.expect("token");
        if token != first {
            return (token, Instant::now());
        }
        assert!(Instant::now() < deadline, "renewed within {limit:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Whether `check` comes true within `limit`, asking every 100 ms.
async fn eventually<F, Fut>(limit: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    loop {
        if check().await {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A peer speaking raw HTTP/1.1, as a misconfigured or broken endpoint, or one that throttles,
/// might: it answers its responses in turn, the last one for every later request, and keeps
/// the requests it read.
struct Peer {
    base: String,
    requests: Arc<Mutex<Vec<String>>>,
}

impl Peer {
    async fn start(responses: Vec<String>) -> Peer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address = listener.local_addr().expect("address");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        tokio::spawn(async move {
            let mut turn = 0;
            while let Ok((mut stream, _)) = listener.accept().await {
                let response = responses
                    .get(turn)
                    .or(responses.last())
                    .cloned()
                    .unwrap_or_default();
                turn += 1;
                let seen = seen.clone();
                tokio::spawn(async move {
                    let request = read_request(&mut stream).await;
                    seen.lock().expect("requests").push(request);
                    let _ = stream.write_all(response.as_bytes()).await;
                    let _ = stream.shutdown().await;
                });
            }
        });
        Peer {
            base: format!("http://{address}"),
            requests,
        }
    }

    /// The requests read so far.
    fn requests(&self) -> Vec<String> {
        self.requests.lock().expect("requests").clone()
    }
}

/// Reads one request: its head, then as many bytes as its `Content-Length` says; returns it.
async fn read_request(stream: &mut tokio::net::TcpStream) -> String {
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    while let Ok(n) = stream.read(&mut buffer).await {
        if n == 0 {
            break;
        }
        received.extend_from_slice(&buffer[..n]);
        let text = String::from_utf8_lossy(&received);
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text[..end]
                .lines()
                .find_map(|l| {
                    let (name, value) = l.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse::<usize>().ok())?
                })
                .unwrap_or(0);
            if received.len() >= end + 4 + length {
                break;
            }
        }
    }
    String::from_utf8_lossy(&received).into_owned()
}

/// A whole HTTP/1.1 response, with `extra` header lines (each ending in `\r\n`).
fn http_response_with(status: &str, extra: &str, content_type: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\n{extra}Content-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

fn http_response(status: &str, content_type: &str, body: &str) -> String {
    http_response_with(status, "", content_type, body)
}
