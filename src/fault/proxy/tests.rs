//! The proxy against real sockets on 127.0.0.1: each toxic's effect, on open and new connections, and its removal.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{Instant, timeout};

use super::{NetworkSpec, Proxy, Toxics};

/// Longest any single step may take before the test fails instead of hanging.
const PATIENCE: Duration = Duration::from_secs(5);

/// An upstream that sends `greeting` on each connection, then closes (`close_after`) or echoes until EOF.
async fn upstream(greeting: &'static [u8], close_after: bool) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            tokio::spawn(async move {
                conn.write_all(greeting).await?;
                if !close_after {
                    let (mut r, mut w) = conn.split();
                    tokio::io::copy(&mut r, &mut w).await?;
                }
                io::Result::Ok(())
            });
        }
    });
    addr
}

async fn proxy_to(upstream: SocketAddr) -> Proxy {
    Proxy::start("127.0.0.1:0".parse().unwrap(), upstream).await.unwrap()
}

fn toxics(table: &str) -> Toxics {
    let spec: NetworkSpec = toml::from_str(table).unwrap();
    Toxics::try_from(&spec).unwrap()
}

async fn connect(proxy: &Proxy) -> TcpStream {
    let stream = TcpStream::connect(proxy.local_addr()).await.unwrap();
    stream.set_nodelay(true).unwrap();
    stream
}

/// Send four bytes through an echo and time their return.
async fn round_trip(stream: &mut TcpStream) -> Duration {
    let start = Instant::now();
    stream.write_all(b"ping").await.unwrap();
    let mut back = [0; 4];
    timeout(PATIENCE, stream.read_exact(&mut back)).await.expect("echo within patience").unwrap();
    assert_eq!(&back, b"ping");
    start.elapsed()
}

/// The next read's result, which must come within [`PATIENCE`].
async fn next_read(stream: &mut TcpStream) -> io::Result<usize> {
    let mut buf = [0; 64];
    timeout(PATIENCE, stream.read(&mut buf)).await.expect("read result within patience")
}

#[tokio::test]
async fn pass_through_carries_a_megabyte_intact_both_ways() {
    let proxy = proxy_to(upstream(b"", false).await).await;
    let (mut r, mut w) = connect(&proxy).await.into_split();
    let sent: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
    let expected = sent.clone();
    let writer = tokio::spawn(async move { w.write_all(&sent).await });
    let mut back = vec![0; expected.len()];
    timeout(PATIENCE, r.read_exact(&mut back)).await.unwrap().unwrap();
    writer.await.unwrap().unwrap();
    assert!(back == expected, "bytes changed on the way");
    proxy.shutdown().await;
}

#[tokio::test]
async fn unreachable_upstream_resets_the_client() {
    let nothing = TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap();
    let proxy = proxy_to(nothing).await;
    let mut client = connect(&proxy).await;
    let err = next_read(&mut client).await.expect_err("no upstream, no data");
    assert_eq!(err.kind(), io::ErrorKind::ConnectionReset);
}

#[tokio::test]
async fn latency_reaches_an_open_connection_and_clear_forwards_held_bytes() {
    let proxy = proxy_to(upstream(b"", false).await).await;
    let mut client = connect(&proxy).await;
    round_trip(&mut client).await;

    proxy.set(toxics("direction = \"upstream\"\nlatency = \"100ms\""));
    let mut trips = Vec::new();
    for _ in 0..3 {
        trips.push(round_trip(&mut client).await);
    }
    assert!(trips.iter().all(|t| *t >= Duration::from_millis(100)), "{trips:?}");
    assert!(trips.iter().min().unwrap() < &Duration::from_millis(150), "{trips:?}");

    // Held under a long latency when the toxic is removed: the bytes must come through, and soon.
    proxy.set(toxics("direction = \"upstream\"\nlatency = \"2s\""));
    let start = Instant::now();
    client.write_all(b"held").await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    proxy.clear();
    let mut back = [0; 4];
    timeout(PATIENCE, client.read_exact(&mut back)).await.unwrap().unwrap();
    assert_eq!(&back, b"held");
    assert!(start.elapsed() < Duration::from_secs(1), "held bytes waited out the old latency");
    assert!(round_trip(&mut client).await < Duration::from_millis(100));
}

#[tokio::test]
async fn jitter_spreads_delays_within_its_band() {
    let proxy = proxy_to(upstream(b"", false).await).await;
    proxy.set(toxics("direction = \"upstream\"\nlatency = \"60ms\"\njitter = \"40ms\""));
    let mut client = connect(&proxy).await;
    let mut trips = Vec::new();
    for _ in 0..10 {
        trips.push(round_trip(&mut client).await);
    }
    assert!(trips.iter().all(|t| *t >= Duration::from_millis(20)), "{trips:?}");
    // Upper bound with slack for a busy machine; the spread shows the delays are drawn, not fixed.
    assert!(trips.iter().all(|t| *t < Duration::from_millis(250)), "{trips:?}");
    let spread = *trips.iter().max().unwrap() - *trips.iter().min().unwrap();
    assert!(spread >= Duration::from_millis(5), "{trips:?}");
}

