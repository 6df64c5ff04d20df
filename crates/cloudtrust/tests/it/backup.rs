//! `cloudtrust export` and `import`: a deployment moved from SQLite to PostgreSQL and back
//! (each test runs from either), with its tokens, revocations and secrets still working on
//! the other side, nothing half-imported, and no plaintext secret in the document.

use serde_json::Value;

use crate::support::{Server, TestDb, acme, cloudtrust, db_test, request_token};
use crate::testdb::Backend;

/// A database of the other kind than `db`'s.
async fn other_than(db: &TestDb) -> Option<TestDb> {
    TestDb::create(match db.postgres() {
        Some(_) => Backend::Sqlite,
        None => Backend::Postgres,
    })
    .await
}

/// `serve` over `db` on `address`. Tokens name their issuer, the public URL, which a move
/// keeps: both servers answer at the same address.
async fn serve(db: &TestDb, address: &str) -> Server {
    let mut command = cloudtrust(db.data_dir.path());
    command.args(["--database-url", &db.url]);
    Server::start_on(command, false, address).await
}

async fn token(base: &str, id: &str, secret: &str) -> String {
    let answer = request_token(&reqwest::Client::new(), base, "acme", id, secret)
        .await
        .expect("request");
    assert_eq!(answer.status(), 200);
    let body: Value = answer.json().await.expect("JSON");
    body["access_token"].as_str().expect("a token").to_owned()
}

async fn me_status(base: &str, token: &str) -> u16 {
    reqwest::Client::new()
        .get(format!("{base}/cvadapis/me"))
        .header("Authorization", format!("CwsAuth Bearer={token}"))
        .send()
        .await
        .expect("request")
        .status()
        .as_u16()
}

fn read_json(path: &std::path::Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).expect("read")).expect("a JSON document")
}

db_test! {
    async fn a_deployment_moves_to_the_other_database_with_its_tokens_valid(db) {
        let Some(target) = other_than(&db).await else { return };
        let client = acme(|args| db.json(args), "ci");
        let workspace = db.json(&["workspace-client", "create", "--customer", "acme", "--admin", "ann@acme.example",
            "--display-name", "Payroll", "--type", "private", "--redirect-uri", "https://payroll.acme.example/cb"]);
        let workspace_secret = workspace["secret"].as_str().expect("secret").to_owned();
        let user = db.json(&["user", "add", "--customer", "acme", "--email", "pat@acme.example", "--given-name", "Pat", "--family-name", "Doe"]);
        let password = user["password"].as_str().expect("password").to_owned();

        let address = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").to_string();
        let server = serve(&db, &address).await;
        let kept = token(&server.base_url, &client.client_id, &client.secret).await;
        let revoked = token(&server.base_url, &client.client_id, &client.secret).await;
        let revocation = reqwest::Client::new()
            .post(format!("{}/cctrustoauth2/acme/tokens/revoke", server.base_url))
            .form(&[("token", revoked.as_str()), ("client_id", &client.client_id), ("client_secret", &client.secret)])
            .send().await.expect("revoke");
        assert_eq!(revocation.status(), 200);
        assert_eq!(me_status(&server.base_url, &kept).await, 200);
        assert_eq!(me_status(&server.base_url, &revoked).await, 401);
        assert!(server.stop().success());

        let file = db.data_dir.path().join("acme.export.json");
        let exported = db.json(&["export", "--output", file.to_str().expect("path")]);
        assert_eq!(exported["output"], file.to_str().expect("path"), "the absolute path");
        assert!(exported["tables"]["api_clients"] == 1 && exported["tables"]["revoked_bearer_tokens"] == 1, "{exported}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&file).expect("metadata").permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "the document holds hashes and sealed keys");
        }
        let text = std::fs::read_to_string(&file).expect("read");
        for secret in [&client.secret, &workspace_secret, &password] {
            assert!(!text.contains(secret.as_str()), "no plaintext secret in the document");
        }
        let document = read_json(&file);
        assert_eq!(document["format"], "cloudtrust-export");
        assert!(document["tables"]["signing_keys"].as_array().is_some_and(|keys| !keys.is_empty()));
        assert!(document["tables"].get("console_sessions").is_none(), "sessions are left out");
        let fingerprint = document["kek_fingerprint"].as_str().expect("the KEK's fingerprint").to_owned();

        // Without the KEK the document's keys and hashes were made with, nothing is written.
        let refused = target.run(&["import", file.to_str().expect("path")]);
        assert!(!refused.status.success());
        assert!(String::from_utf8_lossy(&refused.stderr).contains("cloudtrust.kek"), "{}", String::from_utf8_lossy(&refused.stderr));
        std::fs::copy(db.data_dir.path().join("cloudtrust.kek"), target.data_dir.path().join("cloudtrust.kek")).expect("copy the KEK");

        let imported = target.json(&["import", file.to_str().expect("path")]);
        assert_eq!(imported["rows"], exported["rows"]);
        assert_eq!(imported["kek_fingerprint"], fingerprint.as_str());
        let again = target.run(&["import", file.to_str().expect("path")]);
        assert!(!again.status.success());
        assert!(String::from_utf8_lossy(&again.stderr).contains("empty database"));

        // The other database serves the same deployment: a token issued before the move is
        // accepted, the revoked one is not, and the secrets still work.
        let server = serve(&target, &address).await;
        assert_eq!(me_status(&server.base_url, &kept).await, 200, "signed with the moved key");
        assert_eq!(me_status(&server.base_url, &revoked).await, 401, "still revoked");
        let fresh = token(&server.base_url, &client.client_id, &client.secret).await;
        assert_eq!(me_status(&server.base_url, &fresh).await, 200);
        assert!(server.stop().success());

        // And back: the second export holds what the first did.
        let round = target.data_dir.path().join("round.json");
        target.json(&["export", "--output", round.to_str().expect("path")]);
        let mut first = read_json(&file)["tables"].clone();
        let mut second = read_json(&round)["tables"].clone();
        // Using the client after the move is recorded (last_used_at) and logged; nothing else
        // differs.
        for tables in [&mut first, &mut second] {
            tables["api_clients"][0]["last_used_at"] = Value::Null;
            tables["audit_events"] = Value::Null;
        }
        assert_eq!(first, second);
    }
}

