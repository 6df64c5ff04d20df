//! How `cloudtrust serve` is configured and what it logs: `CLOUDTRUST_*` environment variables
//! over the configuration file (and flags over both), and `CLOUDTRUST_LOG_FORMAT=json`.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;

use crate::support::{Server, cloudtrust, db_test};

/// The claims of a JWT, unverified.
fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("payload");
    let bytes = base64_url_decode(payload);
    serde_json::from_slice(&bytes).expect("claims")
}

/// Unpadded base64url, decoded (the binary's tests have no base64 crate).
fn base64_url_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'-' => 62,
            b'_' => 63,
            _ => panic!("not base64url: {c}"),
        }
    };
    let mut out = Vec::new();
    let (mut bits, mut held) = (0u32, 0u32);
    for c in text.bytes() {
        bits = (bits << 6) | value(c);
        held += 6;
        if held >= 8 {
            held -= 8;
            out.push(u8::try_from((bits >> held) & 0xff).expect("a byte"));
        }
    }
    out
}

/// A customer with an API client, made with the command line; the client's id and secret.
fn seed(db: &crate::support::TestDb) -> (String, String) {
    let acme = crate::support::acme(|args| db.json(args), "ci");
    (acme.client_id, acme.secret)
}

db_test! {
    async fn environment_variables_override_the_config_file_and_flags_override_both(db) {
        let (id, secret) = seed(&db);
        let file = db.data_dir.path().join("cloudtrust.toml");
        std::fs::write(&file, concat!(
            "token_lifetime_secs = 600\n",
            "token_audience = \"from-the-file\"\n",
            // Neither can be used: the environment must win over them.
            "database_url = \"sqlite:///proc/no-such-folder/cloudtrust.db\"\n",
            "listen = \"192.0.2.1:9\"\n",
        )).expect("config file");
        let mut command = cloudtrust(db.data_dir.path());
        command
            .env("CLOUDTRUST_CONFIG", &file)
            .env("CLOUDTRUST_DATABASE_URL", &db.url)
            .env("CLOUDTRUST_TOKEN_LIFETIME_SECS", "900")
            // An address nobody here can listen on: `--listen` must win over it.
            .env("CLOUDTRUST_LISTEN", "192.0.2.1:9");
        let server = Server::start(command, false).await;
        assert!(server.base_url.starts_with("http://127.0.0.1:"), "{}", server.base_url);

        let response = reqwest::Client::new()
            .post(format!("{}/cctrustoauth2/root/tokens/clients", server.base_url))
            .form(&[("grant_type", "client_credentials"), ("client_id", id.as_str()), ("client_secret", secret.as_str())])
            .send().await.expect("request");
        assert_eq!(response.status(), 200, "the client made in the environment's database");
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["expires_in"], "900", "the environment over the file's 600 and the default 3600");
        let token = claims(body["access_token"].as_str().expect("token"));
        assert_eq!(token["aud"], "from-the-file", "the file over the default");
        assert_eq!(token["exp"].as_i64().expect("exp") - token["iat"].as_i64().expect("iat"), 900);
        assert!(server.stop().success());
    }
}

