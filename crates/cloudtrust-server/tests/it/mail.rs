//! Messages to people: invitations made through the REST API leave as RFC 5322 messages, into
//! the mail drop or by SMTP, read back here with an independent parser (mail-parser), and a
//! slow or unreachable SMTP server never holds up the request that made the invitation.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use mail_parser::{MessageParser, MimeHeaders};
use serde_json::{Value, json};
use tokio::net::TcpListener;

use cloudtrust_server::{Config, RunningServer};

use crate::smtp_sink::smtp_sink;
use crate::support::{Env, Seed, db_test, eventually, logs, token_request};

const MAIL_FROM: &str = "Acme Access <access@acme.example>";

/// A node over the test's database with its own configuration and base URL (links in its
/// messages point to it), and a bearer token of the seeded Full administrator's API client.
struct Node {
    server: RunningServer,
    token: String,
}

impl Node {
    async fn start(env: &Env, seed: &Seed, tweak: impl FnOnce(&mut Config)) -> Node {
        let mut config = env.db.config();
        tweak(&mut config);
        let server = RunningServer::start(config, env.clock.clone())
            .await
            .expect("node starts");
        let response = token_request(
            &env.http,
            &server.base_url,
            "root",
            &seed.client_id,
            &seed.secret,
        )
        .await;
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.expect("json");
        let token = body["access_token"].as_str().expect("token").to_owned();
        Node { server, token }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.base_url)
    }

    /// Invites `email` through `POST /administrators/$create`, as Citrix's Go SDK does;
    /// returns the status, the administrator id (from `ucOid`) and how long it took.
    async fn invite(&self, env: &Env, email: &str) -> (u16, String, Duration) {
        let started = Instant::now();
        let response = env
            .http
            .post(self.url("/administrators/$create"))
            .header("Authorization", format!("CWSAuth bearer={}", self.token))
            .header("Citrix-CustomerId", "acme")
            .json(&json!({
                "type": "AdministratorUser",
                "accessType": "Full",
                "providerType": "CitrixSts",
                "email": email,
            }))
            .send()
            .await
            .expect("request");
        let elapsed = started.elapsed();
        let status = response.status().as_u16();
        let body: Value = response.json().await.expect("JSON body");
        let id = body["ucOid"]
            .as_str()
            .and_then(|oid| oid.strip_prefix("OID:/cloudtrust/"))
            .unwrap_or_default()
            .to_owned();
        (status, id, elapsed)
    }
}

fn mail_drop(env: &Env) -> PathBuf {
    env.db.data_dir.path().join("mail")
}

/// The files in the mail drop (none when it does not exist).
fn dropped_files(dir: &Path) -> Vec<PathBuf> {
    match std::fs::read_dir(dir) {
        Ok(entries) => entries.filter_map(Result::ok).map(|e| e.path()).collect(),
        Err(_) => Vec::new(),
    }
}

/// Checks that `raw` is the invitation to `email` under RFC 5322, as an independent parser
/// reads it, and returns the link in its body.
fn check_invitation(node: &Node, raw: &[u8], email: &str) -> String {
    let message = MessageParser::default()
        .parse(raw)
        .unwrap_or_else(|| panic!("not a message: {}", String::from_utf8_lossy(raw)));
    let date = message.date().expect("a Date header").to_timestamp();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    assert!(
        (now - date).abs() < 120,
        "Date is the sending time: {date} vs {now}"
    );
    let from = message
        .from()
        .and_then(|a| a.first())
        .expect("a From header");
    assert_eq!(
        (from.name(), from.address()),
        (Some("Acme Access"), Some("access@acme.example")),
        "From is mail_from"
    );
    let to = message.to().and_then(|a| a.first()).expect("a To header");
    assert_eq!(to.address(), Some(email));
    assert_eq!(
        message.subject(),
        Some("You are invited to administer acme on cloudtrust")
    );
    let id = message.message_id().expect("a Message-ID header");
    assert!(id.ends_with("@acme.example") && id.len() > 20, "{id}");
    let content_type = message.content_type().expect("a Content-Type header");
    assert_eq!(
        (
            content_type.ctype(),
            content_type.subtype(),
            content_type.attribute("charset")
        ),
        ("text", Some("plain"), Some("utf-8"))
    );
    let text = message.body_text(0).expect("a text body");
    assert!(
        text.contains(&format!("administer the customer acme as {email}")),
        "{text}"
    );
    let prefix = node.url("/invitations/");
    let link = text
        .lines()
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("a link under {prefix} in {text}"))
        .trim()
        .to_owned();
    assert!(
        link.len() > prefix.len() + 40,
        "the link carries the token: {link}"
    );
    link
}

/// The link opens the invitation page.
async fn assert_link_works(env: &Env, link: &str, email: &str) {
    let page = env.http.get(link).send().await.expect("request");
    assert_eq!(page.status(), 200, "{link}");
    assert!(page.text().await.expect("html").contains(email));
}

