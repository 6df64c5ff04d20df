//! A node that stops: the request in hand is answered, idle kept-alive connections are
//! closed, new connections are refused, and the stop ends as soon as nothing is left.

use std::sync::Arc;
use std::time::{Duration, Instant};

use cloudtrust_server::{RunningServer, SystemClock};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::{Backend, TestDb, eventually, read_until_closed};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopping_node_answers_the_request_in_hand_and_takes_no_new_one() {
    let db = TestDb::create(Backend::Sqlite)
        .await
        .expect("SQLite always runs");
    let mut config = db.config();
    config.header_read_timeout = 30;
    config.body_read_timeout = 30;
    let node = RunningServer::start(config, Arc::new(SystemClock))
        .await
        .expect("starts");
    let addr = node.addr;

    // A connection kept alive after its answer.
    let mut idle = TcpStream::connect(addr).await.expect("connect");
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write");
    let mut first = [0u8; 1024];
    let n = idle.read(&mut first).await.expect("answer");
    assert!(first[..n].starts_with(b"HTTP/1.1 200"));

    // A request whose body is still on its way when the stop begins.
    let body = b"grant_type=client_credentials&client_id=nobody&client_secret=nothing";
    let (sent, rest) = body.split_at(20);
    let mut in_hand = TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "POST /cctrustoauth2/root/tokens/clients HTTP/1.1\r\nHost: x\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    in_hand.write_all(head.as_bytes()).await.expect("write");
    in_hand.write_all(sent).await.expect("write");
    tokio::time::sleep(Duration::from_millis(300)).await;

    let started = Instant::now();
    let stopping = tokio::spawn(node.stop());

    let closed = read_until_closed(&mut idle, Duration::from_secs(5)).await;
    assert_eq!(closed.as_deref(), Some(""), "the idle connection is closed");
    let refused = eventually(Duration::from_secs(5), || async {
        match TcpStream::connect(addr).await {
            Err(_) => true,
            Ok(mut late) => {
                let _ = late
                    .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                    .await;
                read_until_closed(&mut late, Duration::from_secs(2))
                    .await
                    .is_some_and(|answer| answer.is_empty())
            }
        }
    })
    .await;
    assert!(refused, "a new connection gets no answer");
    assert!(
        !stopping.is_finished(),
        "the stop waits for the request in hand"
    );

    in_hand.write_all(rest).await.expect("the rest of the body");
    let answer = read_until_closed(&mut in_hand, Duration::from_secs(5))
        .await
        .expect("answered, then closed");
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("invalid_client"), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("connection: close"),
        "{answer}"
    );

    let stopped = tokio::time::timeout(Duration::from_secs(5), stopping)
        .await
        .expect("the stop ends once the request is answered")
        .expect("the stop's task");
    assert!(stopped.is_ok(), "{stopped:?}");
    assert!(
        started.elapsed() < Duration::from_secs(9),
        "well within the grace period: {:?}",
        started.elapsed()
    );
}