db_test! {
    async fn a_broken_document_imports_nothing(db) {
        acme(|args| db.json(args), "ci");
        let out = db.run(&["export"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let whole = String::from_utf8(out.stdout).expect("UTF-8");
        assert!(String::from_utf8_lossy(&out.stderr).contains("Exported"), "the summary is on standard error");
        let key = db.data_dir.path().join("cloudtrust.kek");
        let backend = if db.postgres().is_some() { Backend::Postgres } else { Backend::Sqlite };

        // Cut off after the API clients: customers and administrators were read and inserted,
        // then the document ends.
        let cut = whole.find("\"smart_keys\"").expect("the tables in order");
        let broken = [
            (whole[..cut].to_owned(), "EOF"),
            (whole.replacen("\"cloudtrust-export\"", "\"something-else\"", 1), "not a cloudtrust export"),
            (whole.replacen("\"name\":\"Acme\"", "\"name\":7", 1), "expected a string"),
            (whole.replacen("\"name\":\"Acme\"", "\"nickname\":\"Acme\"", 1), "no column"),
            (whole.replacen("\"customers\":", "\"customer\":", 1), "unknown table"),
        ];
        for (document, says) in broken {
            let target = TestDb::create(backend).await.expect("a database");
            std::fs::copy(&key, target.data_dir.path().join("cloudtrust.kek")).expect("copy the KEK");
            let out = target.run_with_input(&["import", "-"], &document);
            assert!(!out.status.success());
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(stderr.contains(says), "{says}: {stderr}");
            let left = target.data_dir.path().join("left.json");
            let exported = target.json(&["export", "--output", left.to_str().expect("path")]);
            assert_eq!(exported["rows"], 0, "nothing half-imported after {says}");
            // The database is as empty as before: the whole document goes in.
            let out = target.run_with_input(&["import", "-"], &whole);
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        }
    }
}
