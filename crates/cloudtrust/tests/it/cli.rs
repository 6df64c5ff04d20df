//! Local administration through the command line, directly on the database.

use crate::smtp_sink::smtp_sink;
use crate::support::{TestDb, cloudtrust, db_test};

/// Asserts a command failed with exactly one line on stderr.
fn refused(db: &TestDb, args: &[&str]) -> String {
    let out = db.run(args);
    assert!(!out.status.success(), "{args:?} should fail");
    let stderr = String::from_utf8_lossy(&out.stderr).trim().to_owned();
    assert_eq!(
        stderr.lines().count(),
        1,
        "one clear line for {args:?}: {stderr}"
    );
    stderr
}

fn count(value: &serde_json::Value) -> usize {
    value.as_array().expect("array").len()
}

db_test! {
    async fn customers_administrators_and_clients_are_managed_from_the_command_line(db) {
        let customer = db.json(&["customer", "create", "--id", "acme", "--name", "Acme", "--region", "eu"]);
        assert_eq!(customer["id"], "acme");
        assert_eq!(customer["region"], "eu");
        let generated = db.json(&["customer", "create", "--name", "Generated"]);
        assert_eq!(generated["id"].as_str().expect("id").len(), 12);
        assert_eq!(count(&db.json(&["customer", "list"])), 2);

        let full = db.json(&["admin", "add", "--customer", "acme", "--email", "Ann@Acme.example", "--name", "Ann", "--full"]);
        assert_eq!(full["email"], "ann@acme.example");
        assert_eq!(full["access_type"], "full");
        let custom = db.json(&["admin", "add", "--customer", "acme", "--email", "bob@acme.example",
            "--permission", "API Clients", "--permission", "notifications"]);
        assert_eq!(custom["access_type"], "custom");
        assert_eq!(custom["permissions"], serde_json::json!(["API Clients", "Notifications"]));
        assert_eq!(count(&db.json(&["admin", "list", "--customer", "acme"])), 2);

        let created = db.json(&["client", "create", "--customer", "acme", "--admin", "bob@acme.example", "--name", "ci"]);
        let mut keys: Vec<&str> = created.as_object().expect("object").keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["client_id", "client_secret", "customer_id"]);
        assert_eq!(created["customer_id"], "acme");
        let secret = created["client_secret"].as_str().expect("secret");
        assert!(secret.len() >= 43 && secret.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        let client_id = created["client_id"].as_str().expect("id");
        uuid::Uuid::parse_str(client_id).expect("client id is a GUID");
        let text = db.run(&["client", "create", "--customer", "acme", "--admin", "ann@acme.example", "--name", "ann's"]);
        assert!(String::from_utf8_lossy(&text.stdout).contains("ID and Secret have been created successfully"));

        assert_eq!(count(&db.json(&["client", "list", "--customer", "acme"])), 2);
        assert_eq!(count(&db.json(&["client", "list", "--customer", "acme", "--admin", "bob@acme.example"])), 1);

        let reduced = db.json(&["admin", "set-access", "--customer", "acme", "--email", "bob@acme.example", "--permission", "Notifications"]);
        assert_eq!(reduced["permission_generation"], 2, "a reduction raises the generation");

        let removed = db.json(&["admin", "remove", "--customer", "acme", "--email", "bob@acme.example"]);
        assert_eq!(removed["removed_clients"], serde_json::json!([client_id]));
        assert_eq!(count(&db.json(&["client", "list", "--customer", "acme"])), 1);

        let remaining = db.json(&["client", "list", "--customer", "acme"]);
        let ann_client = remaining[0]["id"].as_str().expect("id").to_owned();
        db.json(&["client", "delete", "--customer", "acme", "--id", &ann_client]);
        assert_eq!(count(&db.json(&["client", "list", "--customer", "acme"])), 0);
        assert_eq!(db.json(&["admin", "permissions"]).as_array().expect("catalogue").len(), 5);

        let invited = db.json(&["admin", "invite", "--customer", "acme", "--email", "cy@acme.example", "--permission", "API Clients"]);
        assert_eq!(invited["administrator"]["pending"], true);
        let link = invited["invitation_link"].as_str().expect("link");
        assert!(link.starts_with("http://127.0.0.1:8080/invitations/"), "{link}");
        let listed = db.json(&["admin", "list", "--customer", "acme"]);
        assert!(listed.as_array().expect("admins").iter().any(|a| a["email"] == "cy@acme.example" && a["pending"] == true));
        refused(&db, &["client", "create", "--customer", "acme", "--admin", "cy@acme.example", "--name", "early"]);

        let generated = db.json(&["admin", "set-password", "--customer", "acme", "--email", "ann@acme.example"]);
        assert_eq!(generated["password"].as_str().map(str::len), Some(20), "a generated password is shown once");
        let typed = db.run_with_input(&["admin", "set-password", "--customer", "acme", "--email", "ann@acme.example", "--password-stdin", "--json"], "a long enough passphrase\n");
        assert!(typed.status.success(), "{}", String::from_utf8_lossy(&typed.stderr));
        let typed: serde_json::Value = serde_json::from_slice(&typed.stdout).expect("json");
        assert!(typed.get("password").is_none(), "a typed password is not echoed");
        let short = db.run_with_input(&["admin", "set-password", "--customer", "acme", "--email", "ann@acme.example", "--password-stdin"], "short\n");
        assert!(!short.status.success());
        assert_eq!(String::from_utf8_lossy(&short.stderr).trim().lines().count(), 1);
        sqlx::any::install_default_drivers();
        let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&db.url).await.expect("connect");
        let (stored,): (String,) = sqlx::query_as("SELECT password_hash FROM administrators WHERE email = 'ann@acme.example'")
            .fetch_one(&mut conn).await.expect("hash");
        assert!(stored.starts_with("$argon2id$"), "only an Argon2id hash is stored");
        assert!(!stored.contains("passphrase"));

        let smart = db.json(&["smart-key", "create", "--customer", "acme", "--admin", "ann@acme.example"]);
        let key = smart["api_key"].as_str().expect("api_key");
        assert!(key.ends_with('@') && smart["secret"].as_str().expect("secret").len() >= 43);
        assert_eq!(count(&db.json(&["smart-key", "list", "--customer", "acme", "--admin", "ann@acme.example"])), 1);
        db.json(&["smart-key", "delete", "--customer", "acme", "--key", key]);
        assert_eq!(count(&db.json(&["smart-key", "list", "--customer", "acme", "--admin", "ann@acme.example"])), 0);
        refused(&db, &["smart-key", "delete", "--customer", "acme", "--key", key]);
        assert!(db.run(&["migrate"]).status.success());
    }
}

