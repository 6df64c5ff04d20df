//! `cloudtrust kek generate | rotate`: the key-encryption key replaced, whether it lives in the
//! data dir or in the configuration. API-client secrets and signing keys keep working under the
//! new key, the old key is refused, and a rotation interrupted after its commit is finished at
//! the next start.

use std::path::Path;
use std::process::Output;

use crate::support::{Server, TestDb, acme, cloudtrust, db_test, token_status};

const NEW_KEY_ENV: &str = "CLOUDTRUST_NEW_KEY_ENCRYPTION_KEY";
const KEY_ENV: &str = "CLOUDTRUST_KEY_ENCRYPTION_KEY";

/// A customer, a full administrator, a signing key and an API client; the client's id and
/// secret. `run` runs one command.
fn client_of(run: impl Fn(&[&str]) -> Output) -> (String, String) {
    let json = |args: &[&str]| {
        let mut all = args.to_vec();
        all.push("--json");
        let out = run(&all);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&out.stdout).expect("JSON")
    };
    json(&["keys", "rotate"]);
    let acme = acme(json, "ci");
    (acme.client_id, acme.secret)
}

fn active_kid(db: &TestDb, key: Option<&str>) -> String {
    let mut command = cloudtrust(db.data_dir.path());
    command.args(["--database-url", &db.url, "keys", "list", "--json"]);
    if let Some(key) = key {
        command.env(KEY_ENV, key);
    }
    let out = command.output().expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let keys: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    keys.as_array()
        .expect("array")
        .iter()
        .find(|k| k["status"] == "active")
        .and_then(|k| k["kid"].as_str())
        .expect("an active key")
        .to_owned()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).expect("read")
}

db_test! {
    async fn the_data_dirs_key_is_replaced_and_secrets_stay_valid(db) {
        let (id, secret) = client_of(|args| db.run(args));
        let kid = active_kid(&db, None);
        let file = db.data_dir.path().join("cloudtrust.kek");
        let old = read(&file);

        let rotated = db.json(&["kek", "rotate"]);
        assert_ne!(rotated["fingerprint"], rotated["old_fingerprint"]);
        assert_eq!(rotated["signing_keys_resealed"], 1);
        assert_eq!(rotated["key_file"], file.display().to_string());
        let new = read(&file);
        assert_ne!(new, old, "the file holds the new key");
        assert!(!db.data_dir.path().join("cloudtrust.kek.new").exists());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&file).expect("metadata").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }

        // Under the new key: the same signing key, and the secret made under the old one.
        assert_eq!(active_kid(&db, None), kid);
        let start = || {
            let mut command = cloudtrust(db.data_dir.path());
            command.args(["--database-url", &db.url]);
            command
        };
        let server = Server::start(start(), false).await;
        assert_eq!(token_status(&server.base_url, "acme", &id, &secret).await, 200);
        assert!(server.stop().success());

        // The old key no longer opens the database.
        std::fs::write(&file, &old).expect("write");
        let refused = db.run(&["customer", "list"]);
        assert!(!refused.status.success());
        assert!(String::from_utf8_lossy(&refused.stderr).contains("another key-encryption key"));

        // A rotation interrupted between the database's commit and the file's rename is
        // finished at the next start.
        std::fs::write(db.data_dir.path().join("cloudtrust.kek.new"), &new).expect("write");
        let listed = db.run(&["customer", "list"]);
        assert!(listed.status.success(), "{}", String::from_utf8_lossy(&listed.stderr));
        assert_eq!(read(&file), new);
        assert!(!db.data_dir.path().join("cloudtrust.kek.new").exists());
    }
}

db_test! {
    async fn a_configured_key_is_replaced_by_the_one_given(db) {
        let generate = || db.json(&["kek", "generate"])["key_encryption_key"].as_str().expect("key").to_owned();
        let (old, new) = (generate(), generate());
        assert_ne!(old, new);
        let with_key = |key: &str| {
            let mut command = cloudtrust(db.data_dir.path());
            command.args(["--database-url", &db.url]).env(KEY_ENV, key);
            command
        };
        let (id, secret) = client_of(|args| with_key(&old).args(args).output().expect("run"));
        let kid = active_kid(&db, Some(&old));

        let unnamed = with_key(&old).args(["kek", "rotate"]).output().expect("run");
        assert!(!unnamed.status.success(), "a configured key is never replaced by a made-up one");
        assert!(String::from_utf8_lossy(&unnamed.stderr).contains(NEW_KEY_ENV));

        let rotated = with_key(&old)
            .args(["kek", "rotate", "--json"])
            .env(NEW_KEY_ENV, &new)
            .output()
            .expect("run");
        assert!(rotated.status.success(), "{}", String::from_utf8_lossy(&rotated.stderr));
        let rotated: serde_json::Value = serde_json::from_slice(&rotated.stdout).expect("JSON");
        assert!(rotated["key_file"].is_null());
        assert!(!db.data_dir.path().join("cloudtrust.kek").exists(), "nothing written to disk");

        let refused = with_key(&old).args(["customer", "list"]).output().expect("run");
        assert!(!refused.status.success(), "the old key is refused");
        assert_eq!(active_kid(&db, Some(&new)), kid);
        let server = Server::start(with_key(&new), false).await;
        assert_eq!(token_status(&server.base_url, "acme", &id, &secret).await, 200);
        assert!(server.stop().success());
    }
}
