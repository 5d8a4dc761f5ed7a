//! The connections every client opens: ALPN `http/1.1`, and a reconnect resumes the TLS session instead of a full
//! handshake (the run's one config holds one session cache).

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use rustls::HandshakeKind;
use spacetime_drill::tls::{Dialer, Stream, TlsOptions, client_config};
use spacetime_drill::url::{ServiceUrl, UrlRole};
use tokio_util::either::Either;

use super::{Pki, https, tls_sim};

fn session(stream: &Stream) -> &rustls::ClientConnection {
    match stream {
        Either::Right(tls) => tls.get_ref().1,
        Either::Left(_) => panic!("an https URL gives a TLS stream"),
    }
}

#[tokio::test]
async fn connections_speak_http_1_1_and_a_reconnect_resumes_the_session() {
    let pki = Pki::new();
    let sim = tls_sim(&pki, "server", &[]);
    let config = client_config(&TlsOptions { ca_file: Some(pki.path("ca.pem")), ..Default::default() }).unwrap();
    let url = ServiceUrl::parse(&https(&sim, "127.0.0.1"), UrlRole::Api).unwrap();
    let dialer = Dialer::new(&url, Some(&config)).unwrap();

    let first = dialer.dial().await.unwrap();
    assert_eq!(session(&first).alpn_protocol(), Some(&b"http/1.1"[..]));
    assert_eq!(session(&first).handshake_kind(), Some(HandshakeKind::Full));
    // One request read to the end: TLS 1.3 session tickets arrive after the handshake, with the first reads.
    let (mut sender, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(first)).await.unwrap();
    let conn = tokio::spawn(conn);
    let req = hyper::Request::get("/status").header("host", url.authority()).body(Empty::<Bytes>::new()).unwrap();
    let resp = sender.send_request(req).await.unwrap();
    assert_eq!(resp.status(), 200);
    resp.into_body().collect().await.unwrap();
    drop(sender);
    let _ = conn.await;

    let second = dialer.dial().await.unwrap();
    assert_eq!(session(&second).handshake_kind(), Some(HandshakeKind::Resumed), "the reconnect resumed");
}
