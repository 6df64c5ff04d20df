//! `cloudtrust keys list | rotate | retire` on a database.

use crate::support::db_test;

db_test! {
    async fn signing_keys_are_listed_rotated_and_retired(db) {
        db.json(&["customer", "create", "--id", "acme", "--name", "Acme"]);
        let none = db.json(&["keys", "list"]);
        assert_eq!(none.as_array().map(Vec::len), Some(0), "the first key is made by the first server, or here");
        let made = db.json(&["keys", "rotate"]);
        let first = made["active"]["kid"].as_str().expect("kid").to_owned();
        let keys = db.json(&["keys", "list"]);
        assert_eq!(keys.as_array().map(Vec::len), Some(1));
        assert_eq!(keys[0]["status"], "active");

        let rotated = db.json(&["keys", "rotate"]);
        let second = rotated["active"]["kid"].as_str().expect("kid").to_owned();
        assert_ne!(second, first);
        assert!(rotated["previous_kept_secs"].as_i64().is_some_and(|s| s >= 43_199), "kept past a Smart Tools token's life");
        let listed = db.json(&["keys", "list"]);
        let status = |kid: &str| listed.as_array().expect("array").iter().find(|k| k["kid"] == kid).map(|k| k["status"].as_str().unwrap_or_default().to_owned());
        assert_eq!(status(&first).as_deref(), Some("previous"));
        assert_eq!(status(&second).as_deref(), Some("active"));

        let active = db.run(&["keys", "retire", &second]);
        assert!(!active.status.success(), "the active key is never retired");
        assert!(String::from_utf8_lossy(&active.stderr).contains("rotate before retiring"), "refused as the active key");
        // A kid is base64url: one that begins with `-` is still a kid, not an option.
        let hyphen = db.run(&["keys", "retire", "-Aa1-not-a-key"]);
        assert!(!hyphen.status.success());
        let said = String::from_utf8_lossy(&hyphen.stderr);
        assert!(said.contains("-Aa1-not-a-key") && !said.contains("unexpected argument"), "read as the kid: {said}");
        let retired = db.json(&["keys", "retire", &first]);
        assert_eq!(retired["retired"], first.as_str());
        let listed = db.json(&["keys", "list"]);
        assert!(listed.as_array().expect("array").iter().any(|k| k["kid"] == first.as_str() && k["status"] == "retired"));
        let text = db.run(&["keys", "list"]);
        assert!(String::from_utf8_lossy(&text.stdout).contains(&second));
    }
}
