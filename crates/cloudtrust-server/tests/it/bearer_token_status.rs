//! Introspection (RFC 7662) and revocation (RFC 7009) of API clients' bearer tokens at
//! `/cctrustoauth2/{customer}/tokens/introspect` and `…/revoke`: a client learns about and
//! revokes only its own tokens; a revocation reaches every node; a token is inactive once
//! expired, revoked, of a deleted client or issued before its owner's access was reduced.

use std::time::Duration;

use cloudtrust_server::domain::audit::Actor;
use cloudtrust_server::domain::directory::{AdministratorRef, NewAdministrator};
use cloudtrust_server::domain::permissions::Access;

use crate::support::{Env, db_test, eventually, me_at as me_status, node_url};

const PROPAGATION: Duration = Duration::from_secs(5);

/// Posts `token` to `…/tokens/{action}` with the client's id and secret in the form.
async fn ask(
    env: &Env,
    base: &str,
    action: &str,
    id: &str,
    secret: &str,
    token: &str,
) -> reqwest::Response {
    env.http
        .post(format!("{base}/cctrustoauth2/root/tokens/{action}"))
        .form(&[
            ("token", token),
            ("client_id", id),
            ("client_secret", secret),
        ])
        .send()
        .await
        .expect("request")
}

async fn introspect(
    env: &Env,
    base: &str,
    id: &str,
    secret: &str,
    token: &str,
) -> serde_json::Value {
    let response = ask(env, base, "introspect", id, secret, token).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    response.json().await.expect("json")
}

db_test! {
    async fn a_client_introspects_and_revokes_its_own_tokens_on_every_node(env) {
        let seed = env.seed().await;
        let other = env.another_node().await;
        let nodes = [env.base().to_owned(), node_url(&other)];
        let (id, secret) = (seed.client_id.as_str(), seed.secret.as_str());
        let second = env.directory()
            .create_api_client(&Actor::operator(), "acme", AdministratorRef::Email(&seed.admin), "second")
            .await
            .expect("client");
        let token = env.token(id, secret).await;

        let active = introspect(&env, &nodes[1], id, secret, &token).await;
        assert_eq!(active["active"], true);
        assert_eq!(active["client_id"], id);
        assert_eq!(active["sub"], id);
        assert_eq!(active["customer"], "acme");
        assert_eq!(active["token_type"], "Bearer");
        assert!(active["exp"].as_i64().is_some_and(|exp| exp > active["iat"].as_i64().unwrap_or(i64::MAX)));

        // Another client of the same customer learns nothing, and revokes nothing.
        let foreign = introspect(&env, &nodes[0], &second.client.id, &second.secret, &token).await;
        assert_eq!(foreign, serde_json::json!({"active": false}));
        let response = ask(&env, &nodes[0], "revoke", &second.client.id, &second.secret, &token).await;
        assert_eq!(response.status(), 200);
        assert_eq!(me_status(&env, &nodes[1], &token).await, 200, "still accepted");

        // A wrong secret is refused as at the token endpoint; Basic answers 401.
        let refused = ask(&env, &nodes[0], "introspect", id, "wrong", &token).await;
        assert_eq!(refused.status(), 400);
        let body: serde_json::Value = refused.json().await.expect("json");
        assert_eq!(body["error"], "invalid_client");
        let basic = env.http.post(format!("{}/cctrustoauth2/root/tokens/introspect", nodes[0]))
            .basic_auth(id, Some("wrong")).form(&[("token", token.as_str())]).send().await.expect("request");
        assert_eq!(basic.status(), 401);
        let missing = env.http.post(format!("{}/cctrustoauth2/root/tokens/introspect", nodes[0]))
            .basic_auth(id, Some(secret)).form(&[("token_type_hint", "access_token")]).send().await.expect("request");
        assert_eq!(missing.status(), 400, "no token");
        let garbage = introspect(&env, &nodes[0], id, secret, "not.a.token").await;
        assert_eq!(garbage, serde_json::json!({"active": false}));

        // The client revokes its token (HTTP Basic this time): refused on every node at once.
        let revoked = env.http.post(format!("{}/cctrustoauth2/acme/tokens/revoke", nodes[0]))
            .basic_auth(id, Some(secret)).form(&[("token", token.as_str()), ("token_type_hint", "access_token")])
            .send().await.expect("request");
        assert_eq!(revoked.status(), 200);
        for node in &nodes {
            let refused = eventually(PROPAGATION, || async { me_status(&env, node, &token).await == 401 }).await;
            assert!(refused, "{node} refuses the revoked token");
            assert_eq!(introspect(&env, node, id, secret, &token).await["active"], false);
        }
        let again = ask(&env, &nodes[1], "revoke", id, secret, &token).await;
        assert_eq!(again.status(), 200, "revoking twice is fine");
        let fresh = env.token(id, secret).await;
        assert_eq!(me_status(&env, &nodes[1], &fresh).await, 200, "new tokens are unaffected");

        // Tokens issued before the owner's access was reduced, and expired ones, are inactive.
        // (A second Full administrator first, so that the owner may be reduced.)
        env.directory()
            .add_administrator(&Actor::operator(), "acme", NewAdministrator::with_email("second@acme.example", None, Access::Full))
            .await
            .expect("second administrator");
        env.directory()
            .set_access(&Actor::operator(), "acme", AdministratorRef::Email(&seed.admin), Access::custom(["API Clients"]).expect("known"), None)
            .await
            .expect("reduced");
        let stale = eventually(PROPAGATION, || async { introspect(&env, &nodes[1], id, secret, &fresh).await["active"] == false }).await;
        assert!(stale, "a token from before the reduction is inactive");
        let newest = env.token(id, secret).await;
        assert_eq!(introspect(&env, &nodes[0], id, secret, &newest).await["active"], true);
        env.clock.advance(3601);
        assert_eq!(introspect(&env, &nodes[0], id, secret, &newest).await["active"], false, "expired");

        // Discovery names both endpoints.
        let discovery: serde_json::Value = env.http.get(env.url("/.well-known/openid-configuration"))
            .send().await.expect("request").json().await.expect("json");
        assert_eq!(discovery["introspection_endpoint"], format!("{}/cctrustoauth2/root/tokens/introspect", env.base()));
        assert_eq!(discovery["revocation_endpoint"], format!("{}/cctrustoauth2/root/tokens/revoke", env.base()));
        assert!(other.stop().await.is_ok());
    }
}
