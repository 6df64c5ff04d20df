//! Two `cloudtrust serve` processes and the command line on one database: a change made by one
//! process reaches the others' caches.

use std::time::Duration;

use crate::support::{Server, cloudtrust, db_test, eventually, token_status};

const PROPAGATION: Duration = Duration::from_secs(5);

db_test! {
    async fn a_client_deleted_from_the_command_line_gets_no_token_from_any_server(db) {
        db.json(&["customer", "create", "--id", "acme", "--name", "Acme"]);
        db.json(&["admin", "add", "--customer", "acme", "--email", "ann@acme.example", "--full"]);
        let created = db.json(&["client", "create", "--customer", "acme", "--admin", "ann@acme.example", "--name", "ci"]);
        let id = created["client_id"].as_str().expect("id").to_owned();
        let secret = created["client_secret"].as_str().expect("secret").to_owned();

        let start = || {
            let mut command = cloudtrust(db.data_dir.path());
            command.args(["--database-url", &db.url]);
            command
        };
        let first = Server::start(start(), false).await;
        let second = Server::start(start(), false).await;
        for server in [&first, &second] {
            assert_eq!(token_status(&server.base_url, "root", &id, &secret).await, 200);
        }
        db.json(&["client", "delete", "--customer", "acme", "--id", &id]);
        for server in [&first, &second] {
            let refused = eventually(PROPAGATION, || async {
                token_status(&server.base_url, "root", &id, &secret).await == 400
            }).await;
            assert!(refused, "{} still issues tokens to a deleted client", server.base_url);
        }
        assert!(first.stop().success());
        assert!(second.stop().success());
    }
}

/// Outside `--dev`, plain HTTP beyond loopback and a key-encryption key next to the database
/// are warned about at start.
#[test]
fn production_risks_are_warned_about_at_start() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;

    let root = tempfile::tempdir().expect("temp dir");
    let data_dir = root.path().join("data");
    let mut child = cloudtrust(&data_dir)
        .args(["serve", "--listen", "0.0.0.0:0"])
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn serve");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut seen = String::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while std::time::Instant::now() < deadline
        && !(seen.contains("plain HTTP beyond this machine")
            && seen.contains("key-encryption key is kept"))
    {
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) {
            seen.push_str(&line);
            seen.push('\n');
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(seen.contains("plain HTTP beyond this machine"), "{seen}");
    assert!(
        seen.contains("key-encryption key is kept next to the database"),
        "{seen}"
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&data_dir)
        .expect("data dir")
        .permissions()
        .mode();
    assert_eq!(mode & 0o077, 0, "the data dir is private: {mode:o}");
}
