//! The bridge's HTTP server: a hand-rolled accept loop (for the connection cap) in front of hyper's HTTP/1.1.
//!
//! As in GodotBridge: at most 100 client connections, one more is accepted and closed at once with no response; a
//! body over 10 MiB closes the connection with no response (hyper closes without writing when the service fails);
//! no idle or header timeout (VULN-016), connections stay until the peer leaves. `/__sim/` control routes are
//! answered here, off the frame: they are not API traffic and must work however slow the frames are.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE};
use hyper::{Method, Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use tokio_rustls::TlsAcceptor;

use super::knobs::{KnobSettings, Knobs};
use super::main_loop::Job;
use super::metrics::HttpMetrics;
use super::routes::{ApiRequest, Reply, error};
use super::serve::handshake;

pub const MAX_CLIENTS: usize = 100;
pub const MAX_BODY_BYTES: usize = 10 * 1024 * 1024;
/// The route prefix of the simulator's own controls (`knobs`); the real API never uses it, and these routes need no
/// token and take no frame, so the harness can set and roll back a knob however broken the API is.
pub const CONTROL_PREFIX: &str = "/__sim/";

#[derive(Debug, thiserror::Error)]
enum Close {
    #[error("request body over {MAX_BODY_BYTES} bytes")]
    TooLarge,
    #[error("main loop stopped")]
    Stopped,
}

/// Accept and serve clients until the listener fails.
pub async fn serve(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    frames: mpsc::UnboundedSender<Job>,
    knobs: Arc<Knobs>,
) {
    let open = Arc::new(AtomicUsize::new(0));
    let metrics = Arc::new(HttpMetrics::new());
    loop {
        let stream = match listener.accept().await {
            Ok((s, _)) => s,
            Err(e) => {
                // EMFILE and friends: back off instead of spinning; the real server would just miss a poll.
                tracing::warn!("http accept: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        if open.load(Ordering::Relaxed) >= MAX_CLIENTS {
            drop(stream);
            continue;
        }
        open.fetch_add(1, Ordering::Relaxed);
        let slot = Slot(open.clone());
        let (frames, knobs, tls, metrics) = (frames.clone(), knobs.clone(), tls.clone(), metrics.clone());
        tokio::spawn(async move {
            let _slot = slot;
            let stream = match handshake(stream, tls.as_ref()).await {
                Ok(s) => s,
                Err(e) => return tracing::debug!("https handshake: {e}"),
            };
            let service =
                hyper::service::service_fn(move |req| handle(req, frames.clone(), knobs.clone(), metrics.clone()));
            let conn = hyper::server::conn::http1::Builder::new()
                .header_read_timeout(None)
                .serve_connection(TokioIo::new(stream), service);
            if let Err(e) = conn.await {
                tracing::debug!("http connection: {e}");
            }
        });
    }
}

/// One connection's place under the cap, given back when the connection task ends.
struct Slot(Arc<AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

async fn handle(
    req: Request<Incoming>,
    frames: mpsc::UnboundedSender<Job>,
    knobs: Arc<Knobs>,
    metrics: Arc<HttpMetrics>,
) -> Result<Response<Full<Bytes>>, Close> {
    let arrived = std::time::Instant::now();
    let declared = req.headers().get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return Err(Close::TooLarge);
    }
    let (parts, body) = req.into_parts();
    let body = Limited::new(body, MAX_BODY_BYTES).collect().await.map_err(|_| Close::TooLarge)?.to_bytes();
    let path = parts.uri.path().to_string();
    if path.starts_with(CONTROL_PREFIX) {
        return Ok(respond(control(&parts.method, &path, &body, &knobs)));
    }
    if path == "/metrics" && parts.method == Method::GET {
        let mut resp = Response::new(Full::new(Bytes::from(metrics.encode())));
        resp.headers_mut().insert(
            CONTENT_TYPE,
            hyper::header::HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
        );
        return Ok(resp);
    }
    let authorization = parts.headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()).map(str::to_string);
    let (tx, rx) = oneshot::channel();
    let request = ApiRequest { method: parts.method, path: path.clone(), authorization, body };
    frames.send(Job { request, reply: tx }).map_err(|_| Close::Stopped)?;
    let reply = rx.await.map_err(|_| Close::Stopped)?;
    metrics.observe(&path, reply.status, arrived.elapsed().as_secs_f64());
    Ok(respond(reply))
}

fn respond(reply: Reply) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from(reply.body.to_string())));
    *resp.status_mut() = hyper::StatusCode::from_u16(reply.status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    resp.headers_mut().insert(CONTENT_TYPE, hyper::header::HeaderValue::from_static("application/json"));
    resp
}

/// `GET /__sim/knobs` reads the fault knobs; `POST` with some of their fields sets them.
fn control(method: &Method, path: &str, body: &[u8], knobs: &Knobs) -> Reply {
    if path != "/__sim/knobs" {
        return error(404, format!("Endpoint not found: {path}"));
    }
    let settings = match *method {
        Method::GET => return Reply { status: 200, body: serde_json::json!(knobs.settings()) },
        Method::POST => serde_json::from_slice::<KnobSettings>(body),
        _ => return error(405, format!("Method {method} not allowed for {path}")),
    };
    match settings.map_err(anyhow::Error::from).and_then(|s| knobs.apply(&s)) {
        Ok(()) => Reply { status: 200, body: serde_json::json!(knobs.settings()) },
        Err(e) => error(400, format!("Invalid knobs: {e}")),
    }
}
