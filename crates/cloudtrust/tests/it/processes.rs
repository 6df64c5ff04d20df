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
