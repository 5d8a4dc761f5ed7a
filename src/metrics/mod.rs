//! Live metrics of a run, for game days watched on dashboards: OpenMetrics text on `/metrics` while the run lasts
//! (`--metrics-listen`, `[metrics] listen`), and Prometheus remote write for runs nothing can scrape
//! (`--metrics-remote-write`, `[metrics] remote_write`).
//!
//! Decision, the hot path: nothing is added to it. A scrape (or a push) reads the recorder's own per-phase HDR
//! histograms and counters under its lock ([`snapshot`]) and counts them into the exported buckets then
//! ([`buckets`]); recording a sample stays what it was (one lock, a few increments). The alternative, a second set
//! of prometheus-client histograms observed per request, would cost a bucket search and a second lock on every
//! request whether or not anyone scrapes; reading on scrape costs one pass over each histogram's distinct values,
//! once per scrape, and nothing at all when metrics are off.
//!
//! The listener is bound before the target is touched, so a taken port fails the run (exit 2) before any load. It
//! also answers `/sd` in Prometheus's HTTP service-discovery format with itself and the run's target, so one scrape
//! config follows a run whose embedded simulator is on ports chosen at start. When the run is over the listener
//! stays up until one more scrape has read the final state, bounded by [`linger_bound`] (no wait if nobody scraped).

mod buckets;
pub mod remote_write;
mod snapshot;
mod text;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use parking_lot::Mutex;
use tokio_util::sync::CancellationToken;

pub use buckets::{BOUNDS, BUCKET_ERROR};
pub use snapshot::Sources;

/// How often remote write pushes (k6's default too).
pub const PUSH_EVERY: Duration = Duration::from_secs(5);
const PUSH_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest the listener waits after the run for a last scrape.
const LINGER_MAX: Duration = Duration::from_secs(30);

/// Where the metrics go; both optional.
#[derive(Debug, Clone, Default)]
pub struct MetricsOptions {
    pub(crate) listen: Option<SocketAddr>,
    pub(crate) remote_write: Option<String>,
    /// `I` of `--shard I/N` ("0" without shards): a label on every pushed series and on `drill_run_info`.
    pub shard: String,
    /// The run's TLS options (`[target]` `ca_file`, `insecure`, client certificate, or the flags): an `https`
    /// remote-write URL is verified as the target is.
    pub tls: crate::tls::TlsOptions,
}

#[derive(Default)]
struct State {
    sources: Option<Sources>,
    /// The target's `host:port`, offered to Prometheus by `/sd`.
    target: Option<String>,
    finished: Option<Instant>,
    scrapes: Vec<Instant>,
}

/// The run's exporter: a bound listener serving scrapes, a pusher, or neither (then every call is a no-op).
pub struct Exporter {
    opts: MetricsOptions,
    state: Arc<Mutex<State>>,
    addr: Option<SocketAddr>,
    stop: CancellationToken,
    tasks: tokio::task::JoinSet<()>,
    writer: Option<remote_write::Writer>,
}

impl Exporter {
    /// Bind the listener now (a taken address is an error naming it) and start serving; pushes start on
    /// [`Exporter::attach`]. Call inside the run's runtime.
    pub async fn start(opts: MetricsOptions) -> anyhow::Result<Exporter> {
        let state = Arc::new(Mutex::new(State::default()));
        let stop = CancellationToken::new();
        let mut tasks = tokio::task::JoinSet::new();
        let mut addr = None;
        if let Some(listen) = opts.listen {
            let listener = tokio::net::TcpListener::bind(listen).await.with_context(|| {
                format!("cannot serve metrics on {listen} (--metrics-listen or [metrics] listen); pick a free port")
            })?;
            let bound = listener.local_addr()?;
            addr = Some(bound);
            tasks.spawn(serve(listener, state.clone(), opts.shard.clone(), stop.clone()));
        }
        let writer = opts.remote_write.as_deref().map(|url| remote_write::Writer::new(url, &opts.tls)).transpose()?;
        Ok(Exporter { opts, state, addr, stop, tasks, writer })
    }

