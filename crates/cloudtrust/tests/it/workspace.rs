//! Workspace OAuth clients from the command line, and the ones `serve --dev` prepares, used
//! with the seed's curl calls in a real shell.

use serde_json::Value;

use crate::support::{Server, TestDb, cloudtrust, db_test};

/// Asserts a command failed with one line on stderr, and returns it.
fn refused(db: &TestDb, args: &[&str]) -> String {
    let out = db.run(args);
    assert!(!out.status.success(), "{args:?} should fail");
    let stderr = String::from_utf8_lossy(&out.stderr).trim().to_owned();
    assert_eq!(stderr.lines().count(), 1, "one line for {args:?}: {stderr}");
    stderr
}

db_test! {
    async fn workspace_clients_are_managed_from_the_command_line(db) {
        db.json(&["customer", "create", "--id", "acme", "--name", "Acme"]);
        db.json(&["admin", "add", "--customer", "acme", "--email", "ann@acme.example", "--full"]);
        fn with<'a>(command: &[&'a str]) -> Vec<&'a str> {
            [command, &["--customer", "acme", "--name", "acme-private-1"][..]].concat()
        }

        let created = db.json(&["workspace-client", "create", "--customer", "acme", "--admin", "ann@acme.example",
            "--display-name", "Payroll", "--type", "private", "--redirect-uri", "https://payroll.acme.example/cb",
            "--redirect-uri", "http://127.0.0.1:53682/callback", "--allow-offline-access"]);
        assert_eq!(created["client"]["name"], "acme-private-1");
        assert_eq!(created["client"]["redirect_uris"].as_array().map(Vec::len), Some(2));
        assert_eq!(created["client"]["allow_offline_access"], true);
        let secret = created["secret"].as_str().expect("secret").to_owned();
        assert!(secret.len() >= 43);
        let public = db.json(&["workspace-client", "create", "--customer", "acme", "--admin", "ann@acme.example",
            "--display-name", "Desktop", "--type", "public", "--redirect-uri", "http://127.0.0.1/cb"]);
        assert_eq!((public["client"]["name"].clone(), public["secret"].clone()), (Value::from("acme-public-1"), Value::Null));
        assert_eq!(public["client"]["require_pkce"], true);

        let listed = db.json(&["workspace-client", "list", "--customer", "acme"]);
        assert_eq!(listed.as_array().map(Vec::len), Some(2));
        assert!(!listed.to_string().contains(&secret), "a listing never shows a secret");
        let text = db.run(&["workspace-client", "list", "--customer", "acme"]);
        let text = String::from_utf8_lossy(&text.stdout);
        assert!(text.lines().any(|l| l.starts_with("acme-private-1") && l.contains("Enabled") && l.contains("Payroll")), "{text}");

        let edited = db.json(&with(&["workspace-client", "edit", "--display-name", "Payroll v2", "--require-user-consent", "true"]));
        assert_eq!((edited["display_name"].clone(), edited["require_user_consent"].clone()), (Value::from("Payroll v2"), Value::Bool(true)));
        assert_eq!(db.json(&with(&["workspace-client", "show"]))["display_name"], "Payroll v2");
        assert!(refused(&db, &with(&["workspace-client", "edit"])).contains("nothing to change"));
        assert!(refused(&db, &with(&["workspace-client", "edit", "--redirect-uri", "http://payroll.acme.example/cb"])).contains("redirect_uris"));
        assert!(refused(&db, &["workspace-client", "rotate", "--customer", "acme", "--name", "acme-public-1"]).contains("client_type"));
        assert!(refused(&db, &["workspace-client", "show", "--customer", "acme", "--name", "acme-private-9"]).contains("not found"));

        assert_eq!(db.json(&with(&["workspace-client", "disable"]))["enabled"], false);
        assert_eq!(db.json(&with(&["workspace-client", "enable"]))["enabled"], true);
        let rotated = db.json(&with(&["workspace-client", "rotate"]));
        assert_ne!(rotated["secret"].as_str(), Some(secret.as_str()));
        assert_eq!(rotated["client"]["secret_expiration_old"], created["client"]["secret_expiration"]);
        let expired = db.json(&with(&["workspace-client", "expire-old-secret"]));
        assert_eq!(expired["secret_expiration_old"], Value::Null);
        db.json(&with(&["workspace-client", "delete"]));
        assert_eq!(db.json(&["workspace-client", "list", "--customer", "acme"]).as_array().map(Vec::len), Some(1));
    }
}

