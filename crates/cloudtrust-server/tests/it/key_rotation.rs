//! Signing-key rotation on running nodes, without a restart: after a rotation every node signs
//! with the new key and still accepts tokens of the old one, both keys are published; the old
//! key retires by itself when its time comes, and a leaked key can be retired at once.

use std::sync::Arc;
use std::time::Duration;

use cloudtrust_server::Foundation;
use cloudtrust_server::keys::rotation;

use crate::support::{Env, db_test, eventually, me_at as me, node_url, token_request};

const PROPAGATION: Duration = Duration::from_secs(5);

fn kid_of(token: &str) -> String {
    jsonwebtoken::decode_header(token)
        .expect("header")
        .kid
        .expect("kid")
}

async fn token_from(env: &Env, base: &str, id: &str, secret: &str) -> String {
    let response = token_request(&env.http, base, "root", id, secret).await;
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.expect("json");
    body["access_token"].as_str().expect("token").to_owned()
}

async fn published(env: &Env, base: &str) -> Vec<String> {
    let jwks: serde_json::Value = env
        .http
        .get(format!("{base}/.well-known/jwks.json"))
        .send()
        .await
        .expect("jwks")
        .json()
        .await
        .expect("json");
    jwks["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .filter_map(|k| k["kid"].as_str().map(str::to_owned))
        .collect()
}

db_test! {
    async fn keys_rotate_and_retire_on_every_node_without_a_restart(env) {
        let seed = env.seed().await;
        let other = env.another_node().await;
        let nodes = [env.base().to_owned(), node_url(&other)];
        let foundation = Foundation::open(env.db.config(), env.clock.clone() as Arc<dyn cloudtrust_server::Clock>).await.expect("foundation");
        let (id, secret) = (seed.client_id.as_str(), seed.secret.as_str());
        let old = token_from(&env, &nodes[0], id, secret).await;
        let old_kid = kid_of(&old);

        // Rotate: the old key stays accepted for 60 s here.
        let new = rotation::rotate(&foundation.store, &foundation.kek, foundation.config.signing_algorithm, &*env.clock, 60).await.expect("rotated");
        assert_ne!(new.kid, old_kid);
        for node in &nodes {
            let switched = eventually(PROPAGATION, || async { kid_of(&token_from(&env, node, id, secret).await) == new.kid }).await;
            assert!(switched, "{node} signs with the new key");
            let keys = published(&env, node).await;
            assert!(keys.contains(&old_kid) && keys.contains(&new.kid), "{node} publishes both: {keys:?}");
            assert_eq!(me(&env, node, &old).await, 200, "{node} still accepts the old key's tokens");
        }
        let listed = rotation::list(&foundation.store, &*env.clock).await.expect("list");
        assert!(listed.iter().any(|k| k.kid == old_kid && k.status == "previous" && k.retire_at.is_some()));

        // Its time passes: it retires by itself, though its token has not expired.
        env.clock.advance(61);
        for node in &nodes {
            let retired = eventually(Duration::from_secs(25), || async { me(&env, node, &old).await == 401 }).await;
            assert!(retired, "{node} stopped accepting the retired key");
            assert!(!published(&env, node).await.contains(&old_kid));
        }

        // A leaked key is retired at once (after a rotation: the active key cannot be).
        let leaked = token_from(&env, &nodes[0], id, secret).await;
        for node in &nodes {
            // Checked once on each node, so that each has it among the tokens it checked.
            assert_eq!(me(&env, node, &leaked).await, 200);
        }
        assert!(rotation::retire(&foundation.store, &*env.clock, &new.kid).await.is_err(), "the active key is never retired");
        let newest = rotation::rotate(&foundation.store, &foundation.kek, foundation.config.signing_algorithm, &*env.clock, 3600).await.expect("rotated");
        rotation::retire(&foundation.store, &*env.clock, &new.kid).await.expect("retired");
        for node in &nodes {
            let refused = eventually(PROPAGATION, || async { me(&env, node, &leaked).await == 401 }).await;
            assert!(refused, "{node} refuses the leaked key's tokens");
            let fresh = token_from(&env, node, id, secret).await;
            assert_eq!(kid_of(&fresh), newest.kid);
            assert_eq!(me(&env, node, &fresh).await, 200);
        }
        foundation.store.close().await;
    }
}

/// With `signing_key_rotation_days`, the signing key is replaced by itself when it is that old:
/// on two nodes that both look, one rotation happens and both sign with the new key.
async fn keys_rotate_by_themselves_when_old(env: Env) {
    let seed = env.seed().await;
    let mut config = env.db.config();
    config.signing_key_rotation_days = 1;
    config.public_url = Some(env.server.base_url.clone());
    let other = cloudtrust_server::RunningServer::start(config, env.clock.clone())
        .await
        .expect("second node starts");
    let nodes = [env.base().to_owned(), node_url(&other)];
    let (id, secret) = (seed.client_id.as_str(), seed.secret.as_str());
    let old_kid = kid_of(&token_from(&env, &nodes[0], id, secret).await);

    env.clock.advance(86_400 - 10);
    tokio::time::sleep(Duration::from_secs(6)).await;
    let old = token_from(&env, &nodes[1], id, secret).await;
    assert_eq!(kid_of(&old), old_kid, "not yet a day old");

    env.clock.advance(20);
    for node in &nodes {
        let switched = eventually(Duration::from_secs(20), || async {
            kid_of(&token_from(&env, node, id, secret).await) != old_kid
        })
        .await;
        assert!(switched, "{node} signs with a new key");
        assert_eq!(
            me(&env, node, &old).await,
            200,
            "{node} still accepts the old key's tokens"
        );
    }
    let listed = rotation::list(env.server.store(), &*env.clock)
        .await
        .expect("list");
    let count = |status: &str| listed.iter().filter(|k| k.status == status).count();
    assert_eq!(count("active"), 1, "{listed:?}");
    assert_eq!(
        count("previous"),
        1,
        "one rotation, though two nodes looked: {listed:?}"
    );
    assert!(other.stop().await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_rotate_by_themselves_when_old_sqlite() {
    let backend = crate::support::Backend::Sqlite;
    if let Some(env) = Env::with(backend, |c| c.signing_key_rotation_days = 1).await {
        keys_rotate_by_themselves_when_old(env).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    skip_postgres,
    ignore = "built without CLOUDTRUST_TEST_POSTGRES: the PostgreSQL half did not run"
)]
async fn keys_rotate_by_themselves_when_old_postgres() {
    let backend = crate::support::Backend::Postgres;
    if let Some(env) = Env::with(backend, |c| c.signing_key_rotation_days = 1).await {
        keys_rotate_by_themselves_when_old(env).await;
    }
}
