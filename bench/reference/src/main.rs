//! The reference `bench/run` measures cloudtrust's client-credentials endpoint against: an
//! axum handler that does only what no token endpoint can skip — parse the form, find the
//! client and check its secret (HMAC-SHA256, compared in constant time, as cloudtrust stores
//! secrets), sign an access token with the same claims and key type (ES256 or EdDSA, with
//! aws-lc-rs) — and answer cloudtrust's JSON with the headers RFC 6749 §5.1 requires
//! (`Cache-Control: no-store`, `Pragma: no-cache`). The token is as long as cloudtrust's for
//! the demo tenant (a 43-character `kid`, like an RFC 7638 thumbprint, and claims of the same
//! lengths), so that both hash and send as many bytes. No database, cache, throttle, usage
//! records, metrics or middleware: what cloudtrust spends beyond this is its own overhead.
//!
//! `cloudtrust-bench-reference --listen 127.0.0.1:18082 --algorithm es256` with `CLIENT_ID` and
//! `CLIENT_SECRET` in the environment.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _,
};
use aws_lc_rs::{digest, hmac};
use axum::extract::{Form, Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use clap::{Parser, ValueEnum};
use serde::{Deserialize, Serialize};

/// The allocator cloudtrust uses, so that the two differ only in the work they do.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The reference token endpoint.
#[derive(Debug, Parser)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:18082")]
    listen: SocketAddr,
    /// The signature of the tokens.
    #[arg(long, value_enum, default_value = "es256")]
    algorithm: Algorithm,
    /// The one client's id.
    #[arg(long, env = "CLIENT_ID")]
    client_id: String,
    /// Its secret.
    #[arg(long, env = "CLIENT_SECRET", hide_env_values = true)]
    client_secret: String,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Algorithm {
    Es256,
    Eddsa,
}

enum Signer {
    Ec(EcdsaKeyPair, SystemRandom),
    Ed(Ed25519KeyPair),
}

struct Reference {
    /// Client id → the HMAC of its secret.
    clients: HashMap<String, hmac::Tag>,
    hash_key: hmac::Key,
    signer: Signer,
    header: String,
}

#[derive(Deserialize)]
struct TokenForm {
    grant_type: String,
    client_id: String,
    client_secret: String,
}

/// cloudtrust's access-token claims, with values of the same lengths.
#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    iat: u64,
    nbf: u64,
    exp: u64,
    jti: String,
    client_id: &'a str,
    customer: &'a str,
    displayname: &'a str,
    admin: &'a str,
    user_id: &'a str,
    #[serde(rename = "gen")]
    generation: i64,
}

#[derive(Serialize)]
struct Answer {
    token_type: &'static str,
    access_token: String,
    expires_in: &'static str,
}

async fn token(
    State(reference): State<Arc<Reference>>,
    Path(customer): Path<String>,
    Form(form): Form<TokenForm>,
) -> Response {
    let known = reference.clients.get(&form.client_id);
    let valid = form.grant_type == "client_credentials"
        && known.is_some_and(|tag| {
            hmac::verify(
                &reference.hash_key,
                form.client_secret.as_bytes(),
                tag.as_ref(),
            )
            .is_ok()
        });
    if !valid {
        return (StatusCode::BAD_REQUEST, "invalid_client").into_response();
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let admin = "7c1d5d8e-2f7a-4a53-9a43-0b9f6f1e2d3c";
    let claims = Claims {
        iss: "http://127.0.0.1:18080",
        sub: &form.client_id,
        aud: "cloudtrust",
        iat: now,
        nbf: now,
        exp: now + 3600,
        jti: uuid::Uuid::new_v4().to_string(),
        client_id: &form.client_id,
        customer: &customer,
        displayname: "Demo Administrator",
        admin,
        user_id: admin,
        generation: 1,
    };
    match reference.sign(&claims) {
        Some(access_token) => {
            let mut response = Json(Answer {
                token_type: "bearer",
                access_token,
                expires_in: "3600",
            })
            .into_response();
            let headers = response.headers_mut();
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
            response
        }
        None => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

impl Reference {
    fn new(args: &Args) -> Result<Reference, String> {
        let rng = SystemRandom::new();
        let hash_key = hmac::Key::generate(hmac::HMAC_SHA256, &rng).map_err(|e| e.to_string())?;
        let tag = hmac::sign(&hash_key, args.client_secret.as_bytes());
        let (signer, alg, public) = match args.algorithm {
            Algorithm::Es256 => {
                let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
                    .map_err(|e| e.to_string())?;
                let pair =
                    EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref())
                        .map_err(|e| e.to_string())?;
                let public = pair.public_key().as_ref().to_vec();
                (Signer::Ec(pair, rng), "ES256", public)
            }
            Algorithm::Eddsa => {
                let pair = Ed25519KeyPair::generate().map_err(|e| e.to_string())?;
                let public = pair.public_key().as_ref().to_vec();
                (Signer::Ed(pair), "EdDSA", public)
            }
        };
        let kid = URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, &public));
        let header = serde_json::json!({ "alg": alg, "typ": "at+jwt", "kid": kid }).to_string();
        Ok(Reference {
            clients: HashMap::from([(args.client_id.clone(), tag)]),
            hash_key,
            signer,
            header: URL_SAFE_NO_PAD.encode(header),
        })
    }

    fn sign(&self, claims: &Claims<'_>) -> Option<String> {
        let payload = serde_json::to_vec(claims).ok()?;
        let mut token = String::with_capacity(self.header.len() + payload.len() * 4 / 3 + 100);
        token.push_str(&self.header);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(&payload, &mut token);
        let signature = match &self.signer {
            Signer::Ec(pair, rng) => pair.sign(rng, token.as_bytes()).ok()?.as_ref().to_vec(),
            Signer::Ed(pair) => pair.sign(token.as_bytes()).as_ref().to_vec(),
        };
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(&signature, &mut token);
        Some(token)
    }
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let args = Args::parse();
    let reference = Arc::new(Reference::new(&args)?);
    let app = Router::new()
        .route("/cctrustoauth2/{customer}/tokens/clients", post(token))
        .with_state(reference);
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| format!("listening on {}: {e}", args.listen))?;
    eprintln!("reference token endpoint on http://{}", args.listen);
    axum::serve(listener, app).await.map_err(|e| e.to_string())
}
