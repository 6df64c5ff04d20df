//! The token source against a real cloudtrust server (over a fresh SQLite database, on
//! loopback), and against a peer that answers what no token endpoint should, to check that
//! every bad answer is a clear error and never a panic.

use std::sync::Arc;
use std::time::{Duration, Instant};

use cloudtrust_client::{ClientError, RENEW_BEFORE, TokenSource, renew_after};
use cloudtrust_server::domain::audit::Actor;
use cloudtrust_server::domain::customers::Region;
use cloudtrust_server::domain::directory::{AdministratorRef, NewAdministrator};
use cloudtrust_server::domain::permissions::Access;
use cloudtrust_server::{Config, RunningServer, SystemClock};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A running server with one API client.
struct Server {
    server: RunningServer,
    client_id: String,
    secret: String,
    // Dropped last: the database outlives the server.
    _data_dir: tempfile::TempDir,
}

impl Server {
    /// A server issuing tokens for `token_lifetime_secs`, with a customer `acme`, its Full
    /// administrator and an API client.
    async fn start(token_lifetime_secs: u64) -> Server {
        let data_dir = tempfile::tempdir().expect("temp dir");
        let config = Config {
            listen: "127.0.0.1:0".parse().expect("address"),
            data_dir: data_dir.path().to_owned(),
            database_url: Some(format!(
                "sqlite://{}/cloudtrust.db?mode=rwc",
                data_dir.path().display()
            )),
            token_lifetime_secs,
            ..Config::default()
        };
        let server = RunningServer::start(config, Arc::new(SystemClock))
            .await
            .expect("server starts");
        let directory = server.directory();
        let operator = Actor::operator();
        directory
            .create_customer(&operator, Some("acme"), "Acme", Region::Us)
            .await
            .expect("customer");
        directory
            .add_administrator(
                &operator,
                "acme",
                NewAdministrator::with_email("owner@acme.example", None, Access::Full),
            )
            .await
            .expect("administrator");
        let created = directory
            .create_api_client(
                &operator,
                "acme",
                AdministratorRef::Email("owner@acme.example"),
                "sdk",
            )
            .await
            .expect("client");
        Server {
            server,
            client_id: created.client.id,
            secret: created.secret,
            _data_dir: data_dir,
        }
    }

    fn base(&self) -> &str {
        &self.server.base_url
    }

