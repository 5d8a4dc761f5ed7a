//! Watches the target's telemetry WebSocket for the whole run: FPS per phase and per second, scene loads, alerts,
//! and every stretch of time the stream was not there.
//!
//! A lost stream is a finding, never a harness error: the watcher records `TelemetryLost`, reconnects with a capped
//! exponential backoff, and records `TelemetryRestored` with the gap's length once a new connection is up. Only
//! cancellation ends the watch, so a target that is killed and restarted mid-run shows as a gap and the run goes on.

mod message;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

pub(crate) use message::{Frame, classify};

use crate::record::{EventKind, Recorder};
use crate::tls::{Dialer, Stream};
use crate::url::{ServiceUrl, UrlRole};

/// How persistently and how patiently to watch. The defaults suit the contract's server (fps every 0.5 s).
#[derive(Debug, Clone)]
pub struct WatchOptions {
    /// First reconnect delay; doubled after each failed attempt up to `backoff_max`.
    pub backoff_min: Duration,
    /// Longest delay between reconnect attempts, and so the most a measured gap can overstate the real outage.
    pub backoff_max: Duration,
    /// A connect (TCP + handshake) slower than this counts as failed: a blackholed port must not stall the watch.
    pub connect_timeout: Duration,
    /// No frame at all for this long means the stream is dead even if the socket is open (a hung engine).
    pub idle_timeout: Duration,
    /// How often to send `{"command":"ping"}`: the server drops clients silent for 60 s, and a long run must not
    /// be dropped for being a quiet listener.
    pub keepalive: Duration,
    /// The run's TLS client configuration (`wss`); `None` = the defaults.
    pub tls: Option<Arc<rustls::ClientConfig>>,
}

impl Default for WatchOptions {
    fn default() -> Self {
        Self {
            backoff_min: Duration::from_millis(100),
            backoff_max: Duration::from_secs(2),
            connect_timeout: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(10),
            keepalive: Duration::from_secs(20),
            tls: None,
        }
    }
}

/// What the watch saw, for the report. Times are seconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TelemetrySummary {
    /// Successful WebSocket connections, the first included.
    pub connections: u32,
    /// Connections whose first message was not the `connected` welcome.
    pub welcomes_missing: u32,
    /// `fps` events recorded; zero over a whole run means the FPS checks have no data rather than a pass.
    pub fps_samples: u64,
    /// `scene_loaded` events: the server's own count of finished loads, beside the `/scene/load` answers.
    pub scenes_loaded: u64,
    /// `scene_load_failed` events, every one counted; only the first few distinct (scene, error) pairs reach the
    /// event log.
    pub scene_load_failures: u64,
    /// Alerts the server pushed (e.g. "FPS dropped below 85"), each also in the event log.
    pub alerts: u64,
    /// Spells without telemetry, including one still open when the watch ended and a first connect that failed.
    pub gaps: u32,
    /// Seconds of all gaps together, so a flapping stream shows even when each gap is short.
    pub gap_total_s: f64,
    /// Connections made after a gap.
    pub reconnects: u32,
    /// Binary frames, which the contract never sends: non-zero points at a different server or a proxy.
    pub binary_frames: u64,
    /// Well-formed frames of an undocumented event or type, counted instead of failing the watch.
    pub unknown_frames: u64,
    /// Frames that were not JSON objects or lacked the fields their event needs, counted instead of failing the
    /// watch.
    pub malformed_frames: u64,
}

impl TelemetrySummary {
    /// Every connection began with the welcome (and there was at least one).
    pub fn welcome_ok(&self) -> bool {
        self.connections > 0 && self.welcomes_missing == 0
    }
}

/// Distinct scene-load failures worth an event each; the rest are only counted, so a disk-full fault under load
/// cannot grow the event log per request.
const DISTINCT_FAILURE_EVENTS: usize = 32;

/// The first message quoted in a missing-welcome finding is cut to this many characters.
const QUOTE_CHARS: usize = 200;