#[tokio::test]
async fn bandwidth_caps_throughput_without_losing_bytes() {
    let proxy = proxy_to(upstream(b"", false).await).await;
    // 50 KB at 1000 kbit/s is 0.4 s (the brief's 100 kbit/s figure scaled tenfold to keep the test short).
    proxy.set(toxics("direction = \"upstream\"\nbandwidth_kbps = 1000"));
    let (mut r, mut w) = connect(&proxy).await.into_split();
    let sent: Vec<u8> = (0..50_000u32).map(|i| (i % 253) as u8).collect();
    let expected = sent.clone();
    let start = Instant::now();
    let writer = tokio::spawn(async move { w.write_all(&sent).await });
    let mut back = vec![0; expected.len()];
    timeout(PATIENCE, r.read_exact(&mut back)).await.unwrap().unwrap();
    assert!(start.elapsed() >= Duration::from_millis(300), "took {:?}", start.elapsed());
    writer.await.unwrap().unwrap();
    assert!(back == expected, "bytes changed on the way");
}

#[tokio::test]
async fn reset_kills_open_and_new_connections_until_cleared() {
    let proxy = proxy_to(upstream(b"", false).await).await;
    let mut open = connect(&proxy).await;
    round_trip(&mut open).await;

    proxy.set(toxics("reset = true"));
    let err = next_read(&mut open).await.expect_err("open connection reset");
    assert_eq!(err.kind(), io::ErrorKind::ConnectionReset);
    let mut new = connect(&proxy).await;
    let err = next_read(&mut new).await.expect_err("new connection reset");
    assert_eq!(err.kind(), io::ErrorKind::ConnectionReset);

    proxy.clear();
    round_trip(&mut connect(&proxy).await).await;
}

#[tokio::test]
async fn timeout_swallows_data_and_holds_connections_open() {
    let proxy = proxy_to(upstream(b"", false).await).await;
    let mut idle = connect(&proxy).await;
    round_trip(&mut idle).await;
    let mut talker = connect(&proxy).await;
    round_trip(&mut talker).await;

    proxy.set(toxics("timeout = true"));
    let mut during = connect(&proxy).await;
    for stream in [&mut talker, &mut during] {
        stream.write_all(b"ping").await.unwrap();
        let mut buf = [0; 4];
        let read = timeout(Duration::from_millis(300), stream.read(&mut buf)).await;
        assert!(read.is_err(), "a blackholed read must neither return data nor close: {read:?}");
    }

    proxy.clear();
    // Lost bytes leave a hole in the stream: those connections are closed rather than carried on.
    assert_eq!(next_read(&mut talker).await.unwrap(), 0);
    assert_eq!(next_read(&mut during).await.unwrap(), 0);
    // A connection that lost nothing carries on, and new ones work.
    round_trip(&mut idle).await;
    round_trip(&mut connect(&proxy).await).await;
}

#[tokio::test]
async fn slow_close_delays_the_eof() {
    let proxy = proxy_to(upstream(b"bye", true).await).await;
    proxy.set(toxics("direction = \"downstream\"\nslow_close = \"300ms\""));
    let start = Instant::now();
    let mut client = connect(&proxy).await;
    let mut greeting = [0; 3];
    timeout(PATIENCE, client.read_exact(&mut greeting)).await.unwrap().unwrap();
    assert_eq!(&greeting, b"bye");
    assert_eq!(next_read(&mut client).await.unwrap(), 0);
    assert!(start.elapsed() >= Duration::from_millis(300), "EOF after {:?}", start.elapsed());
}

#[tokio::test]
async fn upstream_latency_leaves_downstream_alone() {
    let proxy = proxy_to(upstream(b"hello", false).await).await;
    proxy.set(toxics("direction = \"upstream\"\nlatency = \"400ms\""));
    let start = Instant::now();
    let mut client = connect(&proxy).await;
    let mut greeting = [0; 5];
    timeout(PATIENCE, client.read_exact(&mut greeting)).await.unwrap().unwrap();
    assert!(start.elapsed() < Duration::from_millis(400), "downstream delayed: {:?}", start.elapsed());
    assert!(round_trip(&mut client).await >= Duration::from_millis(400));
}

#[tokio::test]
async fn shutdown_closes_connections_and_the_listener() {
    let proxy = proxy_to(upstream(b"", false).await).await;
    let addr = proxy.local_addr();
    let mut client = connect(&proxy).await;
    round_trip(&mut client).await;
    proxy.shutdown().await;
    assert!(matches!(next_read(&mut client).await, Ok(0) | Err(_)));
    assert!(TcpStream::connect(addr).await.is_err(), "listener still accepting");
}
