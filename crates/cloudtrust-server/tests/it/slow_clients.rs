//! Slow and silent clients, as an attacker holding connections open sends them: headers that
//! never end, connections that send nothing (over TLS: no handshake), kept-alive connections
//! left idle, bodies that trickle in, and more connections than the cap. Each is cut off or
//! refused within the configured time, over raw TCP.

use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::support::{Backend, Env, read_until_closed};

/// Connects to `addr` once per opening, sends it and no more: each connection is closed
/// unanswered within 5 s (with a 1 s `header_read_timeout`).
async fn assert_cut_off_unanswered(addr: std::net::SocketAddr, openings: &[&[u8]]) {
    for opening in openings {
        let started = Instant::now();
        let mut silent = TcpStream::connect(addr).await.expect("connect");
        silent.write_all(opening).await.expect("write");
        let closed = read_until_closed(&mut silent, Duration::from_secs(10)).await;
        assert_eq!(closed.as_deref(), Some(""), "closed, unanswered");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{opening:?} held for {:?}",
            started.elapsed()
        );
    }
}

async fn env_with(tweak: impl FnOnce(&mut cloudtrust_server::config::Config)) -> Env {
    Env::with(Backend::Sqlite, tweak)
        .await
        .expect("SQLite always runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_idle_connections_and_bodies_have_time_limits() {
    let env = env_with(|c| {
        c.header_read_timeout = 1;
        c.body_read_timeout = 1;
    })
    .await;
    let addr = env.server.addr;

    // Headers that never end.
    let started = Instant::now();
    let mut slow = TcpStream::connect(addr).await.expect("connect");
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .expect("write");
    let closed = read_until_closed(&mut slow, Duration::from_secs(10)).await;
    assert!(closed.is_some(), "an unfinished header is cut off");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );

    // A connection that sends nothing, and one that stops inside the first bytes, where
    // neither HTTP/1 nor HTTP/2 can yet be told apart: the first request has the same time.
    assert_cut_off_unanswered(addr, &[b"", b"P"]).await;

    // A kept-alive connection left idle after its answer.
    let mut idle = TcpStream::connect(addr).await.expect("connect");
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write");
    let started = Instant::now();
    let answered = read_until_closed(&mut idle, Duration::from_secs(10))
        .await
        .expect("closed when idle");
    assert!(answered.starts_with("HTTP/1.1 200"), "{answered}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "idle for {:?}",
        started.elapsed()
    );

    // A body that trickles in: 408 after the body deadline.
    let mut trickle = TcpStream::connect(addr).await.expect("connect");
    trickle
        .write_all(b"POST /cctrustoauth2/root/tokens/clients HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\ngrant_type")
        .await
        .expect("write");
    let started = Instant::now();
    let answer = read_until_closed(&mut trickle, Duration::from_secs(10))
        .await
        .expect("answered");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        answer.contains("requestTimeout"),
        "in the common error shape: {answer}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));

    // A complete body is untouched by the deadline.
    let ok = env
        .http
        .get(env.url("/healthz"))
        .send()
        .await
        .expect("healthz");
    assert_eq!(ok.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_cap_are_closed_at_once() {
    let env = env_with(|c| {
        c.max_connections = 2;
        c.header_read_timeout = 30;
    })
    .await;
    let addr = env.server.addr;
    let holders = [
        TcpStream::connect(addr).await.expect("connect"),
        TcpStream::connect(addr).await.expect("connect"),
    ];
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut third = TcpStream::connect(addr).await.expect("the kernel accepts");
    let _ = third
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await;
    let answer = read_until_closed(&mut third, Duration::from_secs(5))
        .await
        .expect("closed at once");
    assert!(
        !answer.contains("200"),
        "no answer beyond the cap: {answer}"
    );

    drop(holders);
    let served = crate::support::eventually(Duration::from_secs(5), || async {
        let Ok(mut again) = TcpStream::connect(addr).await else {
            return false;
        };
        if again
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .is_err()
        {
            return false;
        }
        read_until_closed(&mut again, Duration::from_secs(2))
            .await
            .is_some_and(|a| a.starts_with("HTTP/1.1 200"))
    })
    .await;
    assert!(served, "a place freed is a connection served");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_handshake_that_never_comes_is_cut_off() {
    let env = env_with(|c| {
        c.tls_dev = true;
        c.tls_listen = Some("127.0.0.1:0".parse().expect("addr"));
        c.header_read_timeout = 1;
    })
    .await;
    let tls_addr = env.server.tls_addr.expect("HTTPS is served");
    // Nothing at all, and the first bytes of a ClientHello record and no more.
    assert_cut_off_unanswered(tls_addr, &[b"", b"\x16\x03\x01\x02\x00"]).await;
}