fn env_value(text: &str, name: &str) -> String {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("export {name}=\"")))
        .and_then(|rest| rest.strip_suffix('"'))
        .unwrap_or_else(|| panic!("{name} in {text}"))
        .to_owned()
}

/// Runs `script` in bash after sourcing the env file, returning stdout.
fn shell(env_file: &std::path::Path, base: &str, script: &str) -> String {
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "source {} && base={base} && {script}",
            env_file.display()
        ))
        .output()
        .expect("bash");
    assert!(
        out.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_mode_prepares_workspace_clients_for_the_seeds_calls() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(cloudtrust(dir.path()), true).await;
    let printed = server.stdout.join("\n");
    let name = env_value(&printed, "WORKSPACE_CLIENT_NAME");
    let client_id = env_value(&printed, "WORKSPACE_CLIENT_ID");
    let public_id = env_value(&printed, "WORKSPACE_PUBLIC_CLIENT_ID");
    assert_eq!(name, "demo-private-1");
    assert_eq!(
        env_value(&printed, "WORKSPACE_REDIRECT_URI"),
        "http://127.0.0.1:53682/callback"
    );
    assert!(env_value(&printed, "WORKSPACE_CLIENT_SECRET").len() >= 43);
    assert_eq!(env_value(&printed, "WORKSPACE_USER"), "user@demo.example");
    let user_password = env_value(&printed, "WORKSPACE_PASSWORD");
    assert!(server.stop().success());
    let users = cloudtrust(dir.path())
        .args(["user", "list", "--customer", "demo", "--json"])
        .output()
        .expect("user list");
    let users: Value = serde_json::from_slice(&users.stdout).expect("JSON");
    assert_eq!(users.as_array().map(Vec::len), Some(1));
    assert_eq!(users[0]["email"], "user@demo.example");

    // Started again: the same clients, none added.
    let server = Server::start(cloudtrust(dir.path()), true).await;
    let printed = server.stdout.join("\n");
    assert_eq!(env_value(&printed, "WORKSPACE_CLIENT_ID"), client_id);
    assert_eq!(env_value(&printed, "WORKSPACE_PUBLIC_CLIENT_ID"), public_id);
    assert_eq!(
        env_value(&printed, "WORKSPACE_PASSWORD"),
        user_password,
        "the same password again"
    );
    let env_file = dir.path().join("cloudtrust-dev.env");
    let base = server.base_url.as_str();
    assert_eq!(
        env_value(&printed, "WORKSPACE_ISSUER"),
        format!("{base}/core")
    );
    let discovered = shell(
        &env_file,
        base,
        "curl -s $WORKSPACE_ISSUER/.well-known/openid-configuration",
    );
    let discovered: Value = serde_json::from_str(&discovered).expect("JSON");
    assert_eq!(
        discovered["issuer"],
        format!("{base}/core"),
        "the issuer names itself"
    );
    let token = "token=$(curl -s ${token_url} -d \"grant_type=client_credentials&client_id=${CLIENT_ID}&client_secret=${CLIENT_SECRET}\" | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"access_token\"])')";

    // The seed's first call: the customer's clients.
    let listed = shell(
        &env_file,
        base,
        &format!(
            "{token} && curl -s $base/${{CUSTOMER_ID}}/rpclients --header \"Authorization: CWSAuth bearer=$token\""
        ),
    );
    let listed: Value = serde_json::from_str(&listed).expect("JSON");
    let clients = listed.as_array().expect("array");
    assert_eq!(clients.len(), 2, "{listed}");
    let private = clients
        .iter()
        .find(|c| c["name"] == name.as_str())
        .expect("the private client");
    assert_eq!(private["api_key"], client_id.as_str());
    assert_eq!(private["allow_offline_access"], true);
    assert!(
        clients
            .iter()
            .any(|c| c["client_id"] == public_id.as_str() && c["client_type"] == "public")
    );

    // The rotation, then the old secret's expiry: `$` quoted so the shell passes it on.
    let rotated = shell(
        &env_file,
        base,
        &format!(
            "{token} && curl -s -X POST \"$base/${{CUSTOMER_ID}}/rpclients/${{WORKSPACE_CLIENT_NAME}}/\\$rotateSecret\" --header \"Authorization: CWSAuth bearer=$token\""
        ),
    );
    let rotated: Value = serde_json::from_str(&rotated).expect("JSON");
    assert_eq!(rotated["client"]["name"], name.as_str());
    assert_eq!(
        rotated["client"]["secret_expiration_old"],
        private["secret_expiration"]
    );
    assert!(rotated["secret"].as_str().is_some_and(|s| s.len() >= 43));
    let expired = shell(
        &env_file,
        base,
        &format!(
            "{token} && curl -s -w '%{{http_code}}' -X POST \"$base/${{CUSTOMER_ID}}/rpclients/${{WORKSPACE_CLIENT_NAME}}/\\$expireOldSecret\" --header \"Authorization: CWSAuth bearer=$token\""
        ),
    );
    assert_eq!(expired, "200", "200 and an empty body");
    assert!(server.stop().success());
}

