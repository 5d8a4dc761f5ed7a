//! The telemetry WebSocket: the `connected` welcome, `fps` samples, scene events, alerts and client commands.
//!
//! Choices where the contract is silent: timestamps are unix seconds as floats (Godot's
//! `Time.get_unix_time_from_system()`); `fps` samples start once the main loop has measured its first 0.5 s window;
//! an alert goes with every `fps` sample below 85 (so it repeats while the FPS stays low, and stops when it
//! recovers); `vr_tracking` is not sent (consumers may ignore it, and at 10 Hz it would crowd out `fps` in the
//! runbook's ten-message monitor); `set_update_interval` accepts 0.05-60 s and is acknowledged with an
//! `update_interval_changed` event; an unknown or malformed command gets an `error` event; binary frames are ignored.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::{SinkExt, StreamExt};
use parking_lot::Mutex;
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::broadcast;
use tokio::time::{Instant, MissedTickBehavior, interval_at};
use tokio_tungstenite::tungstenite::Message;

use super::knobs::resident_bytes;

pub const FPS_ALERT_BELOW: f64 = 85.0;
const DEFAULT_INTERVAL: Duration = Duration::from_millis(500);
const PING_EVERY: Duration = Duration::from_secs(30);
const DROP_SILENT_AFTER: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct FrameStats {
    pub fps: f64,
    pub frame_time_ms: f64,
    pub physics_time_ms: f64,
}

/// What the main loop shares with telemetry clients.
pub struct Hub {
    events: broadcast::Sender<Arc<str>>,
    stats: Mutex<Option<FrameStats>>,
    deferred: Mutex<Vec<String>>,
    scene: Mutex<Option<String>>,
    peers: AtomicU64,
}

fn now_secs() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

fn event(name: &str, data: Value) -> String {
    json!({"type": "event", "event": name, "data": data, "timestamp": now_secs()}).to_string()
}

impl Hub {
    pub fn new() -> Arc<Hub> {
        Arc::new(Hub {
            events: broadcast::channel(1024).0,
            stats: Mutex::new(None),
            deferred: Mutex::new(Vec::new()),
            scene: Mutex::new(None),
            peers: AtomicU64::new(0),
        })
    }

    pub fn publish_stats(&self, s: FrameStats) {
        *self.stats.lock() = Some(s);
    }

    /// Queue an event for the start of the next frame, when a deferred scene change completes in Godot.
    pub fn defer(&self, name: &str, data: Value) {
        self.deferred.lock().push(event(name, data));
    }

    pub fn scene_loaded(&self, scene: &str) {
        *self.scene.lock() = Some(scene.to_string());
    }

    pub fn flush_deferred(&self) {
        for e in self.deferred.lock().drain(..) {
            // No subscriber is not an error: nobody is watching.
            let _ = self.events.send(e.into());
        }
    }

    /// The `fps` event's data, once the main loop has measured a window.
    fn sample(&self) -> Option<Value> {
        let s = (*self.stats.lock())?;
        Some(json!({"fps": s.fps, "frame_time_ms": s.frame_time_ms, "physics_time_ms": s.physics_time_ms,
                    "memory_usage_mb": memory_mb()}))
    }

    fn snapshot(&self) -> Value {
        let mut data = self.sample().unwrap_or_else(|| json!({"memory_usage_mb": memory_mb()}));
        data["scene"] = json!(*self.scene.lock());
        data
    }
}

fn memory_mb() -> f64 {
    resident_bytes().map_or(0.0, |b| b as f64 / (1024.0 * 1024.0))
}

/// Accept telemetry clients until the listener fails.
pub async fn serve(listener: TcpListener, hub: Arc<Hub>) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let peer_id = hub.peers.fetch_add(1, Ordering::Relaxed) + 1;
                let hub = hub.clone();
                tokio::spawn(async move {
                    if let Err(e) = client(stream, hub, peer_id).await {
                        tracing::debug!("telemetry peer {peer_id}: {e}");
                    }
                });
            }
            Err(e) => {
                tracing::warn!("telemetry accept: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

async fn client(stream: TcpStream, hub: Arc<Hub>, peer_id: u64) -> anyhow::Result<()> {
    let ws = tokio_tungstenite::accept_async(stream).await?;
    let (mut tx, mut rx) = ws.split();
    let caps = ["fps", "vr_tracking", "scene_info", "events"];
    let welcome = json!({"peer_id": peer_id, "server_version": "1.0.0", "capabilities": caps});
    tx.send(Message::text(event("connected", welcome))).await?;
    let mut events = hub.events.subscribe();
    let mut fps = interval_at(Instant::now() + DEFAULT_INTERVAL, DEFAULT_INTERVAL);
    fps.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut ping = interval_at(Instant::now() + PING_EVERY, PING_EVERY);
    let mut last_heard = Instant::now();
    loop {
        tokio::select! {
            _ = fps.tick() => {
                let Some(sample) = hub.sample() else { continue };
                let low = sample["fps"].as_f64().is_some_and(|f| f < FPS_ALERT_BELOW);
                tx.send(Message::text(event("fps", sample))).await?;
                if low {
                    let alert = json!({"type": "alert", "level": "warning",
                        "message": format!("FPS dropped below {FPS_ALERT_BELOW}"), "timestamp": now_secs()});
                    tx.send(Message::text(alert.to_string())).await?;
                }
            }
            e = events.recv() => match e {
                Ok(text) => tx.send(Message::text(&*text)).await?,
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => return Ok(()),
            },
            msg = rx.next() => {
                let Some(msg) = msg else { return Ok(()) };
                last_heard = Instant::now();
                match msg? {
                    Message::Text(t) => {
                        let (reply, new_interval) = command(&hub, t.as_str());
                        if let Some(d) = new_interval {
                            fps = interval_at(Instant::now() + d, d);
                            fps.set_missed_tick_behavior(MissedTickBehavior::Delay);
                        }
                        tx.send(Message::text(reply)).await?;
                    }
                    Message::Close(_) => return Ok(()),
                    _ => {}
                }
            }
            _ = ping.tick() => {
                if last_heard.elapsed() > DROP_SILENT_AFTER {
                    return Ok(());
                }
                tx.send(Message::Ping(Default::default())).await?;
            }
        }
    }
}

/// Answer one client command; also returns a new `fps` interval when the command set one.
fn command(hub: &Hub, text: &str) -> (String, Option<Duration>) {
    let msg: Value = serde_json::from_str(text).unwrap_or(Value::Null);
    let error = |m: String| (event("error", json!({"message": m})), None);
    match msg["command"].as_str() {
        Some("ping") => (json!({"type": "pong", "timestamp": now_secs()}).to_string(), None),
        Some("get_snapshot") => {
            (json!({"type": "snapshot", "data": hub.snapshot(), "timestamp": now_secs()}).to_string(), None)
        }
        Some("set_update_interval") => match msg["interval"].as_f64() {
            Some(s) if (0.05..=60.0).contains(&s) => {
                (event("update_interval_changed", json!({"interval": s})), Some(Duration::from_secs_f64(s)))
            }
            _ => error("set_update_interval needs an interval between 0.05 and 60 seconds".into()),
        },
        Some(other) => error(format!("Unknown command: {other}")),
        None => error("Messages must be JSON objects with a \"command\" field".into()),
    }
}
