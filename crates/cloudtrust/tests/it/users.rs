//! End users of the Workspace sign-in from the command line.

use serde_json::Value;

use crate::support::db_test;

db_test! {
    async fn end_users_are_added_listed_given_passwords_and_removed(db) {
        db.json(&["customer", "create", "--id", "acme", "--name", "Acme"]);
        let added = db.json(&["user", "add", "--customer", "acme", "--email", "Pat@Acme.example",
            "--given-name", "Pat", "--family-name", "Doe"]);
        assert_eq!(added["user"]["email"], "pat@acme.example");
        let generated = added["password"].as_str().expect("a generated password is shown once");
        assert_eq!(generated.len(), 20);
        let typed = db.run_with_input(&["user", "add", "--customer", "acme", "--email", "sam@acme.example",
            "--given-name", "Sam", "--family-name", "Roe", "--password-stdin", "--json"], "a long enough passphrase\n");
        assert!(typed.status.success(), "{}", String::from_utf8_lossy(&typed.stderr));
        let typed: Value = serde_json::from_slice(&typed.stdout).expect("JSON");
        assert_eq!(typed.get("password"), None, "a typed password is never printed");

        let listed = db.json(&["user", "list", "--customer", "acme"]);
        let emails: Vec<&str> = listed.as_array().expect("array").iter().filter_map(|u| u["email"].as_str()).collect();
        assert_eq!(emails, ["pat@acme.example", "sam@acme.example"]);
        let text = db.run(&["user", "list", "--customer", "acme"]);
        assert!(String::from_utf8_lossy(&text.stdout).contains("Pat Doe"));

        let again = db.run(&["user", "add", "--customer", "acme", "--email", "pat@acme.example", "--given-name", "P", "--family-name", "D"]);
        assert!(!again.status.success(), "the same email twice in a customer");
        let short = db.run_with_input(&["user", "set-password", "--customer", "acme", "--email", "pat@acme.example", "--password-stdin"], "short\n");
        assert!(!short.status.success(), "a password is 12 characters or more");
        let reset = db.json(&["user", "set-password", "--customer", "acme", "--email", "pat@acme.example"]);
        assert!(reset["password"].as_str().is_some_and(|p| p != generated));
        let no_consent = db.run(&["user", "revoke-consent", "--customer", "acme", "--email", "pat@acme.example"]);
        assert!(!no_consent.status.success(), "nothing to withdraw");
        assert!(String::from_utf8_lossy(&no_consent.stderr).contains("not found"), "{}", String::from_utf8_lossy(&no_consent.stderr));
        let removed = db.json(&["user", "remove", "--customer", "acme", "--email", "PAT@acme.example"]);
        assert_eq!(removed["removed"]["email"], "pat@acme.example");
        assert_eq!(db.json(&["user", "list", "--customer", "acme"]).as_array().map(Vec::len), Some(1));
        let missing = db.run(&["user", "remove", "--customer", "acme", "--email", "pat@acme.example"]);
        assert!(!missing.status.success());
        assert!(String::from_utf8_lossy(&missing.stderr).contains("not found"));
    }
}
