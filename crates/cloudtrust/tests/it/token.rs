//! `cloudtrust token`: a token for the client in `CLIENT_ID` / `CLIENT_SECRET` / `CUSTOMER_ID`,
//! printed alone, as a header or as the whole answer, and kept in the user's cache so that the
//! next call makes no request at all.

use std::path::Path;
use std::process::Output;

use crate::support::{Server, acme, cloudtrust, db_test};

fn token_command(
    data_dir: &Path,
    cache: &Path,
    base: &str,
    id: &str,
    secret: &str,
    args: &[&str],
) -> Output {
    cloudtrust(data_dir)
        .arg("token")
        .args(args)
        .env("CLOUDTRUST_URL", base)
        .env("CLIENT_ID", id)
        .env("CLIENT_SECRET", secret)
        .env("CUSTOMER_ID", "acme")
        .env("XDG_CACHE_HOME", cache)
        .output()
        .expect("run cloudtrust token")
}

fn stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim_end().to_owned()
}

db_test! {
    async fn a_token_is_printed_and_cached_until_near_its_expiry(db) {
        let client = acme(|args| db.json(args), "ci");
        let cache = tempfile::tempdir().expect("cache dir");
        let start = || {
            let mut command = cloudtrust(db.data_dir.path());
            command.args(["--database-url", &db.url]);
            command
        };
        let server = Server::start(start(), false).await;
        let run = |args: &[&str]| token_command(db.data_dir.path(), cache.path(), &server.base_url, &client.client_id, &client.secret, args);

        let token = stdout(&run(&[]));
        assert_eq!(token.split('.').count(), 3, "a JWT: {token}");
        let me = reqwest::Client::new()
            .get(format!("{}/cvadapis/me", server.base_url))
            .header("Authorization", format!("CwsAuth Bearer={token}"))
            .send().await.expect("request");
        assert_eq!(me.status(), 200);
        assert_eq!(stdout(&run(&["--header"])), format!("Authorization: CwsAuth Bearer={token}"));
        let answer: serde_json::Value = serde_json::from_str(&stdout(&run(&["--json"]))).expect("JSON");
        assert_eq!(answer["access_token"], token.as_str());
        assert_eq!(answer["expires_in"], "3600");

        let files: Vec<_> = std::fs::read_dir(cache.path().join("cloudtrust/tokens")).expect("cache").collect();
        assert_eq!(files.len(), 1, "one file per client");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let path = files[0].as_ref().expect("entry").path();
            let mode = std::fs::metadata(&path).expect("metadata").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }

        // With the server gone, the cached token is still printed: no request was made.
        let base = server.base_url.clone();
        assert!(server.stop().success());
        let offline = token_command(db.data_dir.path(), cache.path(), &base, &client.client_id, &client.secret, &[]);
        assert_eq!(stdout(&offline), token);
        let refused = token_command(db.data_dir.path(), cache.path(), &base, &client.client_id, &client.secret, &["--no-cache"]);
        assert!(!refused.status.success(), "--no-cache asks the server, which is gone");
        let other_secret = token_command(db.data_dir.path(), cache.path(), &base, &client.client_id, "another", &[]);
        assert!(!other_secret.status.success(), "another secret is not served the cached token");
    }
}
