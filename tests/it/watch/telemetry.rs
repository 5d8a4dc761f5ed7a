//! The telemetry watcher against a WebSocket server that is stopped and restarted under it.

use std::time::{Duration, Instant};

use futures_util::SinkExt;
use spacetime_drill::record::{EventKind, Record, Recorder};
use spacetime_drill::telemetry::{self, WatchOptions};
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

use super::{events, recorder, until};

/// A telemetry server; dropping or stopping it drops the listener and every connection, like a killed process.
struct WsServer {
    port: u16,
    task: JoinHandle<()>,
}

impl WsServer {
    async fn start(port: u16, welcome: bool) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let task = tokio::spawn(async move {
            let mut conns = JoinSet::new();
            while let Ok((stream, _)) = listener.accept().await {
                conns.spawn(feed(stream, welcome));
            }
        });
        Self { port, task }
    }

    fn url(&self) -> String {
        format!("ws://127.0.0.1:{}", self.port)
    }

    async fn stop(self) {
        self.task.abort();
        let _ = self.task.await;
    }
}

/// The welcome (optionally), junk a tolerant client must survive, then `fps` at 20 Hz around 90.
async fn feed(stream: tokio::net::TcpStream, welcome: bool) {
    let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else { return };
    let event = |name: &str, data: serde_json::Value| {
        Message::text(serde_json::json!({"type": "event", "event": name, "data": data, "timestamp": 1}).to_string())
    };
    let mut opening = vec![
        Message::binary(vec![1u8, 0, 0, 0, 7]),
        event("player_spawned", serde_json::json!({"who": "p1"})),
        Message::text("{this is not json"),
        Message::Ping(vec![1, 2].into()),
        Message::text(r#"{"type":"alert","level":"warning","message":"FPS dropped below 85","timestamp":1}"#),
        event("scene_loaded", serde_json::json!({"scene": "res://vr_main.tscn", "load_time_ms": 12})),
        event("scene_load_failed", serde_json::json!({"scene": "res://x.tscn", "error": "No space left on device"})),
        Message::binary(vec![2u8; 9]),
    ];
    if welcome {
        let data = serde_json::json!({"peer_id": 1, "server_version": "1.0.0", "capabilities": ["fps"]});
        opening.insert(0, event("connected", data));
    }
    for m in opening {
        if ws.send(m).await.is_err() {
            return;
        }
    }
    for i in 0u32.. {
        let fps = if i % 2 == 0 { 89.5 } else { 90.5 };
        let data = serde_json::json!({"fps": fps, "frame_time_ms": 1000.0 / fps, "memory_usage_mb": 2500.0});
        if ws.send(event("fps", data)).await.is_err() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn fps_count(rec: &Recorder, phase: usize) -> u64 {
    rec.finish().phases[phase].fps.len()
}

fn assert_fps_near_90(record: &Record, phase: usize) {
    let h = &record.phases[phase].fps;
    for q in [0.0, 0.5, 1.0] {
        let fps = h.quantile(q).unwrap() as f64 / 100.0;
        assert!((89.4..=90.6).contains(&fps), "phase {phase} q{q}: {fps}");
    }
}

#[tokio::test]
async fn telemetry_records_fps_per_phase_and_a_restart_as_a_gap() {
    let server = WsServer::start(0, true).await;
    let (port, url) = (server.port, server.url());
    let rec = recorder(&["baseline", "after_restart"]);
    let cancel = CancellationToken::new();
    let opts = WatchOptions { backoff_max: Duration::from_millis(200), ..WatchOptions::default() };
    let watch = tokio::spawn({
        let (rec, cancel) = (rec.clone(), cancel.clone());
        async move { telemetry::watch(&url, &opts, rec, cancel).await }
    });
    until("baseline fps", Duration::from_secs(5), || (fps_count(&rec, 0) >= 10).then_some(())).await;

    server.stop().await;
    let lost = |k: &EventKind| matches!(k, EventKind::TelemetryLost { .. });
    until("TelemetryLost", Duration::from_secs(5), || (!events(&rec, lost).is_empty()).then_some(())).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let server = WsServer::start(port, true).await;
    rec.enter_phase(1, Instant::now());
    let restored = |k: &EventKind| matches!(k, EventKind::TelemetryRestored { .. });
    until("samples after the restart", Duration::from_secs(5), || {
        (!events(&rec, restored).is_empty() && fps_count(&rec, 1) >= 10).then_some(())
    })
    .await;
    cancel.cancel();
    let summary = tokio::time::timeout(Duration::from_secs(2), watch).await.expect("cancel stops the watch");
    let summary = summary.unwrap().unwrap();
    server.stop().await;

    let record = rec.finish();
    assert_fps_near_90(&record, 0);
    assert_fps_near_90(&record, 1);
    let rows: Vec<_> = record.seconds.iter().filter_map(|s| s.fps_mean.zip(s.fps_min)).collect();
    assert!(rows.len() >= 2, "{rows:?}");
    for (mean, min) in rows {
        assert!((89.4..=90.6).contains(&mean) && min >= 89.5, "per-second fps {mean} min {min}");
    }
    let (lost, restored) = (events(&rec, lost), events(&rec, restored));
    assert_eq!((lost.len(), restored.len()), (1, 1), "{:?}", record.events);
    let EventKind::TelemetryRestored { gap_s } = restored[0].kind else { unreachable!() };
    assert!((1.0..1.8).contains(&gap_s), "gap {gap_s} s for a 1 s outage");
    assert!((restored[0].t - lost[0].t - gap_s).abs() < 0.05);

    assert_eq!((summary.connections, summary.gaps, summary.reconnects), (2, 1, 1), "{summary:?}");
    assert!(summary.welcome_ok());
    assert!((summary.gap_total_s - gap_s).abs() < 1e-9);
    assert_eq!(summary.fps_samples, record.phases.iter().map(|p| p.fps.len()).sum::<u64>());
    // Each connection's junk, tolerated and counted.
    assert_eq!((summary.binary_frames, summary.unknown_frames, summary.malformed_frames), (4, 2, 2), "{summary:?}");
    assert_eq!((summary.alerts, summary.scenes_loaded, summary.scene_load_failures), (2, 2, 2));
    let alerts = events(&rec, |k| matches!(k, EventKind::Alert { .. }));
    assert_eq!(alerts.len(), 2);
    // The same failure twice is one event: the log must not grow per failing request.
    assert_eq!(events(&rec, |k| matches!(k, EventKind::SceneLoadFailed { .. })).len(), 1);
}

#[tokio::test]
async fn a_missing_welcome_is_a_finding_and_the_watch_goes_on() {
    let server = WsServer::start(0, false).await;
    let rec = recorder(&["only"]);
    let cancel = CancellationToken::new();
    let watch = tokio::spawn({
        let (rec, cancel, url) = (rec.clone(), cancel.clone(), server.url());
        async move { telemetry::watch(&url, &WatchOptions::default(), rec, cancel).await }
    });
    until("fps without a welcome", Duration::from_secs(5), || (fps_count(&rec, 0) >= 3).then_some(())).await;
    cancel.cancel();
    let summary = watch.await.unwrap().unwrap();
    server.stop().await;
    assert_eq!(summary.welcomes_missing, 1);
    assert!(!summary.welcome_ok());
    let found = events(&rec, |k| matches!(k, EventKind::TelemetryWelcomeMissing { .. }));
    assert_eq!(found.len(), 1);
    assert!(matches!(&found[0].kind, EventKind::TelemetryWelcomeMissing { first } if first.contains("byte")));
}

#[tokio::test]
async fn telemetry_refuses_a_non_websocket_url() {
    let rec = recorder(&["only"]);
    let r = telemetry::watch("http://127.0.0.1:1", &WatchOptions::default(), rec, CancellationToken::new()).await;
    assert!(r.unwrap_err().to_string().contains("ws://"));
}
