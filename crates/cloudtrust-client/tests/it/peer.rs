//! The SDK against peers answering what no cloudtrust server would: throttling, numeric
//! `expires_in`, broken bodies. Every bad answer must be a clear error and never a panic.

use std::time::{Duration, Instant};

use cloudtrust_client::{ApiClient, ClientError, Retry, TokenSource};

use crate::{Peer, http_response, http_response_with};

const TOKEN: &str = r#"{"token_type":"bearer","access_token":"ey.x.y","expires_in":"3600"}"#;

/// The common error of a throttled request, with `retryDelay`.
fn throttled_body(seconds: u64) -> String {
    format!(
        r#"{{"type":"https://errors-api.cloud.com/common/rateLimitExceeded","detail":"Rate limit exceeded; try again in {seconds} seconds","parameters":[{{"name":"retryDelay","value":"{seconds}"}}]}}"#
    )
}

/// What the token source makes of `response`: the error, which must be one.
async fn error_for(response: String) -> ClientError {
    let peer = Peer::start(vec![response]).await;
    let source = TokenSource::new(&peer.base, "root", "id", "secret");
    match source.token().await {
        Err(e) => e,
        Ok(token) => panic!("a token from a bad answer: {token:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_answers_are_clear_errors() {
    let bad = |e: ClientError| match e {
        ClientError::BadResponse(message) => message,
        other => panic!("BadResponse, not {other:?}"),
    };

    let message = bad(error_for(http_response(
        "200 OK",
        "text/html",
        "<html>a sign-in page</html>",
    ))
    .await);
    assert!(
        message.contains("200") && message.contains("not a token response"),
        "{message}"
    );

    let message = bad(error_for(http_response(
        "200 OK",
        "application/json",
        r#"{"token_type":"bearer","expires_in":"3600"}"#,
    ))
    .await);
    assert!(
        message.contains("missing field `access_token`"),
        "{message}"
    );

    let message = bad(error_for(http_response(
        "200 OK",
        "application/json",
        r#"{"token_type":"bearer","access_token":"ey.x.y"}"#,
    ))
    .await);
    assert!(message.contains("missing field `expires_in`"), "{message}");

    let message = bad(error_for(http_response(
        "200 OK",
        "application/json",
        r#"{"token_type":"bearer","access_token":"","expires_in":"3600"}"#,
    ))
    .await);
    assert!(message.contains("empty access_token"), "{message}");

    for expires_in in ["\"soon\"", "\"-5\"", "\"\"", "-5", "1.5", "null", "[]"] {
        let message = bad(error_for(http_response(
            "200 OK",
            "application/json",
            &format!(
                r#"{{"token_type":"bearer","access_token":"ey.x.y","expires_in":{expires_in}}}"#
            ),
        ))
        .await);
        assert!(
            message.contains("expires_in") && message.contains("not a number of seconds"),
            "{expires_in}: {message}"
        );
    }
    for huge in ["\"18446744073709551615\"", "18446744073709551615"] {
        let message = bad(error_for(http_response(
            "200 OK",
            "application/json",
            &format!(r#"{{"token_type":"bearer","access_token":"ey.x.y","expires_in":{huge}}}"#),
        ))
        .await);
        assert!(message.contains("out of range"), "{message}");
    }

    let message = bad(error_for(http_response(
        "500 Internal Server Error",
        "text/plain",
        "upstream failed",
    ))
    .await);
    assert!(
        message.contains("500") && message.contains("without an OAuth 2.0 error body"),
        "{message}"
    );
    let message = bad(error_for(http_response(
        "404 Not Found",
        "application/json",
        r#"{"type":"https://errors-api.cloud.com/common/notFound","detail":"Not found","parameters":[]}"#,
    ))
    .await);
    assert!(message.contains("404"), "{message}");

    match error_for(http_response(
        "401 Unauthorized",
        "application/json",
        r#"{"error":"invalid_client","error_description":"Invalid client id or client secret."}"#,
    ))
    .await
    {
        ClientError::Refused { status, body } => {
            assert_eq!((status, body.error.as_str()), (401, "invalid_client"));
        }
        other => panic!("Refused, not {other:?}"),
    }

    // An answer cut short is a failed request.
    let cut = error_for("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"tok".to_owned()).await;
    assert!(matches!(cut, ClientError::Http(_)), "{cut:?}");
    let nothing = error_for(String::new()).await;
    assert!(matches!(nothing, ClientError::Http(_)), "{nothing:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_server_is_a_request_error() {
    // Port 0 is never listened on: the connection is refused.
    let source = TokenSource::new("http://127.0.0.1:0", "root", "id", "secret");
    match source.token().await {
        Err(ClientError::Http(e)) => assert!(e.is_connect(), "{e}"),
        other => panic!("a connection error, not {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expires_in_may_be_a_string_or_a_number() {
    for body in [
        TOKEN,
        r#"{"token_type":"Bearer","access_token":"ey.x.y","expires_in":3600,"scope":"all"}"#,
    ] {
        let peer = Peer::start(vec![http_response("200 OK", "application/json", body)]).await;
        let source = TokenSource::new(&peer.base, "root", "id", "secret");
        assert_eq!(source.token().await.expect("token"), "ey.x.y", "{body}");
        assert_eq!(
            source.token().await.expect("token"),
            "ey.x.y",
            "{body}: cached"
        );
        assert_eq!(peer.requests().len(), 1, "{body}: one request");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttled_token_requests_wait_as_asked_then_succeed() {
    let ok = http_response("200 OK", "application/json", TOKEN);
    // cloudtrust's throttled token answer: RFC 6749 body, common error members, Retry-After.
    let by_header = http_response_with(
        "429 Too Many Requests",
        "Retry-After: 1\r\n",
        "application/json",
        r#"{"error":"slow_down","error_description":"Rate limit exceeded"}"#,
    );
    let by_body = http_response(
        "503 Service Unavailable",
        "application/json",
        &throttled_body(1),
    );
    for throttled in [by_header, by_body] {
        let peer = Peer::start(vec![throttled.clone(), ok.clone()]).await;
        let source = TokenSource::new(&peer.base, "root", "id", "secret");
        let started = Instant::now();
        assert_eq!(source.token().await.expect("token"), "ey.x.y");
        let waited = started.elapsed();
        assert!(waited >= Duration::from_secs(1), "waited {waited:?}");
        assert!(waited < Duration::from_secs(5), "waited {waited:?}");
        assert_eq!(peer.requests().len(), 2);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_gives_up_after_the_attempts_and_the_wait_allowed() {
    let busy = http_response_with(
        "503 Service Unavailable",
        "Retry-After: 1\r\n",
        "application/json",
        &throttled_body(1),
    );
    let peer = Peer::start(vec![busy]).await;
    let source = TokenSource::builder("root", "id", "secret")
        .base_url(&peer.base)
        .retry(Retry {
            max_attempts: 3,
            max_wait: Duration::from_secs(10),
        })
        .build();
    let started = Instant::now();
    let error = source.token().await.expect_err("still busy");
    assert!(
        matches!(&error, ClientError::BadResponse(m) if m.contains("503")),
        "{error:?}"
    );
    assert_eq!(peer.requests().len(), 3, "three attempts");
    assert!(started.elapsed() >= Duration::from_secs(2));

    // A delay longer than the wait allowed is not waited for at all.
    let peer = Peer::start(vec![http_response_with(
        "429 Too Many Requests",
        "Retry-After: 120\r\n",
        "application/json",
        r#"{"error":"slow_down"}"#,
    )])
    .await;
    let source = TokenSource::new(&peer.base, "root", "id", "secret");
    let started = Instant::now();
    let error = source.token().await.expect_err("throttled");
    assert!(
        matches!(&error, ClientError::Refused { status: 429, body } if body.error == "slow_down"),
        "{error:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(peer.requests().len(), 1);

    let peer = Peer::start(vec![http_response_with(
        "429 Too Many Requests",
        "Retry-After: 1\r\n",
        "application/json",
        r#"{"error":"slow_down"}"#,
    )])
    .await;
    let source = TokenSource::builder("root", "id", "secret")
        .base_url(&peer.base)
        .retry(Retry::NEVER)
        .build();
    assert!(source.token().await.is_err());
    assert_eq!(peer.requests().len(), 1, "never retried");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttled_api_calls_wait_too() {
    let me = r#"{"UserId":"u1","DisplayName":"Owner","ExpiryTime":"2030-01-01T00:00:00Z","VerifiedEmail":"owner@acme.example","IsCspCustomer":false,"Customers":[{"Id":"acme","Name":"Acme","Sites":[]}]}"#;
    let peer = Peer::start(vec![
        http_response("200 OK", "application/json", TOKEN),
        http_response(
            "429 Too Many Requests",
            "application/json",
            &throttled_body(1),
        ),
        http_response("200 OK", "application/json", me),
    ])
    .await;
    let api = ApiClient::new(
        TokenSource::builder("acme", "id", "secret")
            .base_url(&peer.base)
            .build(),
    );
    let started = Instant::now();
    assert_eq!(api.me().await.expect("me").display_name, "Owner");
    assert!(started.elapsed() >= Duration::from_secs(1));
    let requests = peer.requests();
    assert_eq!(requests.len(), 3);
    for request in &requests[1..] {
        assert!(request.starts_with("GET /cvadapis/me "), "{request}");
        assert!(
            request.contains("authorization: CwsAuth Bearer=ey.x.y\r\n"),
            "{request}"
        );
        assert!(request.contains("citrix-customerid: acme\r\n"), "{request}");
        assert!(
            request.contains("accept: application/json\r\n"),
            "{request}"
        );
    }
}