db_test! {
    async fn admin_invite_sends_by_smtp_before_it_exits(db) {
        let (port, mut received) = smtp_sink().await;
        db.json(&["customer", "create", "--id", "acme", "--name", "Acme"]);
        let invite = |email: &str, mail_from: &str| {
            cloudtrust(db.data_dir.path())
                .args(["--database-url", &db.url])
                .env("CLOUDTRUST_SMTP_URL", format!("smtp://127.0.0.1:{port}"))
                .env("CLOUDTRUST_MAIL_FROM", mail_from)
                .args(["admin", "invite", "--customer", "acme", "--email", email, "--full", "--json"])
                .output()
                .expect("run cloudtrust")
        };
        let out = invite("cy@acme.example", "Acme Access <access@acme.example>");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let invited: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        let link = invited["invitation_link"].as_str().expect("link");
        let delivered = received.try_recv().expect("the message was sent before the command exited");
        assert_eq!(delivered.mail_from, "MAIL FROM:<access@acme.example>");
        assert_eq!(delivered.rcpt_to, ["RCPT TO:<cy@acme.example>"]);
        assert!(String::from_utf8_lossy(&delivered.data).contains(&format!("\r\n{link}\r\n")), "the message holds the printed link");
        assert!(!db.data_dir.path().join("mail").exists(), "SMTP is used, not the mail drop");

        // A bad mail_from refuses the command before anything is invited.
        let out = invite("dee@acme.example", "not a mailbox");
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("mail_from"), "{stderr}");
        let listed = db.json(&["admin", "list", "--customer", "acme"]);
        assert!(!listed.as_array().expect("admins").iter().any(|a| a["email"] == "dee@acme.example"));
    }
}

db_test! {
    async fn bad_input_gets_one_line_and_writes_nothing(db) {
        db.json(&["customer", "create", "--id", "acme", "--name", "Acme"]);
        db.json(&["admin", "add", "--customer", "acme", "--email", "ann@acme.example", "--full"]);
        db.json(&["admin", "add", "--customer", "acme", "--email", "nina@acme.example", "--permission", "Notifications"]);

        refused(&db, &["customer", "create", "--id", "root", "--name", "Reserved"]);
        refused(&db, &["customer", "create", "--id", "acme", "--name", "Again"]);
        refused(&db, &["customer", "create", "--name", "Mars", "--region", "mars"]);
        assert_eq!(count(&db.json(&["customer", "list"])), 1);

        let message = refused(&db, &["admin", "add", "--customer", "acme", "--email", "x@acme.example", "--permission", "Root"]);
        assert!(message.contains("unknown permission"), "{message}");
        refused(&db, &["admin", "add", "--customer", "acme", "--email", "not-an-email", "--full"]);
        refused(&db, &["admin", "add", "--customer", "nobody", "--email", "x@acme.example", "--full"]);
        refused(&db, &["admin", "remove", "--customer", "acme", "--email", "ann@acme.example"]);
        refused(&db, &["admin", "set-access", "--customer", "acme", "--email", "ann@acme.example", "--permission", "Notifications"]);
        assert_eq!(count(&db.json(&["admin", "list", "--customer", "acme"])), 2);

        refused(&db, &["client", "create", "--customer", "acme", "--admin", "nina@acme.example", "--name", "x"]);
        refused(&db, &["client", "create", "--customer", "acme", "--admin", "ghost@acme.example", "--name", "x"]);
        refused(&db, &["client", "delete", "--customer", "acme", "--id", "00000000-0000-0000-0000-000000000000"]);
        assert_eq!(count(&db.json(&["client", "list", "--customer", "acme"])), 0);

        // Usage errors come from the argument parser, with its own exit code.
        let both = db.run(&["admin", "add", "--customer", "acme", "--email", "y@acme.example", "--full", "--permission", "Notifications"]);
        assert_eq!(both.status.code(), Some(2));
        let neither = db.run(&["admin", "add", "--customer", "acme", "--email", "y@acme.example"]);
        assert_eq!(neither.status.code(), Some(2));
    }
}

#[test]
fn a_foreign_database_url_scheme_is_refused_in_one_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = crate::support::cloudtrust(dir.path())
        .args(["--database-url", "mysql://localhost/x", "customer", "list"])
        .output()
        .expect("run");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("sqlite:// or postgres://"), "{stderr}");
}
