//! The link against the real simulated servers (and one deliberately broken peer) on 127.0.0.1 sockets.

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio_util::codec::Framed;

use super::*;
use crate::framing::{ContentLengthCodec, to_body};
use crate::{dap, lsp};

fn fast() -> Timings {
    Timings {
        connect_timeout: Duration::from_secs(1),
        handshake_timeout: Duration::from_secs(1),
        health_interval: Duration::from_millis(200),
        health_timeout: Duration::from_millis(200),
        request_timeout: Duration::from_secs(2),
        backoff: [30, 60, 90, 120, 150].map(Duration::from_millis).to_vec(),
    }
}

/// Poll the status until `pred` holds (bounded by `within`); returns the states seen on the way.
async fn wait_for(link: &Link, within: Duration, pred: impl Fn(&LinkStatus) -> bool) -> Vec<ServiceState> {
    let deadline = Instant::now() + within;
    let mut seen = Vec::new();
    loop {
        let status = link.status();
        if seen.last() != Some(&status.state) {
            seen.push(status.state);
        }
        if pred(&status) {
            return seen;
        }
        assert!(Instant::now() < deadline, "condition not reached in {within:?}; states seen {seen:?}, now {status:?}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn connected(s: &LinkStatus) -> bool {
    s.state == ServiceState::Connected
}

async fn evaluate(link: &Link, expression: &str) -> Result<Value, LinkError> {
    link.request("evaluate", json!({"expression": expression, "frameId": 0, "context": "watch"})).await
}

#[tokio::test]
async fn connects_to_both_servers_and_forwards_requests() {
    let (dap_addr, dap_server) = dap::tests::start().await;
    let (lsp_addr, lsp_server, _project) = lsp::tests::start().await;
    let dap = Link::spawn_with(Peer::Dap, dap_addr, fast());
    let lsp = Link::spawn_with(Peer::Lsp, lsp_addr, fast());
    wait_for(&dap, Duration::from_secs(3), connected).await;
    wait_for(&lsp, Duration::from_secs(3), connected).await;
    let status = dap.status();
    assert_eq!((status.port, status.retry_count, status.last_error), (dap_addr.port(), 0, None));
    assert!(status.last_activity > 0.0);

    assert_eq!(evaluate(&dap, "player.health").await.unwrap()["result"], "100");
    match evaluate(&dap, "player.armor").await {
        Err(LinkError::Failed(message)) => assert!(message.contains("player.armor"), "{message}"),
        other => panic!("expected a DAP error, got {other:?}"),
    }
    let params = json!({"textDocument": {"uri": "file:///project/player.gd"}, "position": {"line": 1, "character": 0}});
    let result = lsp.request("textDocument/completion", params).await.unwrap();
    let labels: Vec<_> = result["items"].as_array().unwrap().iter().map(|i| i["label"].clone()).collect();
    assert!(labels.contains(&json!("signal")) && labels.contains(&json!("take_damage")), "{labels:?}");
    match lsp.request("no/such/method", json!({})).await {
        Err(LinkError::Failed(message)) => assert!(message.contains("no/such/method"), "{message}"),
        other => panic!("expected MethodNotFound, got {other:?}"),
    }

    // Several health checks pass while idle.
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(connected(&dap.status()) && connected(&lsp.status()));
    dap_server.abort();
    lsp_server.abort();
}

#[tokio::test]
async fn two_hundred_concurrent_requests_share_one_connection() {
    let (addr, server) = dap::tests::start().await;
    let link = Link::spawn_with(Peer::Dap, addr, Timings::default());
    wait_for(&link, Duration::from_secs(3), connected).await;
    let answers = futures_util::future::join_all((0..200).map(|i| {
        let link = link.clone();
        async move { evaluate(&link, &format!("player.health + {i}")).await }
    }))
    .await;
    for (i, answer) in answers.into_iter().enumerate() {
        assert_eq!(answer.unwrap()["result"], (100 + i).to_string());
    }
    server.abort();
}

#[tokio::test]
async fn a_killed_server_is_noticed_and_connect_recovers_once_it_is_back() {
    let (addr, server) = dap::tests::start().await;
    // The real timings: the 5 s health check must not be what notices a killed peer.
    let link = Link::spawn(Peer::Dap, addr);
    wait_for(&link, Duration::from_secs(3), connected).await;

    server.abort();
    let _ = server.await;
    wait_for(&link, Duration::from_secs(6), |s| !connected(s)).await;
    let quick = tokio::time::timeout(Duration::from_millis(500), evaluate(&link, "player.health")).await;
    assert!(matches!(quick, Ok(Err(LinkError::NotConnected))), "{quick:?}");
    let status = link.status();
    assert!(status.last_error.is_some() && status.retry_count >= 1, "{status:?}");

    let listener = TcpListener::bind(addr).await.unwrap();
    let server = tokio::spawn(dap::serve(listener, ".".into()));
    link.connect();
    wait_for(&link, Duration::from_secs(3), connected).await;
    assert_eq!(evaluate(&link, "player.jetpack_fuel").await.unwrap()["type"], "float");
    server.abort();
}

#[tokio::test]
async fn nothing_listening_backs_off_then_stays_in_error_until_connect() {
    let addr = TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap();
    let link = Link::spawn_with(Peer::Lsp, addr, fast());
    let seen = wait_for(&link, Duration::from_secs(5), |s| s.state == ServiceState::Error).await;
    assert!(seen.contains(&ServiceState::Reconnecting), "{seen:?}");
    let status = link.status();
    assert_eq!((status.retry_count, status.last_error.as_deref()), (5, Some("Connection refused")));
    assert!(matches!(link.request("textDocument/completion", json!({})).await, Err(LinkError::NotConnected)));

    let listener = TcpListener::bind(addr).await.unwrap();
    let server = tokio::spawn(lsp::serve(listener, ".".into()));
    // Error is terminal: with the peer back, nothing reconnects on its own (several backoff lengths pass).
    for _ in 0..10 {
        tokio::time::sleep(Duration::from_millis(30)).await;
        assert_eq!(link.status().state, ServiceState::Error);
    }
    link.connect();
    wait_for(&link, Duration::from_secs(3), connected).await;
    assert_eq!((link.status().retry_count, link.status().last_error), (0, None));
    server.abort();
}

#[tokio::test]
async fn disconnect_parks_the_link_until_connect() {
    let (addr, server) = dap::tests::start().await;
    let link = Link::spawn_with(Peer::Dap, addr, fast());
    wait_for(&link, Duration::from_secs(3), connected).await;
    link.disconnect();
    assert_eq!(link.status().state, ServiceState::Disconnected, "visible at once");
    assert!(matches!(evaluate(&link, "player.health").await, Err(LinkError::NotConnected)));
    for _ in 0..10 {
        tokio::time::sleep(Duration::from_millis(30)).await;
        assert_eq!(link.status().state, ServiceState::Disconnected);
    }
    link.connect();
    wait_for(&link, Duration::from_secs(3), connected).await;
    assert!(evaluate(&link, "player.health").await.is_ok());
    server.abort();
}

/// A DAP peer that completes the handshake (answering with a float `request_seq`, as GDScript would) and then
/// never answers again: a hung debugger.
async fn hung_peer() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let mut framed = Framed::new(stream, ContentLengthCodec::default());
        let first: Value = serde_json::from_slice(&framed.next().await.unwrap().unwrap()).unwrap();
        assert_eq!(first["command"], "initialize");
        let seq = first["seq"].as_f64().unwrap();
        let response =
            json!({"seq": 1.0, "type": "response", "request_seq": seq, "success": true, "command": "initialize"});
        framed.send(to_body(&response).unwrap()).await.unwrap();
        framed.send(to_body(&json!({"seq": 2.0, "type": "event", "event": "initialized"})).unwrap()).await.unwrap();
        // Keep reading (and ignoring) until the link hangs up.
        while let Some(Ok(_)) = framed.next().await {}
    });
    addr
}

#[tokio::test]
async fn a_hung_peer_times_requests_out_and_fails_its_health_check() {
    // The request times out well before the first health check can fail and close the connection.
    let timings = Timings {
        request_timeout: Duration::from_millis(200),
        health_interval: Duration::from_millis(500),
        health_timeout: Duration::from_millis(300),
        ..fast()
    };
    let link = Link::spawn_with(Peer::Dap, hung_peer().await, timings);
    wait_for(&link, Duration::from_secs(3), connected).await;
    assert!(matches!(evaluate(&link, "player.health").await, Err(LinkError::Timeout)));
    wait_for(&link, Duration::from_secs(3), |s| !connected(s)).await;
    assert_eq!(link.status().last_error.as_deref(), Some("Health check timed out"));
}
