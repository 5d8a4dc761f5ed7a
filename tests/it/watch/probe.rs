//! Probes against a `/status` server the test changes, a hung one, and this process as the measured target.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use spacetime_drill::api::{ServiceState, ServiceStatus, StateMapping, StatusBody};
use spacetime_drill::probe::{self, ProbePlan};
use spacetime_drill::record::{EventKind, Recorder};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::{events, recorder, until};

/// A `/status` server whose DAP state the test sets; it wants `Bearer secret`.
struct StatusServer {
    port: u16,
    dap: Arc<AtomicI64>,
    task: JoinHandle<()>,
}

impl StatusServer {
    async fn start() -> Self {
        use axum::http::{HeaderMap, StatusCode};
        let dap = Arc::new(AtomicI64::new(2));
        let state = dap.clone();
        let app = axum::Router::new().route(
            "/status",
            axum::routing::get(move |headers: HeaderMap| async move {
                if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some("Bearer secret") {
                    return Err(StatusCode::UNAUTHORIZED);
                }
                let service = |name: &str, port, state| ServiceStatus {
                    last_error: None,
                    last_activity: 1.0,
                    port,
                    retry_count: 0,
                    service_name: name.into(),
                    state,
                };
                let dap = state.load(Ordering::SeqCst);
                let m = StateMapping::Legacy;
                let connected = m.encode(ServiceState::Connected);
                Ok(axum::Json(StatusBody {
                    debug_adapter: service("Debug Adapter", 6006, dap),
                    language_server: service("Language Server", 6005, connected),
                    overall_ready: dap == connected,
                }))
            }),
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { port, dap, task }
    }

    async fn stop(self) {
        self.task.abort();
        let _ = self.task.await;
    }
}

fn fast_plan(url: String) -> ProbePlan {
    ProbePlan { interval: Duration::from_millis(100), timeout: Duration::from_millis(500), ..ProbePlan::new(url) }
}

fn start_probes(plan: ProbePlan, rec: &Recorder, cancel: &CancellationToken) -> JoinHandle<probe::ProbeSummary> {
    let (rec, cancel) = (rec.clone(), cancel.clone());
    tokio::spawn(async move { probe::run_probes(plan, rec, cancel).await.unwrap() })
}

#[tokio::test]
async fn status_changes_become_events_and_the_target_is_found_by_its_port() {
    let server = StatusServer::start().await;
    let rec = recorder(&["only"]);
    let cancel = CancellationToken::new();
    // The checkout's filesystem holds at least the checkout, so its usage is above 0 % (a fresh tmpfs's is 0).
    let disk = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    // No pid: the target is on a loopback URL, so the probe finds whoever listens there (this test process).
    let plan = ProbePlan {
        token: Some(spacetime_drill::secret::Secret::new("secret")),
        disk_path: Some(disk.to_owned()),
        ..fast_plan(format!("http://127.0.0.1:{}", server.port))
    };
    let probes = start_probes(plan, &rec, &cancel);
    let ready = |s: &spacetime_drill::record::SecondRecord| {
        s.status.as_ref().is_some_and(|st| st.reachable && st.dap == Some(ServiceState::Connected))
    };
    until("a connected status", Duration::from_secs(5), || rec.finish().seconds.iter().any(ready).then_some(())).await;

    server.dap.store(0, Ordering::SeqCst);
    until("the DAP change", Duration::from_secs(5), || {
        let changed = events(&rec, |k| matches!(k, EventKind::OverallReadyChanged { ready: false }));
        (!changed.is_empty()).then_some(())
    })
    .await;
    let dap = events(&rec, |k| matches!(k, EventKind::ServiceStateChanged { .. }));
    let expected = EventKind::ServiceStateChanged {
        service: "dap".into(),
        from: Some(ServiceState::Connected),
        to: Some(ServiceState::Disconnected),
    };
    assert_eq!(dap.iter().map(|e| &e.kind).collect::<Vec<_>>(), vec![&expected]);

    server.stop().await;
    let down = |k: &EventKind| matches!(k, EventKind::StatusReachable { reachable: false, .. });
    until("unreachable", Duration::from_secs(5), || (!events(&rec, down).is_empty()).then_some(())).await;
    cancel.cancel();
    let summary = tokio::time::timeout(Duration::from_secs(2), probes).await.expect("cancel stops probes").unwrap();

    let record = rec.finish();
    assert_eq!(events(&rec, down).len(), 1, "one event per change, not per tick: {:?}", record.events);
    assert!(summary.status_unreachable >= 1 && summary.ticks > summary.status_unreachable, "{summary:?}");
    let mem: Vec<f64> = record.seconds.iter().filter_map(|s| s.memory_mb).collect();
    assert!(!mem.is_empty() && mem.iter().all(|&mb| mb > 1.0), "{mem:?}");
    let disk: Vec<f64> = record.seconds.iter().filter_map(|s| s.disk_pct).collect();
    assert!(!disk.is_empty() && disk.iter().all(|&p| p > 0.0 && p <= 100.0), "{disk:?}");
    assert!(events(&rec, |k| matches!(k, EventKind::ProbeFailed { .. })).is_empty(), "{:?}", record.events);
}

#[tokio::test]
async fn host_measurements_of_this_process() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let found = tokio::task::spawn_blocking(move || probe::pid_listening_on(port)).await.unwrap().unwrap();
    assert_eq!(found, Some(std::process::id()));
    drop(listener);
    assert!(probe::resident_mb(std::process::id()).unwrap() > 1.0);
    let pct = probe::disk_used_pct(env!("CARGO_MANIFEST_DIR").as_ref()).unwrap();
    assert!(pct > 0.0 && pct <= 100.0, "{pct}");
}