    fn source(&self) -> TokenSource {
        TokenSource::new(self.base(), "root", &self.client_id, &self.secret)
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

#[test]
fn tokens_are_renewed_a_minute_before_expiry_or_at_half_their_lifetime() {
    let secs = Duration::from_secs;
    assert_eq!(RENEW_BEFORE, secs(60));
    assert_eq!(renew_after(secs(3600)), secs(3540));
    assert_eq!(renew_after(secs(120)), secs(60));
    assert_eq!(renew_after(secs(100)), secs(50));
    assert_eq!(renew_after(secs(10)), secs(5));
    assert_eq!(renew_after(secs(0)), secs(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_is_reused_and_renewed_before_it_expires() {
    // Ten seconds: renewed after five, while the first token has four or five left.
    let server = Server::start(10).await;
    let source = server.source();
    let asked = Instant::now();
    let first = source.token().await.expect("token");
    assert_eq!(
        source.token().await.expect("token"),
        first,
        "reused while fresh"
    );
    assert_eq!(
        source.authorization().await.expect("header"),
        format!("CwsAuth Bearer={first}")
    );
    assert_eq!(server.me(&first).await, 200);

    let (second, renewed) = next_token(&source, &first, Duration::from_secs(20)).await;
    let after = renewed - asked;
    assert!(
        after >= renew_after(Duration::from_secs(10)),
        "not renewed before half the lifetime ({after:?})"
    );
    assert_eq!(
        server.me(&first).await,
        200,
        "renewed while the first token still works ({after:?} after it was asked for)"
    );
    assert_eq!(server.me(&second).await, 200);
    assert_eq!(source.token().await.expect("token"), second, "then reused");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_living_less_than_a_minute_is_reused_too() {
    let server = Server::start(2).await;
    let source = server.source();
    let first = source.token().await.expect("token");
    assert_eq!(
        source.token().await.expect("token"),
        first,
        "a 2-second token is not fetched again at once"
    );
    let (second, _) = next_token(&source, &first, Duration::from_secs(10)).await;
    assert_eq!(server.me(&second).await, 200, "the renewed token works");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalidate_forgets_the_token_and_refusals_are_reported() {
    let server = Server::start(3600).await;
    let source = server.source();
    let first = source.token().await.expect("token");
    source.invalidate().await;
    let second = source.token().await.expect("token");
    assert_ne!(first, second, "a new token after invalidation");

    let wrong = TokenSource::new(server.base(), "root", &server.client_id, "not-the-secret");
    match wrong.token().await {
        Err(ClientError::Refused { status, body }) => {
            assert_eq!((status, body.error.as_str()), (400, "invalid_client"));
            assert_eq!(
                body.error_description.as_deref(),
                Some("Invalid client id or client secret.")
            );
        }
        other => panic!("a refusal, not {other:?}"),
    }
    let elsewhere = TokenSource::new(server.base(), "globex", &server.client_id, &server.secret);
    assert!(
        matches!(
            elsewhere.token().await,
            Err(ClientError::Refused {
                status: 400..=403,
                ..
            })
        ),
        "another customer's token URL is refused"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trailing_slash_in_the_base_url_is_ignored() {
    let server = Server::start(3600).await;
    for base in [
        format!("{}/", server.base()),
        format!("{}//", server.base()),
    ] {
        let source = TokenSource::new(&base, "root", &server.client_id, &server.secret);
        let token = source
            .token()
            .await
            .unwrap_or_else(|e| panic!("{base}: {e}"));
        assert_eq!(server.me(&token).await, 200, "{base}");
        assert!(
            format!("{source:?}").contains(&format!(
                "\"{}/cctrustoauth2/root/tokens/clients\"",
                server.base()
            )),
            "{base}: {source:?}"
        );
    }
}

/// A peer that answers every request with `response` (a whole HTTP/1.1 response), as a
/// misconfigured or broken token endpoint might; returns its base URL.
async fn answering(response: String) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let response = response.clone();
            tokio::spawn(async move {
                read_request(&mut stream).await;
                let _ = stream.write_all(response.as_bytes()).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    format!("http://{address}")
}

/// Reads one request: its head, then as many bytes as its `Content-Length` says.
async fn read_request(stream: &mut tokio::net::TcpStream) {
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        let Ok(n) = stream.read(&mut buffer).await else {
            return;
        };
        if n == 0 {
            return;
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
                return;
            }
        }
    }
}

fn http_response(status: &str, content_type: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

/// What the token source makes of `response`: the error, which must be one.
async fn error_for(response: String) -> ClientError {
    let base = answering(response).await;
    let source = TokenSource::new(&base, "root", "id", "secret");
    match source.token().await {
        Err(e) => e,
        Ok(token) => panic!("a token from a bad answer: {token:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_answers_are_clear_errors() {
    let bad = |e: ClientError| match e {
        ClientError::BadResponse(message) => message,
        other => panic!("BadResponse, not {other:?}"),
    };

    let message = bad(error_for(http_response(
        "200 OK",
        "text/html",
        "<html>a sign-in page</html>",
    ))
    .await);
    assert!(
        message.contains("200") && message.contains("not a token response"),
        "{message}"
    );

    let message = bad(error_for(http_response(
        "200 OK",
        "application/json",
        r#"{"token_type":"bearer","expires_in":"3600"}"#,
    ))
    .await);
    assert!(
        message.contains("missing field `access_token`"),
        "{message}"
    );

    let message = bad(error_for(http_response(
        "200 OK",
        "application/json",
        r#"{"token_type":"bearer","access_token":"ey.x.y"}"#,
    ))
    .await);
    assert!(message.contains("missing field `expires_in`"), "{message}");

    let message = bad(error_for(http_response(
        "200 OK",
        "application/json",
        r#"{"token_type":"bearer","access_token":"","expires_in":"3600"}"#,
    ))
    .await);
    assert!(message.contains("empty access_token"), "{message}");

    for expires_in in ["\"soon\"", "\"-5\"", "\"\""] {
        let message = bad(error_for(http_response(
            "200 OK",
            "application/json",
            &format!(
                r#"{{"token_type":"bearer","access_token":"ey.x.y","expires_in":{expires_in}}}"#
            ),
        ))
        .await);
        assert!(
            message.contains("expires_in") && message.contains("not a number of seconds"),
            "{expires_in}: {message}"
        );
    }
    let message = bad(error_for(http_response(
        "200 OK",
        "application/json",
        r#"{"token_type":"bearer","access_token":"ey.x.y","expires_in":"18446744073709551615"}"#,
    ))
    .await);
    assert!(message.contains("out of range"), "{message}");

    let message = bad(error_for(http_response(
        "500 Internal Server Error",
        "text/plain",
        "upstream failed",
    ))
    .await);
    assert!(
        message.contains("500") && message.contains("without an OAuth 2.0 error body"),
        "{message}"
    );
    let message = bad(error_for(http_response(
        "404 Not Found",
        "application/json",
        r#"{"type":"https://errors-api.cloud.com/common/notFound","detail":"Not found","parameters":[]}"#,
    ))
    .await);
    assert!(message.contains("404"), "{message}");

    match error_for(http_response(
        "401 Unauthorized",
        "application/json",
        r#"{"error":"invalid_client","error_description":"Invalid client id or client secret."}"#,
    ))
    .await
    {
        ClientError::Refused { status, body } => {
            assert_eq!((status, body.error.as_str()), (401, "invalid_client"));
        }
        other => panic!("Refused, not {other:?}"),
    }

    // An answer cut short is a failed request.
    let cut = error_for("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"tok".to_owned()).await;
    assert!(matches!(cut, ClientError::Http(_)), "{cut:?}");
    let nothing = error_for(String::new()).await;
    assert!(matches!(nothing, ClientError::Http(_)), "{nothing:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_server_is_a_request_error() {
    // Port 0 is never listened on: the connection is refused.
    let source = TokenSource::new("http://127.0.0.1:0", "root", "id", "secret");
    match source.token().await {
        Err(ClientError::Http(e)) => assert!(e.is_connect(), "{e}"),
        other => panic!("a connection error, not {other:?}"),
    }
}