    /// Where scrapes go (the bound port when `listen` asked for port 0).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.addr
    }

    /// The run has its recorder and faults: from now on scrapes see the run, and pushes start.
    pub fn attach(&mut self, sources: Sources, target: Option<String>) {
        {
            let mut s = self.state.lock();
            s.sources = Some(sources);
            s.target = target;
        }
        if let Some(writer) = self.writer.take() {
            let (state, shard, stop) = (self.state.clone(), self.opts.shard.clone(), self.stop.clone());
            self.tasks.spawn(push(writer, state, shard, stop));
        }
    }

    /// The run is over: the final state is pushed once more, and the listener serves until the next scrape
    /// has read it (see [`linger_bound`]).
    pub async fn finish(mut self) {
        let finished = Instant::now();
        let scrapes = {
            let mut s = self.state.lock();
            s.finished = Some(finished);
            s.scrapes.clone()
        };
        if self.addr.is_some()
            && let Some(bound) = linger_bound(&scrapes)
        {
            let deadline = finished + bound;
            while Instant::now() < deadline && !self.state.lock().scrapes.iter().any(|&t| t > finished) {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        self.stop.cancel();
        while self.tasks.join_next().await.is_some() {}
    }
}

/// How long to wait for a last scrape: none if nobody scraped, else one and a half of the latest scrape interval
/// (at least 2 s, at most [`LINGER_MAX`]), or a few seconds after a single scrape (no interval known).
pub fn linger_bound(scrapes: &[Instant]) -> Option<Duration> {
    match scrapes {
        [] => None,
        [_] => Some(Duration::from_secs(5)),
        [.., a, b] => Some((b.duration_since(*a) * 3 / 2).clamp(Duration::from_secs(2), LINGER_MAX)),
    }
}

/// The snapshot, read with the exporter's own lock released (reading the faults may wait on an injection).
fn families(state: &Mutex<State>, shard: &str) -> Vec<snapshot::Family> {
    let (sources, finished) = {
        let s = state.lock();
        (s.sources.clone(), s.finished.is_some())
    };
    sources.map(|src| snapshot::take(&src, shard, finished)).unwrap_or_default()
}

async fn serve(listener: tokio::net::TcpListener, state: Arc<Mutex<State>>, shard: String, stop: CancellationToken) {
    loop {
        let stream = tokio::select! {
            () = stop.cancelled() => return,
            r = listener.accept() => match r {
                Ok((s, _)) => s,
                Err(e) => {
                    tracing::warn!("metrics listener: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let (state, shard, addr) = (state.clone(), shard.clone(), listener.local_addr().ok());
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let (state, shard) = (state.clone(), shard.clone());
                async move { Ok::<_, Infallible>(respond(&req, &state, &shard, addr)) }
            });
            let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
        });
    }
}

fn respond<B>(req: &Request<B>, state: &Mutex<State>, shard: &str, addr: Option<SocketAddr>) -> Response<Full<Bytes>> {
    let reply = |status: StatusCode, content_type: &'static str, body: String| {
        let mut r = Response::new(Full::new(Bytes::from(body)));
        *r.status_mut() = status;
        r.headers_mut().insert(hyper::header::CONTENT_TYPE, hyper::header::HeaderValue::from_static(content_type));
        r
    };
    match req.uri().path() {
        "/metrics" => {
            // The scrape is noted before the state is read, so the one that `finish` waits for has read the end.
            {
                let mut s = state.lock();
                s.scrapes.push(Instant::now());
                let n = s.scrapes.len();
                s.scrapes.drain(..n.saturating_sub(2));
            }
            reply(StatusCode::OK, text::CONTENT_TYPE, text::encode(families(state, shard)))
        }
        "/sd" => {
            let s = state.lock();
            let mut groups = Vec::new();
            if let Some(a) = addr {
                groups.push(serde_json::json!({"targets": [a.to_string()], "labels": {"component": "harness"}}));
            }
            if let Some(t) = &s.target {
                groups.push(serde_json::json!({"targets": [t], "labels": {"component": "target"}}));
            }
            reply(StatusCode::OK, "application/json", serde_json::Value::Array(groups).to_string())
        }
        other => reply(StatusCode::NOT_FOUND, "text/plain", format!("no {other} here; scrape /metrics\n")),
    }
}

async fn push(writer: remote_write::Writer, state: Arc<Mutex<State>>, shard: String, stop: CancellationToken) {
    let mut tick = tokio::time::interval(PUSH_EVERY);
    let mut failing = false;
    loop {
        let last = tokio::select! {
            () = stop.cancelled() => true,
            _ = tick.tick() => false,
        };
        let families = families(&state, &shard);
        let extra = [("job", "spacetime-drill"), ("shard", shard.as_str())];
        let req = remote_write::write_request(&families, &extra, chrono::Utc::now().timestamp_millis());
        match writer.send(&req, PUSH_TIMEOUT).await {
            Ok(()) => failing = false,
            // Once per failure spell, on stderr and in the run's event log, so the report says metrics went missing.
            Err(e) if !std::mem::replace(&mut failing, true) => {
                let message = format!("metrics remote write failing: {e}");
                tracing::warn!("{message}");
                if let Some(src) = state.lock().sources.as_ref() {
                    src.rec.event(Instant::now(), crate::record::EventKind::Note { message });
                }
            }
            Err(_) => {}
        }
        if last {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_listener_lingers_only_for_someone_scraping() {
        let t = Instant::now();
        assert_eq!(linger_bound(&[]), None);
        assert_eq!(linger_bound(&[t]), Some(Duration::from_secs(5)));
        assert_eq!(linger_bound(&[t, t + Duration::from_secs(1)]), Some(Duration::from_secs(2)));
        assert_eq!(linger_bound(&[t, t + Duration::from_secs(15)]), Some(Duration::from_millis(22_500)));
        assert_eq!(linger_bound(&[t, t + Duration::from_secs(60)]), Some(LINGER_MAX));
    }
}
