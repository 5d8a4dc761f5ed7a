//! Small HTTP servers with one known behaviour each, so the load engines' figures can be checked against truth.
//! Each runs on its own thread and runtime (the engine under test cannot slow it down) and stops on drop.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use parking_lot::Mutex;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone, Copy)]
pub enum Behavior {
    /// Answer 200 after exactly this long (a thread sleep: tokio's timer would round up to the next ms).
    Delay(Duration),
    /// Answer at once, except that every request arriving in `[from, to)` of each `period` (from server start) waits
    /// until `to`: the whole service freezes.
    Stall { period: Duration, from: Duration, to: Duration },
    /// Answer every request with this status and body.
    Fixed(u16, &'static str),
    /// Accept each connection and close it without reading or answering.
    AcceptClose,
}

/// What the server saw.
#[derive(Debug, Default)]
pub struct Seen {
    pub paths: HashMap<String, u64>,
    pub auth: Vec<Option<String>>,
    pub bodies: Vec<String>,
}

pub struct Server {
    pub addr: SocketAddr,
    pub seen: Arc<Mutex<Seen>>,
    stop: CancellationToken,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    pub fn start(behavior: Behavior) -> Server {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        std_listener.set_nonblocking(true).unwrap();
        let addr = std_listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Seen::default()));
        let stop = CancellationToken::new();
        let (seen2, stop2) = (seen.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async move {
                serve(TcpListener::from_std(std_listener).unwrap(), behavior, seen2, stop2).await;
            });
        });
        Server { addr, seen, stop, thread: Some(thread) }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.cancel();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn serve(listener: TcpListener, behavior: Behavior, seen: Arc<Mutex<Seen>>, stop: CancellationToken) {
    let t0 = Instant::now();
    loop {
        let stream = tokio::select! {
            _ = stop.cancelled() => return,
            r = listener.accept() => match r { Ok((s, _)) => s, Err(_) => continue },
        };
        if let Behavior::AcceptClose = behavior {
            drop(stream);
            continue;
        }
        stream.set_nodelay(true).unwrap();
        let seen = seen.clone();
        let svc = service_fn(move |req| handle(req, behavior, seen.clone(), t0));
        tokio::spawn(http1::Builder::new().serve_connection(TokioIo::new(stream), svc));
    }
}

async fn handle(
    req: Request<Incoming>,
    behavior: Behavior,
    seen: Arc<Mutex<Seen>>,
    t0: Instant,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let arrived = t0.elapsed();
    let path = req.uri().path().to_owned();
    let auth = req.headers().get("authorization").map(|v| v.to_str().unwrap().to_owned());
    let body = req.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    {
        let mut s = seen.lock();
        *s.paths.entry(path).or_default() += 1;
        s.auth.push(auth);
        if s.bodies.len() < 64 {
            s.bodies.push(String::from_utf8_lossy(&body).into_owned());
        }
    }
    let ok = || Response::new(Full::new(Bytes::from_static(br#"{"status":"ok","overall_ready":true}"#)));
    Ok(match behavior {
        Behavior::Delay(d) => {
            let _ = tokio::task::spawn_blocking(move || std::thread::sleep(d)).await;
            ok()
        }
        Behavior::Stall { period, from, to } => {
            let pos = Duration::from_nanos((arrived.as_nanos() % period.as_nanos()) as u64);
            if pos >= from && pos < to {
                tokio::time::sleep(to - pos).await;
            }
            ok()
        }
        Behavior::Fixed(code, body) => {
            let mut r = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
            *r.status_mut() = StatusCode::from_u16(code).unwrap();
            r
        }
        Behavior::AcceptClose => unreachable!("handled at accept"),
    })
}
