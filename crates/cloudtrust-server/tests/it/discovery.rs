//! Discovery, JWKS, and offline verification of tokens with an independent JWT library.

use cloudtrust_server::domain::tokens::AccessClaims;
use cloudtrust_server::keys::SigningAlgorithm;

use crate::support::{Backend, Env, db_test};

async fn verify_through_discovery(env: &Env) -> AccessClaims {
    let seed = env.seed().await;
    let discovery: serde_json::Value = env
        .http
        .get(env.url("/.well-known/openid-configuration"))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert_eq!(discovery["issuer"], env.base());
    assert_eq!(
        discovery["token_endpoint"],
        format!("{}/cctrustoauth2/root/tokens/clients", env.base())
    );
    assert!(
        discovery["grant_types_supported"]
            .as_array()
            .expect("array")
            .contains(&"client_credentials".into())
    );
    let methods = discovery["token_endpoint_auth_methods_supported"]
        .as_array()
        .expect("array");
    assert!(
        methods.contains(&"client_secret_post".into())
            && methods.contains(&"client_secret_basic".into())
    );

    let jwks: jsonwebtoken::jwk::JwkSet = env
        .http
        .get(discovery["jwks_uri"].as_str().expect("jwks_uri"))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("JWKS");
    let token = env.token(&seed.client_id, &seed.secret).await;
    let header = jsonwebtoken::decode_header(&token).expect("header");
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    let jwk = jwks
        .find(header.kid.as_deref().expect("kid"))
        .expect("kid published");
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).expect("decoding key");
    let mut validation = jsonwebtoken::Validation::new(header.alg);
    validation.set_issuer(&[env.base()]);
    validation.set_audience(&["cloudtrust"]);
    let claims = jsonwebtoken::decode::<AccessClaims>(&token, &key, &validation)
        .expect("the token verifies offline")
        .claims;
    assert_eq!(claims.sub, seed.client_id);
    assert_eq!(claims.client_id, seed.client_id);
    assert_eq!(claims.customer, "acme");
    assert_eq!(claims.displayname, "Owner");
    assert_eq!(claims.exp - claims.iat, 3600);
    assert!(token.len() < 1536, "tokens stay under 1.5 KB");
    claims
}

db_test! {
    async fn tokens_verify_through_discovery_and_jwks(env) {
        verify_through_discovery(&env).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_signing_algorithm_is_verifiable_offline() {
    for algorithm in [
        SigningAlgorithm::EdDsa,
        SigningAlgorithm::Rs256,
        SigningAlgorithm::Es256,
    ] {
        let env = Env::with(Backend::Sqlite, |c| c.signing_algorithm = algorithm)
            .await
            .expect("sqlite is always available");
        let jwks: serde_json::Value = env
            .http
            .get(env.url("/.well-known/jwks.json"))
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("json");
        assert_eq!(jwks["keys"][0]["alg"], algorithm.as_str());
        verify_through_discovery(&env).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_lifetime_is_configurable() {
    let env = Env::with(Backend::Sqlite, |c| c.token_lifetime_secs = 600)
        .await
        .expect("sqlite is always available");
    let seed = env.seed().await;
    let body: serde_json::Value = env
        .request_token("root", &seed.client_id, &seed.secret)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(body["expires_in"], "600");
}

db_test! {
    async fn a_database_refuses_another_key_encryption_key(env) {
        let mut config = env.db.config();
        config.key_encryption_key = Some("A".repeat(43));
        let refused = cloudtrust_server::app::Foundation::open(config, env.clock.clone()).await;
        let message = refused.expect_err("a different KEK is refused").to_string();
        assert!(message.contains("another key-encryption key"), "{message}");
    }
}
