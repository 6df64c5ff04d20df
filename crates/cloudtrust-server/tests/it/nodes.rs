//! Several nodes over one database: a change made on one is seen by the others' caches.

use std::time::Duration;

use cloudtrust_server::domain::audit::Actor;
use cloudtrust_server::domain::directory::{AdministratorRef, NewAdministrator};
use cloudtrust_server::domain::permissions::Access;

use crate::support::{db_test, eventually, node_url, token_request};

/// How long another node may take to see a change: at once on PostgreSQL (LISTEN/NOTIFY),
/// within the poll interval (50 ms in tests) on SQLite; the bound leaves room for a busy machine.
const PROPAGATION: Duration = Duration::from_secs(3);

db_test! {
    async fn a_client_deleted_on_one_node_gets_no_token_from_another(env) {
        let seed = env.seed().await;
        let other = env.another_node().await;
        let other_url = node_url(&other);
        assert_ne!(other_url, env.base(), "requests reach the second node itself");
        let http = &env.http;
        // Warm the other node's cache.
        assert_eq!(token_request(http, &other_url, "root", &seed.client_id, &seed.secret).await.status(), 200);
        let token = env.token(&seed.client_id, &seed.secret).await;
        let me_on_other = || async {
            http.get(format!("{other_url}/cvadapis/me"))
                .header("authorization", format!("CwsAuth Bearer={token}"))
                .send().await.expect("request").status().as_u16()
        };
        assert_eq!(me_on_other().await, 200, "tokens verify on any node");

        env.directory()
            .delete_api_client(&Actor::operator(), "acme", &seed.client_id)
            .await
            .expect("delete");
        let refused = eventually(PROPAGATION, || async {
            token_request(http, &other_url, "root", &seed.client_id, &seed.secret).await.status() == 400
        }).await;
        assert!(refused, "the other node stopped issuing tokens to the deleted client");
        assert_eq!(me_on_other().await, 401);
        other.stop().await.expect("stop");
    }
}

db_test! {
    async fn an_access_reduction_on_one_node_makes_tokens_stale_on_another(env) {
        let seed = env.seed().await;
        let operator = Actor::operator();
        env.directory()
            .add_administrator(&operator, "acme", NewAdministrator::with_email("second@acme.example", None, Access::Full))
            .await
            .expect("second admin");
        let other = env.another_node().await;
        let other_url = node_url(&other);
        assert_ne!(other_url, env.base(), "requests reach the second node itself");
        let token = env.token(&seed.client_id, &seed.secret).await;
        let me_on_other = || async {
            env.http.get(format!("{other_url}/cvadapis/me"))
                .header("authorization", format!("CwsAuth Bearer={token}"))
                .send().await.expect("request").status().as_u16()
        };
        assert_eq!(me_on_other().await, 200);
        env.directory()
            .set_access(&operator, "acme", AdministratorRef::Email(&seed.admin), Access::custom(["Notifications"]).expect("known"), None)
            .await
            .expect("reduce");
        assert!(eventually(PROPAGATION, || async { me_on_other().await == 401 }).await);
        other.stop().await.expect("stop");
    }
}
