//! Bearer tokens presented to cloudtrust, verified against a real key set (an Ed25519 key that
//! signs, and a P-256 key that is published too): API-client access tokens, Smart Tools
//! tokens, Workspace access tokens and ID token hints.
//!
//! Input: a mode byte, then
//! - 0: an `Authorization` value, whose token (if any) is verified;
//! - 1: a token;
//! - 2: claims, signed here with the signing key under its own access-token header;
//! - 3: a header, a newline, and claims, signed here with the signing key.
//!
//! Modes 2 and 3 reach what lies past the signature: claims decoding, `typ`, `kid`, `alg`,
//! issuer, audience and times. Checked: no panic; a token accepted carries a signature that
//! verifies on its own, an issuer and audience of the kind accepted, and times that hold now;
//! no token passes as both an API and a Workspace access token.

#![no_main]

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, ED25519, EcdsaKeyPair,
    Ed25519KeyPair, KeyPair, UnparsedPublicKey,
};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use cloudtrust_server::domain::tokens::{
    AccessClaims, CLOCK_SKEW_SECS, SMART_AUDIENCE, TokenPolicy,
};
use cloudtrust_server::domain::workspace_sign_in::tokens::{
    audience_of, read_id_token_hint, verify_access,
};
use cloudtrust_server::http::bearer::parse_authorization;
use cloudtrust_server::keys::keyring::{KeySet, VerifyingKey};
use cloudtrust_server::keys::signing::TokenKind;
use cloudtrust_server::keys::{SigningAlgorithm, SigningKey};
use libfuzzer_sys::fuzz_target;

/// Fixed keys, so that the tokens of the seed corpus verify.
const ED25519_SEED: [u8; 32] = [
    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26,
    27, 28, 29, 30, 31, 32,
];
const ED25519_KID: &str = "WWpn_pfHui9YKR4CZtQsDGMu7_Gch2zYChfSvnxgtPk";
const P256_PKCS8: &str = "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgHTxafpsvTWyKDh87XXyaLk9rjQwaPl97nSxKbo8LHTyhRANCAAQ4dwy4KWZvPDaoLy9lK7YzzjlV5zWOJUIlnbWAPpejCcTAgyAJbopxWZDmnEWP3uaJdKsv1XTiHENN2d/MarHZ";
const P256_KID: &str = "GDBwSTFf90slfiz2S9dVqZriviAX3WuiKg9yhCJH28U";

/// The time tokens are checked at; the seed tokens are valid then.
const NOW: i64 = 1_900_000_000;
const ISSUER: &str = "https://cloudtrust.example";
const REGIONAL_ISSUER: &str = "https://eu.cloudtrust.example";
const AUDIENCE: &str = "cloudtrust";

struct Fixture {
    keys: KeySet,
    policy: TokenPolicy,
    workspace_issuers: Vec<String>,
    signer: Ed25519KeyPair,
    /// The encoded header the signing key puts on access tokens.
    access_header: String,
}

fn verifying(key: &SigningKey) -> VerifyingKey {
    let jwk: jsonwebtoken::jwk::Jwk =
        serde_json::from_value(key.public_jwk.clone()).expect("public JWK");
    VerifyingKey {
        key: jsonwebtoken::DecodingKey::from_jwk(&jwk).expect("decoding key"),
        algorithm: key.algorithm.jwt_algorithm(),
    }
}

static FIXTURE: LazyLock<Fixture> = LazyLock::new(|| {
    let ed_pkcs8 = Ed25519KeyPair::from_seed_unchecked(&ED25519_SEED)
        .expect("seed")
        .to_pkcs8v1()
        .expect("PKCS#8");
    let signing =
        SigningKey::from_pkcs8(SigningAlgorithm::EdDsa, ed_pkcs8.as_ref()).expect("Ed25519 key");
    let p256 = SigningKey::from_pkcs8(
        SigningAlgorithm::Es256,
        &STANDARD.decode(P256_PKCS8).expect("base64"),
    )
    .expect("P-256 key");
    assert_eq!(signing.kid, ED25519_KID, "the seed corpus names this kid");
    assert_eq!(p256.kid, P256_KID, "the seed corpus names this kid");
    let access_header = signing
        .sign_jwt(TokenKind::Access, &())
        .expect("sign")
        .split('.')
        .next()
        .expect("header")
        .to_owned();
    let mut published = HashMap::new();
    published.insert(signing.kid.clone(), verifying(&signing));
    published.insert(p256.kid.clone(), verifying(&p256));
    let fixture = Fixture {
        keys: KeySet {
            signing: Arc::new(signing),
            signing_since: 0,
            verifying: published,
            jwks: Arc::from("{\"keys\":[]}"),
            next_retirement: None,
        },
        policy: TokenPolicy {
            issuer: ISSUER.to_owned(),
            issuers: vec![ISSUER.to_owned(), REGIONAL_ISSUER.to_owned()],
            audience: AUDIENCE.to_owned(),
            lifetime_secs: 3600,
        },
        workspace_issuers: vec![format!("{ISSUER}/core"), format!("{REGIONAL_ISSUER}/core")],
        signer: Ed25519KeyPair::from_seed_unchecked(&ED25519_SEED).expect("seed"),
        access_header,
    };
    // The fixture accepts what its own key issues, or every input would be refused early.
    let claims = AccessClaims {
        iss: ISSUER.to_owned(),
        sub: "client".to_owned(),
        aud: AUDIENCE.to_owned(),
        iat: NOW,
        nbf: NOW,
        exp: NOW + 60,
        jti: "jti".to_owned(),
        client_id: "client".to_owned(),
        customer: "acme".to_owned(),
        displayname: "Ada".to_owned(),
        admin: "adm".to_owned(),
        user_id: "adm".to_owned(),
        generation: 1,
    };
    let token = fixture
        .keys
        .signing
        .sign_jwt(TokenKind::Access, &claims)
        .expect("sign");
    assert_eq!(
        fixture.policy.verify_access(&fixture.keys, &token, NOW),
        Ok(claims)
    );
    fixture
});