/// Watch `url` (e.g. `ws://127.0.0.1:8081`, `wss://...`) until `cancel`, recording into `rec`.
///
/// Errs only when `url` is not a WebSocket URL at all; everything the server does is recorded instead.
pub async fn watch(
    url: &str,
    opts: &WatchOptions,
    rec: Recorder,
    cancel: CancellationToken,
) -> anyhow::Result<TelemetrySummary> {
    let parsed = ServiceUrl::parse(url, UrlRole::Telemetry).map_err(|e| anyhow::anyhow!("telemetry: {e}"))?;
    let dialer = Dialer::new(&parsed, opts.tls.as_ref())?;
    let mut w = Watcher { rec, summary: TelemetrySummary::default(), failures_seen: HashSet::new() };
    let mut gap_start: Option<Instant> = None;
    let mut backoff = opts.backoff_min;
    while !cancel.is_cancelled() {
        let attempt = tokio::select! {
            () = cancel.cancelled() => break,
            r = tokio::time::timeout(opts.connect_timeout, connect(&dialer, url)) => r,
        };
        let reason = match attempt {
            Ok(Ok(ws)) => {
                w.summary.connections += 1;
                if let Some(t0) = gap_start.take() {
                    w.close_gap(t0, true);
                }
                let began = Instant::now();
                let Some(reason) = w.session(ws, opts, &cancel).await else { break };
                // Only a connection that held counts as recovery: a server that accepts and drops at once keeps
                // the backoff growing instead of filling the event log with a gap pair every 100 ms.
                if began.elapsed() >= opts.backoff_max {
                    backoff = opts.backoff_min;
                }
                reason
            }
            Ok(Err(e)) => format!("connect failed: {e}"),
            Err(_) => format!("connect timed out after {:?}", opts.connect_timeout),
        };
        if gap_start.is_none() {
            gap_start = Some(Instant::now());
            w.summary.gaps += 1;
            tracing::warn!(%reason, "telemetry lost");
            w.rec.event(Instant::now(), EventKind::TelemetryLost { reason });
        }
        tokio::select! {
            () = cancel.cancelled() => break,
            () = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(opts.backoff_max);
    }
    if let Some(t0) = gap_start {
        w.close_gap(t0, false);
    }
    Ok(w.summary)
}

struct Watcher {
    rec: Recorder,
    summary: TelemetrySummary,
    failures_seen: HashSet<(String, String)>,
}

type Ws = tokio_tungstenite::WebSocketStream<Stream>;

/// TCP (and TLS, for `wss`) through the run's [`Dialer`], then the WebSocket handshake on that stream.
async fn connect(dialer: &Dialer, url: &str) -> Result<Ws, tokio_tungstenite::tungstenite::Error> {
    let stream = dialer.dial().await?;
    Ok(tokio_tungstenite::client_async(url, stream).await?.0)
}

impl Watcher {
    fn close_gap(&mut self, t0: Instant, restored: bool) {
        let gap_s = t0.elapsed().as_secs_f64();
        self.summary.gap_total_s += gap_s;
        if restored {
            self.summary.reconnects += 1;
            tracing::info!(gap_s, "telemetry restored");
            self.rec.event(Instant::now(), EventKind::TelemetryRestored { gap_s });
        }
    }

    /// One connection, until it is lost (`Some(reason)`) or the watch is cancelled (`None`).
    async fn session(&mut self, ws: Ws, opts: &WatchOptions, cancel: &CancellationToken) -> Option<String> {
        let (mut tx, mut rx) = ws.split();
        let mut keepalive = tokio::time::interval_at(tokio::time::Instant::now() + opts.keepalive, opts.keepalive);
        let mut first = true;
        loop {
            let next = tokio::select! {
                () = cancel.cancelled() => {
                    // A polite close; bounded, because a dead peer must not hold up the end of the run.
                    let _ = tokio::time::timeout(Duration::from_millis(200), tx.close()).await;
                    return None;
                }
                _ = keepalive.tick() => {
                    if let Err(e) = tx.send(Message::text(r#"{"command":"ping"}"#)).await {
                        return Some(format!("keepalive send failed: {e}"));
                    }
                    continue;
                }
                next = tokio::time::timeout(opts.idle_timeout, rx.next()) => next,
            };
            let msg = match next {
                Err(_) => return Some(format!("no frame for {:?}", opts.idle_timeout)),
                Ok(None) => return Some("connection closed".into()),
                Ok(Some(Err(e))) => return Some(format!("connection error: {e}")),
                Ok(Some(Ok(msg))) => msg,
            };
            let at = Instant::now();
            if let Message::Close(frame) = &msg {
                let why = frame.as_ref().map_or(String::new(), |f| format!(" ({} {})", f.code, f.reason));
                return Some(format!("closed by server{why}"));
            }
            // Pings are answered by tungstenite on the next read; pongs and raw frames carry nothing for us.
            let frame = match &msg {
                Message::Text(text) => Some(classify(text)),
                Message::Binary(_) => {
                    self.summary.binary_frames += 1;
                    None
                }
                _ => continue,
            };
            if std::mem::take(&mut first) && frame != Some(Frame::Welcome) {
                self.welcome_missing(at, &msg);
            }
            if let Some(frame) = frame {
                self.frame(at, frame);
            }
        }
    }

    fn welcome_missing(&mut self, at: Instant, msg: &Message) {
        self.summary.welcomes_missing += 1;
        let first = match msg {
            Message::Text(t) => t.chars().take(QUOTE_CHARS).collect(),
            other => format!("{} byte non-text frame", other.len()),
        };
        tracing::warn!(%first, "telemetry welcome missing");
        self.rec.event(at, EventKind::TelemetryWelcomeMissing { first });
    }

    fn frame(&mut self, at: Instant, frame: Frame) {
        let s = &mut self.summary;
        match frame {
            Frame::Welcome | Frame::Ignored => {}
            Frame::Fps { fps, memory_mb } => {
                s.fps_samples += 1;
                self.rec.fps(at, fps, memory_mb);
            }
            Frame::SceneLoaded => s.scenes_loaded += 1,
            Frame::SceneLoadFailed { scene, error } => {
                s.scene_load_failures += 1;
                let key = (scene, error);
                if self.failures_seen.len() < DISTINCT_FAILURE_EVENTS && self.failures_seen.insert(key.clone()) {
                    let (scene, error) = key;
                    self.rec.event(at, EventKind::SceneLoadFailed { scene, error });
                }
            }
            Frame::Alert { level, message } => {
                s.alerts += 1;
                self.rec.event(at, EventKind::Alert { level, message });
            }
            Frame::Unknown => s.unknown_frames += 1,
            Frame::Malformed => s.malformed_frames += 1,
        }
    }
}