/// A port nobody listens on (bound, then released).
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[tokio::test]
async fn remote_commands_are_numbers_and_failures_are_logged_once() {
    let rec = recorder(&["only"]);
    let cancel = CancellationToken::new();
    let plan = ProbePlan {
        memory_command: Some("echo 123.5".into()),
        disk_command: Some("echo nonsense".into()),
        ..fast_plan(format!("http://127.0.0.1:{}", closed_port()))
    };
    let probes = start_probes(plan, &rec, &cancel);
    until("a memory sample and a disk failure", Duration::from_secs(5), || {
        let mem = rec.finish().seconds.iter().any(|s| s.memory_mb.is_some());
        (mem && !events(&rec, |k| matches!(k, EventKind::ProbeFailed { .. })).is_empty()).then_some(())
    })
    .await;
    // Let the failing disk command run a few more ticks; the tick count is checked below.
    tokio::time::sleep(Duration::from_millis(400)).await;
    cancel.cancel();
    let summary = probes.await.unwrap();
    let record = rec.finish();
    assert!(record.seconds.iter().filter_map(|s| s.memory_mb).all(|mb| mb == 123.5));
    assert_eq!(summary.memory_samples, summary.ticks, "{summary:?}");
    assert_eq!(summary.disk_samples, 0);
    let failed = events(&rec, |k| matches!(k, EventKind::ProbeFailed { .. }));
    assert_eq!(failed.len(), 1, "{:?}", record.events);
    assert!(
        matches!(&failed[0].kind, EventKind::ProbeFailed { probe, error } if probe == "disk" && error.contains("nonsense"))
    );
    assert!(summary.ticks >= 4 && summary.status_unreachable == summary.ticks, "{summary:?}");
    assert_eq!(events(&rec, |k| matches!(k, EventKind::StatusReachable { .. })).len(), 1);
}

#[tokio::test]
async fn probes_refuse_a_url_they_cannot_speak() {
    let r = probe::run_probes(ProbePlan::new("ftp://127.0.0.1:1"), recorder(&["only"]), CancellationToken::new());
    assert!(r.await.unwrap_err().to_string().contains("http://"));
}

#[tokio::test]
async fn a_status_that_answers_401_is_reachable_but_a_failing_probe() {
    let server = StatusServer::start().await;
    let rec = recorder(&["only"]);
    let cancel = CancellationToken::new();
    let probes = start_probes(fast_plan(format!("http://127.0.0.1:{}", server.port)), &rec, &cancel);
    let failed = |k: &EventKind| matches!(k, EventKind::ProbeFailed { probe, error } if probe == "status" && error.contains("401"));
    until("a status probe failure", Duration::from_secs(5), || (!events(&rec, failed).is_empty()).then_some(())).await;
    cancel.cancel();
    let summary = probes.await.unwrap();
    server.stop().await;
    assert_eq!(summary.status_unreachable, 0);
    assert!(events(&rec, |k| matches!(k, EventKind::StatusReachable { .. })).is_empty());
}

#[tokio::test]
async fn a_hung_status_costs_its_timeout_not_the_cadence() {
    // Accepts and never answers, holding every connection: a hung bridge.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let hang = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            held.push(s);
        }
    });
    let rec = recorder(&["only"]);
    let cancel = CancellationToken::new();
    let plan = ProbePlan { timeout: Duration::from_millis(150), ..fast_plan(format!("http://127.0.0.1:{port}")) };
    let probes = start_probes(plan, &rec, &cancel);
    let hung = |k: &EventKind| matches!(k, EventKind::StatusReachable { reachable: false, detail } if detail.contains("no answer"));
    until("a timed-out probe", Duration::from_secs(5), || (!events(&rec, hung).is_empty()).then_some(())).await;
    // Time for a few more ticks; their count is checked below.
    tokio::time::sleep(Duration::from_millis(600)).await;
    cancel.cancel();
    let summary = probes.await.unwrap();
    hang.abort();
    assert!(summary.ticks >= 3 && summary.status_unreachable == summary.ticks, "{summary:?}");
    let latencies: Vec<f64> = rec.finish().seconds.iter().filter_map(|s| Some(s.status.as_ref()?.latency_ms)).collect();
    assert!(latencies.iter().all(|&ms| (150.0..1000.0).contains(&ms)), "{latencies:?}");
}
