//! Discovery, JWKS, and offline verification of tokens with an independent JWT library.

use cloudtrust_server::Clock;
use cloudtrust_server::domain::audit::Actor;
use cloudtrust_server::domain::directory::{AdministratorRef, NewAdministrator};
use cloudtrust_server::domain::permissions::{API_CLIENTS, Access};
use cloudtrust_server::keys::SigningAlgorithm;
use serde_json::Value;

use crate::support::{Backend, Env, Seed, db_test};

/// Every claim README's "Using the tokens" documents, and nothing else.
const DOCUMENTED_CLAIMS: [&str; 13] = [
    "iss",
    "sub",
    "aud",
    "iat",
    "nbf",
    "exp",
    "jti",
    "client_id",
    "customer",
    "displayname",
    "admin",
    "user_id",
    "gen",
];

/// Verifies a fresh token of `seed`'s client offline, through discovery and the JWKS, with an
/// independent JWT library; checks every documented claim, decoded as plain JSON so that no
/// claim can default; returns the claims.
async fn verify_through_discovery(env: &Env, seed: &Seed) -> Value {
    let discovery: Value = env
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
    let before = env.clock.now();
    let token = env.token(&seed.client_id, &seed.secret).await;
    let after = env.clock.now();
    let header = jsonwebtoken::decode_header(&token).expect("header");
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    let kid = header
        .kid
        .as_deref()
        .expect("the header names its key (kid)");
    assert!(!kid.is_empty(), "a kid");
    let jwk = jwks.find(kid).expect("kid published");
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).expect("decoding key");
    let mut validation = jsonwebtoken::Validation::new(header.alg);
    validation.set_issuer(&[env.base()]);
    validation.set_audience(&["cloudtrust"]);
    validation.set_required_spec_claims(&["exp", "nbf", "iat", "iss", "aud", "sub"]);
    let claims = jsonwebtoken::decode::<Value>(&token, &key, &validation)
        .expect("the token verifies offline")
        .claims;

    let mut names: Vec<&str> = claims
        .as_object()
        .expect("claims are an object")
        .keys()
        .map(String::as_str)
        .collect();
    names.sort_unstable();
    let mut documented = DOCUMENTED_CLAIMS.to_vec();
    documented.sort_unstable();
    assert_eq!(names, documented, "exactly the documented claims: {claims}");

    let owner = env
        .directory()
        .get_administrator(
            &Actor::operator(),
            "acme",
            AdministratorRef::Email(&seed.admin),
        )
        .await
        .expect("owner");
    assert_eq!(claims["iss"], env.base());
    assert_eq!(claims["sub"], seed.client_id.as_str());
    assert_eq!(claims["aud"], "cloudtrust");
    let iat = claims["iat"].as_i64().expect("iat is a number");
    assert!(
        (before..=after).contains(&iat),
        "iat {iat} is the time of issue ({before}..={after})"
    );
    assert_eq!(claims["nbf"].as_i64(), Some(iat), "valid from issue");
    assert_eq!(
        claims["exp"].as_i64(),
        Some(iat + 3600),
        "valid for token_lifetime_secs"
    );
    let jti = claims["jti"].as_str().expect("jti is a string");
    uuid::Uuid::parse_str(jti).expect("jti is a GUID");
    assert_eq!(claims["client_id"], seed.client_id.as_str());
    assert_eq!(claims["customer"], "acme");
    assert_eq!(claims["displayname"], "Owner");
    assert_eq!(
        claims["admin"],
        owner.id.as_str(),
        "admin is the owner administrator's id"
    );
    assert_eq!(claims["user_id"], owner.id.as_str(), "user_id repeats it");
    assert_eq!(
        claims["gen"].as_i64(),
        Some(owner.permission_generation),
        "gen is the owner's permission generation"
    );
    assert!(token.len() < 1536, "tokens stay under 1.5 KB");

    let again = env.token(&seed.client_id, &seed.secret).await;
    let again = jsonwebtoken::decode::<Value>(&again, &key, &validation)
        .expect("verifies")
        .claims;
    assert_ne!(again["jti"], claims["jti"], "every token has its own jti");
    claims
}

db_test! {
    async fn tokens_verify_through_discovery_and_jwks(env) {
        let seed = env.seed().await;
        // A reduction raises the owner's permission generation (widening it again does not),
        // so the token's `gen` is 2, not a default.
        let operator = Actor::operator();
        env.directory().add_administrator(&operator, "acme", NewAdministrator::with_email("second@acme.example", None, Access::Full)).await.expect("second administrator");
        env.directory().set_access(&operator, "acme", AdministratorRef::Email(&seed.admin), Access::custom([API_CLIENTS]).expect("known"), None).await.expect("reduce");
        env.directory().set_access(&operator, "acme", AdministratorRef::Email(&seed.admin), Access::Full, None).await.expect("widen");
        let claims = verify_through_discovery(&env, &seed).await;
        assert_eq!(claims["gen"], 2, "{claims}");
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
        let seed = env.seed().await;
        let claims = verify_through_discovery(&env, &seed).await;
        assert_eq!(claims["gen"], 1, "a new administrator's generation");
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