db_test! {
    async fn an_invitation_lands_in_the_mail_drop_as_an_rfc_5322_message(env) {
        let seed = env.seed().await;
        let node = Node::start(&env, &seed, |c| c.mail_from = MAIL_FROM.to_owned()).await;
        let (status, id, _) = node.invite(&env, "Invitee@Acme.example").await;
        assert_eq!(status, 201);
        let files = dropped_files(&mail_drop(&env));
        assert_eq!(files.len(), 1, "{files:?}");
        let path = &files[0];
        assert_eq!(path.file_name().and_then(|n| n.to_str()), Some(format!("invitation-{id}.eml").as_str()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(path).expect("metadata").permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "only the server's user reads the secret link");
        }
        let raw = std::fs::read(path).expect("message");
        let link = check_invitation(&node, &raw, "invitee@acme.example");
        assert_link_works(&env, &link, "invitee@acme.example").await;
        let token_part = link.rsplit('/').next().expect("token");
        assert!(!logs().contains(token_part), "the invitation token reached the log");
    }
}

db_test! {
    async fn with_smtp_url_an_invitation_leaves_by_smtp_and_not_into_the_mail_drop(env) {
        let (port, mut received) = smtp_sink().await;
        let seed = env.seed().await;
        // mail_dir stays set, as the harness sets it: SMTP takes precedence.
        let node = Node::start(&env, &seed, |c| {
            c.mail_from = MAIL_FROM.to_owned();
            c.smtp_url = Some(format!("smtp://127.0.0.1:{port}"));
        }).await;
        assert!(env.db.config().mail_dir.is_some(), "the harness sets a mail drop");
        let (status, id, _) = node.invite(&env, "invitee@acme.example").await;
        assert_eq!(status, 201);
        let delivered = tokio::time::timeout(Duration::from_secs(20), received.recv())
            .await
            .expect("the sink receives the message within the time limit")
            .expect("a message");
        assert_eq!(delivered.mail_from, "MAIL FROM:<access@acme.example>");
        assert_eq!(delivered.rcpt_to, ["RCPT TO:<invitee@acme.example>"]);
        let link = check_invitation(&node, &delivered.data, "invitee@acme.example");
        assert_link_works(&env, &link, "invitee@acme.example").await;
        assert!(dropped_files(&mail_drop(&env)).is_empty(), "nothing is written to the mail drop");
        let sent = eventually(Duration::from_secs(5), || async {
            logs().lines().any(|l| l.contains(&id) && l.contains("invitation sent by SMTP"))
        }).await;
        assert!(sent, "the sending is logged with the administrator id");
        let token_part = link.rsplit('/').next().expect("token");
        assert!(!logs().contains(token_part), "the invitation token reached the log");
    }
}

/// A TCP server that accepts connections and never says a word, as a hung SMTP server does.
async fn silent_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("address").port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    port
}

/// A port on 127.0.0.1 where nothing listens (connections are refused).
async fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    listener.local_addr().expect("address").port()
}

db_test! {
    async fn an_unreachable_smtp_server_neither_slows_nor_fails_invitations(env) {
        let seed = env.seed().await;
        for (round, port) in [silent_server().await, closed_port().await].into_iter().enumerate() {
            let node = Node::start(&env, &seed, |c| c.smtp_url = Some(format!("smtp://127.0.0.1:{port}"))).await;
            for n in 0..3 {
                let (status, _, elapsed) = node.invite(&env, &format!("invitee{round}{n}@acme.example")).await;
                assert_eq!(status, 201, "port {port}");
                // The connection alone may take 10 s and a message 30 s: the request waits
                // for neither.
                assert!(elapsed < Duration::from_secs(5), "port {port}: the invitation took {elapsed:?}");
            }
            let listed = env.http.get(node.url("/administrators"))
                .header("Authorization", format!("CWSAuth bearer={}", node.token))
                .header("Citrix-CustomerId", "acme")
                .send().await.expect("request");
            assert_eq!(listed.status(), 200, "the server keeps working");
            let listed: Value = listed.json().await.expect("json");
            let pending = listed["items"].as_array().expect("items").iter().filter(|a| a["pending"] == true).count();
            assert_eq!(pending, 3 * (round + 1), "every invitation exists");
            assert!(dropped_files(&mail_drop(&env)).is_empty(), "SMTP is configured, so no file is written");
            assert_eq!(env.http.get(node.url("/healthz")).send().await.expect("request").status(), 200);
        }
        // A refused connection fails at once, and is logged with the administrator id only.
        let logged = eventually(Duration::from_secs(10), || async {
            logs().lines().any(|l| l.contains("sending the invitation by SMTP failed") && l.contains("about=administrator"))
        }).await;
        assert!(logged, "the failure is logged");
        let logs = logs();
        // Requests are logged with their route (`/invitations/{token}`), never a real link.
        let leaks: Vec<&str> = logs
            .lines()
            .filter(|l| l.replace("/invitations/{token}", "").contains("/invitations/"))
            .collect();
        assert!(leaks.is_empty(), "an invitation link reached the log: {leaks:?}");
    }
}
