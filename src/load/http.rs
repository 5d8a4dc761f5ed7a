//! One keep-alive HTTP/1.1 connection per worker, on hyper's connection-level client, over TCP or TLS
//! ([`Dialer`]: the run's one rustls config, so a reconnecting worker resumes its TLS session).
//!
//! hyper's `client::conn::http1` is used directly rather than a pooled client: each worker owns exactly one
//! connection, so there is no pool lock, no per-request pool lookup and no hidden retry; the request headers are
//! built from values prepared once (`HeaderValue` clones are reference counts). Errors become [`Outcome`]s here,
//! by kind, never by message text.

use std::error::Error as StdError;
use std::io;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST, HeaderValue};
use hyper::{Method, Request, Uri};
use hyper_util::rt::TokioIo;

use crate::api::Endpoint;
use crate::record::Outcome;
use crate::tls::Dialer;

use super::AuthFault;
use super::plan::LoadPlan;
use super::requests::classify_response;

/// What every request to the target shares, prepared once.
#[derive(Debug)]
pub struct Target {
    dialer: Dialer,
    host: HeaderValue,
    auth: Option<HeaderValue>,
    fault: AuthFault,
    uris: [Uri; Endpoint::ALL.len()],
}

impl Target {
    pub fn new(plan: &LoadPlan) -> anyhow::Result<Self> {
        let url = plan.url()?;
        let mut dialer = Dialer::new(&url, plan.tls.as_ref())?;
        if let Some(via) = plan.via {
            dialer = dialer.via(via);
        }
        let host = HeaderValue::from_str(&url.authority())?;
        let auth = match &plan.token {
            Some(t) => {
                let mut v = HeaderValue::from_str(&format!("Bearer {}", t.expose()))
                    .map_err(|_| anyhow::anyhow!("the token contains characters a header cannot carry"))?;
                v.set_sensitive(true);
                Some(v)
            }
            None => None,
        };
        let uris = Endpoint::ALL.map(|e| Uri::from_static(e.path()));
        Ok(Self { dialer, host, auth, fault: plan.auth_fault.clone(), uris })
    }

    fn request(&self, endpoint: Endpoint, body: Bytes) -> Request<Full<Bytes>> {
        let mut req = Request::new(Full::new(body));
        *req.uri_mut() = self.uris[endpoint.index()].clone();
        if endpoint.is_post() {
            *req.method_mut() = Method::POST;
        }
        let h = req.headers_mut();
        h.insert(HOST, self.host.clone());
        if let Some(a) = self.fault.pick().or_else(|| self.auth.clone()) {
            h.insert(AUTHORIZATION, a);
        }
        if endpoint.is_post() {
            h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        req
    }
}

/// A worker's connection: opened on first use, reused while the server keeps it alive, reopened after any error.
pub struct Client {
    target: Arc<Target>,
    conn: Option<SendRequest<Full<Bytes>>>,
    /// Reused across requests for bodies that arrive in more than one frame.
    buf: Vec<u8>,
}

impl Client {
    pub fn new(target: Arc<Target>) -> Self {
        Self { target, conn: None, buf: Vec::new() }
    }

    /// Forget the connection (after a timeout its state is unknown).
    pub fn reset(&mut self) {
        self.conn = None;
    }

    /// One request, the whole body read. The caller bounds it with the request timeout.
    pub async fn exchange(&mut self, endpoint: Endpoint, body: Bytes) -> Outcome {
        let outcome = self.try_exchange(endpoint, body).await;
        if outcome.is_unanswered() {
            self.conn = None;
        }
        outcome
    }

    async fn try_exchange(&mut self, endpoint: Endpoint, body: Bytes) -> Outcome {
        let mut fresh = false;
        let reusable = match self.conn.as_mut() {
            Some(c) => c.ready().await.is_ok(),
            None => false,
        };
        if !reusable {
            match self.connect().await {
                Ok(c) => (self.conn, fresh) = (Some(c), true),
                Err(o) => return o,
            }
        }
        let request = self.target.request(endpoint, body.clone());
        let Some(conn) = self.conn.as_mut() else { return Outcome::OtherError };
        let response = match conn.send_request(request).await {
            Ok(r) => r,
            // The server closed an idle kept-alive connection before our request went out: not an answer from
            // the service, so try once on a new connection.
            Err(e) if e.is_canceled() && !fresh => match self.connect().await {
                Ok(mut c) => match c.send_request(self.target.request(endpoint, body)).await {
                    Ok(r) => {
                        self.conn = Some(c);
                        r
                    }
                    Err(e) => return unanswered(&e, true),
                },
                Err(o) => return o,
            },
            Err(e) => return unanswered(&e, fresh),
        };
        let status = response.status().as_u16();
        let mut body = response.into_body();
        let mut single: Option<Bytes> = None;
        self.buf.clear();
        while let Some(frame) = body.frame().await {
            let data = match frame.map(|f| f.into_data()) {
                Ok(Ok(d)) => d,
                Ok(Err(_trailers)) => continue,
                Err(e) => return classify_error(&e),
            };
            match single.take() {
                None if self.buf.is_empty() => single = Some(data),
                first => {
                    self.buf.extend_from_slice(first.as_deref().unwrap_or_default());
                    self.buf.extend_from_slice(&data);
                }
            }
        }
        classify_response(status, single.as_deref().unwrap_or(&self.buf))
    }

    async fn connect(&self) -> Result<SendRequest<Full<Bytes>>, Outcome> {
        let stream = self.target.dialer.dial().await.map_err(|e| classify_error(&e))?;
        let (sender, conn) = http1::handshake(TokioIo::new(stream)).await.map_err(|e| classify_error(&e))?;
        // The connection task ends when the sender is dropped or the server closes.
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(sender)
    }
}

/// A request that got no response. On a connection opened for it, a server that accepts and hangs up (the bridge's
/// 101st connection) shows as one of three things depending on who wins the race: a clean EOF, a reset (the kernel
/// answers unread request bytes with RST instead of FIN), or hyper cancelling the request because the connection
/// closed before it was written. All three are the same fact, "closed without response".
fn unanswered(e: &hyper::Error, fresh: bool) -> Outcome {
    match classify_error(e) {
        Outcome::Reset if fresh => Outcome::ClosedWithoutResponse,
        Outcome::OtherError if e.is_canceled() => Outcome::ClosedWithoutResponse,
        o => o,
    }
}

/// Map any error chain (hyper's, reqwest's, io's) to an outcome by the kinds inside it.
pub fn classify_error(e: &(dyn StdError + 'static)) -> Outcome {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if let Some(h) = err.downcast_ref::<hyper::Error>() {
            if h.is_incomplete_message() {
                return Outcome::ClosedWithoutResponse;
            }
            if h.is_timeout() {
                return Outcome::Timeout;
            }
        }
        if let Some(io) = err.downcast_ref::<io::Error>() {
            use io::ErrorKind::*;
            match io.kind() {
                ConnectionRefused => return Outcome::ConnectRefused,
                ConnectionReset | ConnectionAborted | BrokenPipe => return Outcome::Reset,
                TimedOut => return Outcome::Timeout,
                UnexpectedEof => return Outcome::ClosedWithoutResponse,
                _ => {}
            }
        }
        cur = err.source();
    }
    Outcome::OtherError
}