/// A line of the JSON log, or a failure naming the line that is not one.
fn json_line(line: &str) -> Value {
    let value: Value =
        serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
    assert!(value.is_object(), "{line}");
    for field in ["timestamp", "level", "target", "fields"] {
        assert!(value.get(field).is_some(), "{field} in {line}");
    }
    value
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_format_json_makes_every_log_line_a_json_object() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut child = cloudtrust(dir.path())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("CLOUDTRUST_LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn serve");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut lines = Vec::new();
    let base_url = loop {
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the server logs that it listens");
        let value = json_line(&line);
        lines.push(line);
        if value["fields"]["message"] == "cloudtrust is listening" {
            break value["fields"]["url"]
                .as_str()
                .expect("url field")
                .to_owned();
        }
    };
    assert_eq!(
        json_line(&lines[lines.len() - 1])["level"],
        "INFO",
        "levels as text"
    );

    // A refused token request is logged within its request's span, transaction id included.
    let txid = "0f5e8d4c-3b2a-4c1d-9e8f-7a6b5c4d3e2f";
    let response = reqwest::Client::new()
        .post(format!("{base_url}/cctrustoauth2/root/tokens/clients"))
        .header("Citrix-TransactionId", txid)
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "no-such-client"),
            ("client_secret", "a-secret-that-is-never-logged"),
        ])
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 400);
    let refusal = loop {
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the refusal is logged");
        let value = json_line(&line);
        lines.push(line);
        if value["fields"]["message"] == "token refused: unknown client" {
            break value;
        }
    };
    let spans = refusal["spans"].as_array().expect("spans");
    assert!(
        spans.iter().any(|s| s["txid"] == txid),
        "the transaction id is a field of the request span: {refusal}"
    );

    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    assert!(child.wait().expect("wait").success(), "stops cleanly");
    reader.join().expect("reader");
    lines.extend(rx.try_iter());
    let stopped = lines
        .iter()
        .map(|l| json_line(l))
        .any(|v| v["fields"]["message"] == "stopped");
    assert!(stopped, "the last words are JSON too: {lines:#?}");
    assert!(
        lines
            .iter()
            .all(|l| !l.contains("a-secret-that-is-never-logged")),
        "no secret in the log"
    );
}

/// The JSON log lines of `serve` with `RUST_LOG=filter` while one token request for an
/// unknown client, with a transaction id, is refused; the server is stopped before they are
/// returned.
async fn logged_around_one_refusal(filter: &str, txid: &str) -> Vec<Value> {
    let dir = tempfile::tempdir().expect("temp dir");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let mut child = cloudtrust(dir.path())
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env("CLOUDTRUST_LOG_FORMAT", "json")
        .env("RUST_LOG", filter)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn serve");
    let stderr = child.stderr.take().expect("stderr");
    let reader = std::thread::spawn(move || {
        BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
            .collect::<Vec<_>>()
    });
    let client = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}/cctrustoauth2/root/tokens/clients");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let answered = loop {
        let sent = client
            .post(&url)
            .header("Citrix-TransactionId", txid)
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", "no-such-client"),
                ("client_secret", "a-secret"),
            ])
            .send()
            .await;
        match sent {
            Ok(response) => break response.status(),
            Err(_) if std::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(error) => panic!("the server never answered: {error}"),
        }
    };
    assert_eq!(answered, 400);
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    assert!(child.wait().expect("wait").success(), "stops cleanly");
    let lines = reader.join().expect("reader");
    lines.iter().map(|l| json_line(l)).collect()
}

/// Whether `lines` hold the refusal, in the request's span with its transaction id.
fn refusal_in_span(lines: &[Value], txid: &str) -> bool {
    lines.iter().any(|line| {
        line["fields"]["message"] == "token refused: unknown client"
            && line["spans"]
                .as_array()
                .is_some_and(|spans| spans.iter().any(|s| s["txid"] == txid))
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_log_filters_by_target_and_by_span() {
    let listening = |lines: &[Value]| {
        lines
            .iter()
            .any(|l| l["fields"]["message"] == "cloudtrust is listening")
    };
    // Targets and levels only: the server library's info lines, the command's warnings.
    let txid = "targets-1";
    let lines = logged_around_one_refusal("warn,cloudtrust_server=info", txid).await;
    assert!(refusal_in_span(&lines, txid), "{lines:#?}");
    assert!(!listening(&lines), "{lines:#?}");

    // A span directive: what is logged inside a request's span, down to debug; elsewhere,
    // warnings only.
    let txid = "spans-1";
    let lines = logged_around_one_refusal("warn,[request]=debug", txid).await;
    assert!(refusal_in_span(&lines, txid), "{lines:#?}");
    assert!(!listening(&lines), "{lines:#?}");

    // Without a filter of its own, info and up.
    let lines = logged_around_one_refusal("info", "plain-1").await;
    assert!(listening(&lines), "{lines:#?}");
}
