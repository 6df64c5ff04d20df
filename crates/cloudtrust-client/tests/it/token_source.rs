//! The token source against a real server: caching, renewal, one token request for many
//! callers, refusals, and each way of sending the credentials.

use std::sync::Arc;
use std::time::{Duration, Instant};

use cloudtrust_client::{ClientError, TokenSource, renew_after};

use crate::{CUSTOMER, Peer, Server, eventually, http_response, next_token};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_is_reused_and_renewed_before_it_expires() {
    // Ten seconds: renewed after five, while the first token has four or five left.
    let server = Server::start(10).await;
    let source = server.source();
    let asked = Instant::now();
    let first = source.token().await.expect("token");
    assert_eq!(
        source.token().await.expect("token"),
        first,
        "reused while fresh"
    );
    assert_eq!(
        source.authorization().await.expect("header"),
        format!("CwsAuth Bearer={first}")
    );
    assert_eq!(server.me(&first).await, 200);

    let (second, renewed) = next_token(&source, &first, Duration::from_secs(20)).await;
    let after = renewed - asked;
    assert!(
        after >= renew_after(Duration::from_secs(10)),
        "not renewed before half the lifetime ({after:?})"
    );
    assert_eq!(
        server.me(&first).await,
        200,
        "renewed while the first token still works ({after:?} after it was asked for)"
    );
    assert_eq!(server.me(&second).await, 200);
    assert_eq!(source.token().await.expect("token"), second, "then reused");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_living_less_than_a_minute_is_reused_too() {
    let server = Server::start(2).await;
    let source = server.source();
    let first = source.token().await.expect("token");
    assert_eq!(
        source.token().await.expect("token"),
        first,
        "a 2-second token is not fetched again at once"
    );
    let (second, _) = next_token(&source, &first, Duration::from_secs(10)).await;
    assert_eq!(server.me(&second).await, 200, "the renewed token works");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_concurrent_callers_cause_one_token_request() {
    let server = Server::start_with(3600, |c| c.audit_each_token = true).await;
    let source = Arc::new(server.source());
    let callers: Vec<_> = (0..100)
        .map(|_| {
            let source = source.clone();
            tokio::spawn(async move { source.token().await })
        })
        .collect();
    let mut tokens = Vec::new();
    for caller in callers {
        tokens.push(caller.await.expect("joined").expect("token"));
    }
    assert!(
        tokens.iter().all(|t| *t == tokens[0]),
        "every caller got the same token"
    );
    assert_eq!(server.me(&tokens[0]).await, 200);

    let recorded = eventually(Duration::from_secs(5), || async {
        server.tokens_issued().await >= 1
    })
    .await;
    assert!(recorded, "the token request is in the system log");
    // Records are written after the answer: give any other request time to show up too.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(server.tokens_issued().await, 1, "one token request in all");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalidate_forgets_the_token_and_refusals_are_reported() {
    let server = Server::start(3600).await;
    let source = server.source();
    let first = source.token().await.expect("token");
    source.invalidate().await;
    let second = source.token().await.expect("token");
    assert_ne!(first, second, "a new token after invalidation");

    source.reject(&first).await;
    assert_eq!(
        source.token().await.expect("token"),
        second,
        "rejecting a token no longer cached changes nothing"
    );
    source.reject(&second).await;
    assert_ne!(
        source.token().await.expect("token"),
        second,
        "rejecting the cached token forgets it"
    );

    let wrong = TokenSource::new(server.base(), "root", &server.client_id, "not-the-secret");
    match wrong.token().await {
        Err(ClientError::Refused { status, body }) => {
            assert_eq!((status, body.error.as_str()), (400, "invalid_client"));
            assert_eq!(
                body.error_description.as_deref(),
                Some("Invalid client id or client secret.")
            );
        }
        other => panic!("a refusal, not {other:?}"),
    }
    let elsewhere = TokenSource::new(server.base(), "globex", &server.client_id, &server.secret);
    assert!(
        matches!(
            elsewhere.token().await,
            Err(ClientError::Refused {
                status: 400..=403,
                ..
            })
        ),
        "another customer's token URL is refused"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trailing_slash_in_the_base_url_is_ignored() {
    let server = Server::start(3600).await;
    for base in [
        format!("{}/", server.base()),
        format!("{}//", server.base()),
    ] {
        let source = TokenSource::new(&base, "root", &server.client_id, &server.secret);
        let token = source
            .token()
            .await
            .unwrap_or_else(|e| panic!("{base}: {e}"));
        assert_eq!(server.me(&token).await, 200, "{base}");
        assert!(
            format!("{source:?}").contains(&format!(
                "\"{}/cctrustoauth2/root/tokens/clients\"",
                server.base()
            )),
            "{base}: {source:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_in_basic_authentication_get_a_token() {
    let server = Server::start(3600).await;
    for customer in ["root", CUSTOMER] {
        let source = TokenSource::builder(customer, &server.client_id, &server.secret)
            .base_url(server.base())
            .basic_auth(true)
            .build();
        let token = source.token().await.expect("token");
        assert_eq!(server.me(&token).await, 200, "{customer}");
    }
    let wrong = TokenSource::builder("root", &server.client_id, "not-the-secret")
        .base_url(server.base())
        .basic_auth(true)
        .build();
    assert!(
        matches!(wrong.token().await, Err(ClientError::Refused { status: 401, ref body }) if body.error == "invalid_client"),
        "a wrong secret in Basic authentication is a 401"
    );

    // On the wire: a Basic header with the form-encoded id and secret, no secret in the body.
    let peer = Peer::start(vec![http_response(
        "200 OK",
        "application/json",
        r#"{"token_type":"bearer","access_token":"ey.x.y","expires_in":"3600"}"#,
    )])
    .await;
    let source = TokenSource::builder("root", "id@acme", "a+b/c=")
        .base_url(&peer.base)
        .basic_auth(true)
        .build();
    source.token().await.expect("token");
    let request = peer.requests().pop().expect("a request");
    // base64("id%40acme:a%2Bb%2Fc%3D")
    assert!(
        request.contains("authorization: Basic aWQlNDBhY21lOmElMkJiJTJGYyUzRA=="),
        "{request}"
    );
    assert!(
        request.ends_with("\r\n\r\ngrant_type=client_credentials"),
        "{request}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_legacy_trust_service_gets_a_token() {
    let server = Server::start(3600).await;
    for customer in ["root", CUSTOMER] {
        let source = TokenSource::builder(customer, &server.client_id, &server.secret)
            .base_url(server.base())
            .legacy_trust(true)
            .build();
        assert!(
            format!("{source:?}").contains(&format!("{}/{customer}/tokens/clients", server.base())),
            "{source:?}"
        );
        let token = source.token().await.expect("token");
        assert_eq!(server.me(&token).await, 200, "{customer}");
        assert_eq!(source.token().await.expect("token"), token, "cached");
    }
    let wrong = TokenSource::builder("root", &server.client_id, "not-the-secret")
        .base_url(server.base())
        .legacy_trust(true)
        .build();
    assert!(wrong.token().await.is_err(), "a wrong secret is refused");
}