db_test! {
    async fn the_secret_lifetime_and_reminder_days_are_settings(db) {
        db.json(&["customer", "create", "--id", "acme", "--name", "Acme"]);
        db.json(&["admin", "add", "--customer", "acme", "--email", "ann@acme.example", "--full"]);
        let out = cloudtrust(db.data_dir.path())
            .args(["--database-url", &db.url, "--json", "workspace-client", "create", "--customer", "acme",
                "--admin", "ann@acme.example", "--display-name", "Short", "--type", "private",
                "--redirect-uri", "https://short.acme.example/cb"])
            .env("CLOUDTRUST_WORKSPACE_SECRET_LIFETIME_DAYS", "30")
            .env("CLOUDTRUST_WORKSPACE_SECRET_REMINDER_DAYS", "[10, 2]")
            .output()
            .expect("run");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let created: Value = serde_json::from_slice(&out.stdout).expect("JSON");
        let client = &created["client"];
        let lifetime = client["secret_expiration"].as_i64().expect("expiration") - client["secret_update_time"].as_i64().expect("update");
        assert_eq!(lifetime, 30 * 86_400);
        let bad = cloudtrust(db.data_dir.path())
            .args(["--database-url", &db.url, "workspace-client", "list", "--customer", "acme"])
            .env("CLOUDTRUST_WORKSPACE_SECRET_REMINDER_DAYS", "soon")
            .output()
            .expect("run");
        assert!(!bad.status.success(), "a malformed setting is refused");
        let zero = cloudtrust(db.data_dir.path())
            .args(["--database-url", &db.url, "workspace-client", "list", "--customer", "acme"])
            .env("CLOUDTRUST_WORKSPACE_SECRET_LIFETIME_DAYS", "0")
            .output()
            .expect("run");
        assert!(String::from_utf8_lossy(&zero.stderr).contains("workspace_secret_lifetime_days"), "a secret that would expire at once is refused");
        let huge = cloudtrust(db.data_dir.path())
            .args(["--database-url", &db.url, "workspace-client", "list", "--customer", "acme"])
            .env("CLOUDTRUST_WORKSPACE_SECRET_REMINDER_DAYS", "[14, 100000000000000]")
            .output()
            .expect("run");
        assert!(String::from_utf8_lossy(&huge.stderr).contains("workspace_secret_reminder_days"), "reminder days are bounded");
    }
}