/// Whether the token's signature verifies under one of the published keys, checked without
/// the code under test.
fn independently_signed(fixture: &Fixture, token: &str) -> bool {
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let Ok(signature) = URL_SAFE_NO_PAD.decode(signature) else {
        return false;
    };
    let message = format!("{header}.{payload}");
    let ed = fixture.signer.public_key().as_ref().to_vec();
    let p256 = EcdsaKeyPair::from_pkcs8(
        &ECDSA_P256_SHA256_FIXED_SIGNING,
        &STANDARD.decode(P256_PKCS8).expect("base64"),
    )
    .expect("P-256 key")
    .public_key()
    .as_ref()
    .to_vec();
    UnparsedPublicKey::new(&ED25519, ed)
        .verify(message.as_bytes(), &signature)
        .is_ok()
        || UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, p256)
            .verify(message.as_bytes(), &signature)
            .is_ok()
}

fn signed(fixture: &Fixture, header: &str, claims: &[u8]) -> String {
    let mut token = header.to_owned();
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(claims, &mut token);
    let signature = fixture.signer.sign(token.as_bytes());
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(signature.as_ref(), &mut token);
    token
}

fn verify_all(fixture: &Fixture, token: &str) {
    let keys = &fixture.keys;
    let policy = &fixture.policy;
    let api = policy.verify_access(keys, token, NOW);
    if let Ok(claims) = &api {
        assert!(policy.issuers.contains(&claims.iss), "{claims:?}");
        assert_eq!(claims.aud, policy.audience);
        assert!(
            claims.exp > NOW && claims.nbf <= NOW + CLOCK_SKEW_SECS,
            "{claims:?}"
        );
    }
    let smart = policy.verify_smart(keys, token, NOW);
    if let Ok(claims) = &smart {
        assert!(policy.issuers.contains(&claims.iss), "{claims:?}");
        assert_eq!(claims.aud, SMART_AUDIENCE);
        assert!(
            claims.exp > NOW && claims.nbf <= NOW + CLOCK_SKEW_SECS,
            "{claims:?}"
        );
    }
    let workspace = verify_access(keys, &fixture.workspace_issuers, token, NOW);
    if let Ok(claims) = &workspace {
        assert!(
            fixture.workspace_issuers.contains(&claims.iss),
            "{claims:?}"
        );
        assert_eq!(claims.aud, audience_of(&claims.iss));
        assert!(
            claims.exp > NOW && claims.nbf <= NOW + CLOCK_SKEW_SECS,
            "{claims:?}"
        );
    }
    let hint = read_id_token_hint(keys, &fixture.workspace_issuers, token);
    if let Ok(claims) = &hint {
        assert!(
            fixture.workspace_issuers.contains(&claims.iss),
            "{claims:?}"
        );
    }
    let accepted = [api.is_ok(), smart.is_ok(), workspace.is_ok(), hint.is_ok()];
    assert!(
        accepted.iter().filter(|a| **a).count() <= 1,
        "one token, several kinds: {accepted:?}"
    );
    if accepted.contains(&true) {
        assert!(
            independently_signed(fixture, token),
            "accepted unsigned: {token}"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let fixture = &*FIXTURE;
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 4 {
        0 => {
            if let Ok(value) = std::str::from_utf8(rest)
                && let Some(token) = parse_authorization(value)
            {
                verify_all(fixture, token);
            }
        }
        1 => {
            if let Ok(token) = std::str::from_utf8(rest) {
                verify_all(fixture, token);
            }
        }
        2 => verify_all(fixture, &signed(fixture, &fixture.access_header, rest)),
        _ => {
            let (header, claims) = match rest.iter().position(|b| *b == b'\n') {
                Some(at) => (&rest[..at], &rest[at + 1..]),
                None => (rest, &b""[..]),
            };
            let header = URL_SAFE_NO_PAD.encode(header);
            verify_all(fixture, &signed(fixture, &header, claims));
        }
    }
});
