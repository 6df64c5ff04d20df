//! The verifier against real cloudtrust servers: tokens of the issuer pass, tokens of another
//! issuer, tampered or expired ones do not; keys follow a signing-key rotation; JWKS fetches
//! follow `Cache-Control` and happen at most once per refetch interval, counted by a proxy in
//! front of the issuer; the axum extractor and middleware answer Citrix's common errors.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::get;
use axum::{Extension, Json, Router};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cloudtrust_client::TokenSource;
use cloudtrust_client::verify::{Authenticated, Claims, Verifier, VerifyError, require_token};
use serde_json::{Value, json};

use crate::{CUSTOMER, Server};

/// The `kid` of a JWT.
fn kid_of(token: &str) -> String {
    jsonwebtoken::decode_header(token)
        .expect("header")
        .kid
        .expect("kid")
}

/// `token` with its header's `kid` replaced: a token naming a key nobody published.
fn with_kid(token: &str, kid: &str) -> String {
    let header = jsonwebtoken::decode_header(token).expect("header");
    let forged = json!({"alg": header.alg, "typ": header.typ, "kid": kid});
    let rest = token.split_once('.').expect("a JWT").1;
    format!("{}.{rest}", URL_SAFE_NO_PAD.encode(forged.to_string()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_of_the_issuer_pass_and_others_do_not() {
    let server = Server::start(3600).await;
    let other = Server::start(3600).await;
    let token = server.source().token().await.expect("token");
    let verifier = Verifier::for_api_clients(server.base()).build();

    let claims = verifier
        .verify(&token)
        .await
        .expect("the issuer's token passes");
    assert_eq!(claims.sub, server.client_id);
    assert_eq!(claims.client_id.as_deref(), Some(server.client_id.as_str()));
    assert_eq!(claims.customer.as_deref(), Some(CUSTOMER));
    assert_eq!(claims.iss, server.base());
    assert_eq!(claims.aud, ["cloudtrust"]);
    assert!(claims.other.contains_key("displayname"));

    // Another server's token: its key is not the issuer's.
    let foreign = other.source().token().await.expect("token");
    assert_eq!(
        verifier.verify(&foreign).await,
        Err(VerifyError::UnknownKey)
    );
    // The same keys under another issuer (the Workspace server at `/core`) and another
    // audience: refused for the issuer, before the audience is looked at.
    let workspace = Verifier::for_workspace(server.base()).build();
    assert_eq!(
        workspace.verify(&token).await,
        Err(VerifyError::WrongIssuer)
    );
    let elsewhere = Verifier::builder(server.base(), "another-audience").build();
    assert_eq!(
        elsewhere.verify(&token).await,
        Err(VerifyError::WrongAudience)
    );

    // A changed signature or payload, or no JWT at all.
    let (signed, signature) = token.rsplit_once('.').expect("a JWT");
    let flipped = if signature.starts_with('A') { "B" } else { "A" };
    let tampered = format!("{signed}.{flipped}{}", &signature[1..]);
    assert_eq!(
        verifier.verify(&tampered).await,
        Err(VerifyError::BadSignature)
    );
    let parts: Vec<&str> = token.split('.').collect();
    let mut payload: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).expect("payload")).expect("json");
    payload["customer"] = json!("someone-else");
    let swapped = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(payload.to_string()),
        parts[2]
    );
    assert_eq!(
        verifier.verify(&swapped).await,
        Err(VerifyError::BadSignature)
    );
    assert_eq!(
        verifier.verify("not-a-jwt").await,
        Err(VerifyError::Malformed)
    );

    // A token of another type (`typ: JWT`, as ID tokens are) is not an access token.
    let header = jsonwebtoken::decode_header(&token).expect("header");
    let id_like = json!({"alg": header.alg, "typ": "JWT", "kid": header.kid});
    let id_like = format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(id_like.to_string()),
        parts[1],
        parts[2]
    );
    assert_eq!(verifier.verify(&id_like).await, Err(VerifyError::WrongType));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expiry_is_checked_with_the_leeway() {
    let server = Server::start(1).await;
    let token = server.source().token().await.expect("token");
    let strict = Verifier::for_api_clients(server.base())
        .leeway(Duration::ZERO)
        .build();
    let lenient = Verifier::for_api_clients(server.base())
        .leeway(Duration::from_secs(30))
        .build();
    assert!(strict.verify(&token).await.is_ok(), "valid at first");
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(strict.verify(&token).await, Err(VerifyError::Expired));
    assert!(
        lenient.verify(&token).await.is_ok(),
        "within 30 s of leeway"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_follow_a_signing_key_rotation() {
    let server = Server::start(3600).await;
    let verifier = Verifier::for_api_clients(server.base())
        .refetch_interval(Duration::from_millis(200))
        .build();
    let old = server.source().token().await.expect("token");
    verifier.verify(&old).await.expect("the first key's token");

    let new_kid = server.rotate_signing_key(false).await;
    assert_ne!(new_kid, kid_of(&old));
    // A new token source each time: a cached token would still be of the old key.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let new = loop {
        let token = server.source().token().await.expect("token");
        if kid_of(&token) == new_kid {
            break token;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the server signs with the new key"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };

    // The verifier has never seen the new key: it fetches the keys again, once the refetch
    // interval since its last fetch has passed.
    tokio::time::sleep(Duration::from_millis(250)).await;
    let claims = verifier.verify(&new).await.expect("the new key's token");
    assert_eq!(claims.sub, server.client_id);
    verifier
        .verify(&old)
        .await
        .expect("the previous key stays published until it retires");
}

/// A proxy in front of a server's discovery and JWKS that counts the requests and answers
/// the JWKS with its own `Cache-Control`; the server's public URL is the proxy's, so tokens
/// name it as their issuer.
struct KeyProxy {
    server: Server,
    discovery: Arc<AtomicUsize>,
    jwks: Arc<AtomicUsize>,
}

impl KeyProxy {
    async fn start(cache_control: &'static str) -> KeyProxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let public = format!("http://{}", listener.local_addr().expect("address"));
        let public_url = public.clone();
        let server = Server::start_with(3600, move |config| {
            config.public_url = Some(public_url);
        })
        .await;
        let upstream = format!("http://{}", server.server.addr);
        let discovery = Arc::new(AtomicUsize::new(0));
        let jwks = Arc::new(AtomicUsize::new(0));
        let forward = |path: &'static str, count: Arc<AtomicUsize>, cache: Option<&'static str>| {
            let url = format!("{upstream}{path}");
            get(move || {
                let (url, count) = (url.clone(), count.clone());
                async move {
                    count.fetch_add(1, Ordering::SeqCst);
                    let body: Value = reqwest::get(&url)
                        .await
                        .expect("upstream")
                        .json()
                        .await
                        .expect("json");
                    let mut headers = HeaderMap::new();
                    if let Some(cache) = cache {
                        headers.insert("cache-control", cache.parse().expect("header"));
                    }
                    (headers, Json(body))
                }
            })
        };
        let app = Router::new()
            .route(
                "/.well-known/openid-configuration",
                forward("/.well-known/openid-configuration", discovery.clone(), None),
            )
            .route(
                "/.well-known/jwks.json",
                forward("/.well-known/jwks.json", jwks.clone(), Some(cache_control)),
            );
        tokio::spawn(async move { axum::serve(listener, app).await });
        KeyProxy {
            server,
            discovery,
            jwks,
        }
    }

    /// A token, asked of the server itself (the proxy forwards only the keys).
    async fn token(&self) -> String {
        let direct = format!("http://{}", self.server.server.addr);
        TokenSource::new(&direct, "root", &self.server.client_id, &self.server.secret)
            .token()
            .await
            .expect("token")
    }

    /// A verifier of the server's tokens, whose issuer is the proxy's URL.
    fn verifier(&self, refetch_interval: Duration) -> Verifier {
        Verifier::for_api_clients(self.server.base())
            .refetch_interval(refetch_interval)
            .build()
    }

    fn fetches(&self) -> (usize, usize) {
        (
            self.discovery.load(Ordering::SeqCst),
            self.jwks.load(Ordering::SeqCst),
        )
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_are_fetched_once_for_many_callers_and_again_only_when_allowed() {
    let proxy = KeyProxy::start("public, max-age=300").await;
    let token = proxy.token().await;
    let verifier = proxy.verifier(Duration::from_millis(500));

    // A hundred callers at once: one discovery, one JWKS fetch.
    let checks = (0..100).map(|_| {
        let (verifier, token) = (verifier.clone(), token.clone());
        tokio::spawn(async move { verifier.verify(&token).await })
    });
    for check in checks {
        check.await.expect("task").expect("verified");
    }
    assert_eq!(proxy.fetches(), (1, 1));

    // Unknown keys right after a fetch: refused without asking the issuer again.
    for n in 0..20 {
        let forged = with_kid(&token, &format!("made-up-{n}"));
        assert_eq!(verifier.verify(&forged).await, Err(VerifyError::UnknownKey));
    }
    assert_eq!(proxy.fetches(), (1, 1));

    // Once the interval has passed, an unknown key causes one fetch, however many callers.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let checks = (0..20).map(|n| {
        let (verifier, forged) = (verifier.clone(), with_kid(&token, &format!("new-{n}")));
        tokio::spawn(async move { verifier.verify(&forged).await })
    });
    for check in checks {
        assert_eq!(check.await.expect("task"), Err(VerifyError::UnknownKey));
    }
    assert_eq!(proxy.fetches(), (1, 2));

    // Known keys within `max-age` cause no fetch at all.
    tokio::time::sleep(Duration::from_millis(600)).await;
    verifier.verify(&token).await.expect("verified");
    assert_eq!(proxy.fetches(), (1, 2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_are_kept_as_long_as_cache_control_says() {
    let proxy = KeyProxy::start("max-age=1").await;
    let token = proxy.token().await;
    let verifier = proxy.verifier(Duration::from_millis(100));
    verifier.verify(&token).await.expect("verified");
    verifier.verify(&token).await.expect("verified");
    assert_eq!(proxy.fetches(), (1, 1), "fresh for a second");
    tokio::time::sleep(Duration::from_millis(1200)).await;
    verifier.verify(&token).await.expect("verified");
    assert_eq!(
        proxy.fetches(),
        (1, 2),
        "stale after a second: fetched again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_issuer_is_unavailable_not_invalid() {
    let verifier = Verifier::for_api_clients("http://127.0.0.1:9").build();
    let token = format!(
        "{}.e30.c2ln",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"EdDSA","typ":"at+jwt","kid":"k"}"#)
    );
    match verifier.verify(&token).await {
        Err(VerifyError::KeysUnavailable(message)) => {
            assert!(message.contains("127.0.0.1:9"), "{message}")
        }
        other => panic!("KeysUnavailable, not {other:?}"),
    }
}

async fn whoami(Authenticated(claims): Authenticated) -> Json<Claims> {
    Json(claims)
}

async fn behind_middleware(Extension(claims): Extension<Claims>) -> String {
    claims.sub
}

async fn verifier_issuer(State(verifier): State<Verifier>) -> String {
    verifier.issuer().to_owned()
}

/// A service accepting the tokens of `verifier`, on loopback: `/whoami` through the
/// extractor, `/protected/*` behind the middleware, `/open` for anyone.
async fn service(verifier: Verifier) -> String {
    let protected = Router::new()
        .route("/protected/sub", get(behind_middleware))
        .route_layer(axum::middleware::from_fn_with_state(
            verifier.clone(),
            require_token,
        ));
    let app = Router::new()
        .route("/whoami", get(whoami))
        .route("/open", get(verifier_issuer))
        .merge(protected)
        .with_state(verifier);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

/// Status, body and `WWW-Authenticate` of `GET base+path` with `headers`.
async fn call(base: &str, path: &str, headers: &[(&str, &str)]) -> (u16, Value, Option<String>) {
    let mut request = reqwest::Client::new().get(format!("{base}{path}"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().expect("text").to_owned());
    let body = response.text().await.expect("body");
    let body = serde_json::from_str(&body).unwrap_or(Value::String(body));
    (status, body, challenge)
}

fn error_name(body: &Value) -> &str {
    body["type"]
        .as_str()
        .and_then(|t| t.strip_prefix("https://errors-api.cloud.com/common/"))
        .unwrap_or_default()
}

fn parameter<'a>(body: &'a Value, name: &str) -> Option<&'a str> {
    body["parameters"]
        .as_array()?
        .iter()
        .find(|p| p["name"] == name)?["value"]
        .as_str()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_extractor_and_middleware_accept_every_header_form_and_answer_common_errors() {
    let server = Server::start(3600).await;
    let token = server.source().token().await.expect("token");
    let base = service(Verifier::for_api_clients(server.base()).build()).await;

    for form in [
        format!("CwsAuth Bearer={token}"),
        format!("CWSAuth bearer={token}"),
        format!("CwsAuth Bearer=   {token}"),
        format!("Bearer {token}"),
    ] {
        let (status, body, _) = call(&base, "/whoami", &[("Authorization", &form)]).await;
        assert_eq!(status, 200, "{form}: {body}");
        assert_eq!(body["sub"], server.client_id.as_str());
        let (status, body, _) = call(&base, "/protected/sub", &[("Authorization", &form)]).await;
        assert_eq!(
            (status, body),
            (200, Value::String(server.client_id.clone()))
        );
    }
    let (status, _, _) = call(&base, "/open", &[]).await;
    assert_eq!(status, 200, "routes outside the middleware stay open");

    for path in ["/whoami", "/protected/sub"] {
        let (status, body, challenge) = call(&base, path, &[]).await;
        assert_eq!(status, 401);
        assert_eq!(error_name(&body), "authentication");
        assert_eq!(body["detail"], "Missing or invalid authentication details");
        assert_eq!(parameter(&body, "reason"), Some("missing"));
        assert!(challenge.is_some_and(|c| c.starts_with("CwsAuth")));

        for bad in ["CwsAuth Bearer=nonsense", "Basic YTpi", "CwsAuth Token=x"] {
            let (status, body, _) = call(&base, path, &[("Authorization", bad)]).await;
            assert_eq!(status, 401, "{bad}");
            assert_eq!(parameter(&body, "reason"), Some("invalid"), "{bad}");
        }

        let header = format!("CwsAuth Bearer={token}");
        let (status, body, _) = call(
            &base,
            path,
            &[
                ("Authorization", &header),
                ("Citrix-CustomerId", "someone-else"),
            ],
        )
        .await;
        assert_eq!(status, 403, "another customer");
        assert_eq!(error_name(&body), "authorization");
        assert_eq!(parameter(&body, "entityType"), Some("customer"));
        assert_eq!(parameter(&body, "id"), Some("someone-else"));
        let (status, _, _) = call(
            &base,
            path,
            &[("Authorization", &header), ("Citrix-CustomerId", "ACME")],
        )
        .await;
        assert_eq!(status, 200, "the token's own customer, in any case");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_application_id_can_be_required() {
    let server = Server::start(3600).await;
    let token = server.source().token().await.expect("token");
    let verifier = Verifier::for_api_clients(server.base())
        .require_application_id(true)
        .build();
    assert!(verifier.requires_application_id());
    let base = service(verifier).await;
    let header = format!("CwsAuth Bearer={token}");

    let (status, body, _) = call(&base, "/whoami", &[("Authorization", &header)]).await;
    assert_eq!(status, 400);
    assert_eq!(error_name(&body), "missing");
    assert_eq!(parameter(&body, "name"), Some("Citrix-ApplicationId"));

    let (status, body, _) = call(
        &base,
        "/whoami",
        &[
            ("Authorization", &header),
            ("Citrix-ApplicationId", "another-app"),
        ],
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(parameter(&body, "entityType"), Some("application"));

    let client = server.client_id.as_str();
    let (status, _, _) = call(
        &base,
        "/whoami",
        &[("Authorization", &header), ("Citrix-ApplicationId", client)],
    )
    .await;
    assert_eq!(status, 200, "by header");
    let (status, _, _) = call(
        &base,
        &format!("/whoami?applicationid={client}"),
        &[("Authorization", &header)],
    )
    .await;
    assert_eq!(status, 200, "by query parameter");
}
