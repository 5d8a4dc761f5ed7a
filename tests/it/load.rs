//! The load engines against servers whose behaviour is known exactly (issue 3, acceptance 2 and 4).
//!
//! These tests measure time, so they run one at a time (`SERIAL`): on a 2-core machine two of them at once would
//! measure each other. Their assertions are about correctness (what latency is attributed, what is counted), with
//! bounds wide enough for a busy CI machine; none asserts a speed.

mod server;

use std::time::{Duration, Instant};

use spacetime_drill::api::Endpoint;
use spacetime_drill::load::{self, LoadPlan, PhasePlan};
use spacetime_drill::record::{Hist, Outcome, Record, Recorder};
use spacetime_drill::scenario::{LoadModel, Mix, Scenario};
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;

use server::{Behavior, Server};

static SERIAL: Mutex<()> = Mutex::const_new(());

fn phase(name: &str, secs: f64, r0: f64, r1: f64, mix: Mix) -> PhasePlan {
    PhasePlan {
        name: name.into(),
        duration: Duration::from_secs_f64(secs),
        rate_start: r0,
        rate_end: r1,
        users: 4,
        mix,
    }
}

fn plan(url: &str, phases: Vec<PhasePlan>) -> LoadPlan {
    let scenario =
        Scenario::parse(std::path::Path::new("x.toml"), "[[phase]]\nname = \"x\"\nduration = \"1s\"").unwrap();
    let mut plan = LoadPlan::from_scenario(&scenario, url, None).unwrap();
    plan.phases = phases;
    plan
}

/// Run the open model to its end (bounded: the plan's length plus its timeout plus slack) and return the record.
async fn run_open(plan: &LoadPlan) -> Record {
    let names: Vec<String> = plan.phases.iter().map(|p| p.name.clone()).collect();
    let start = Instant::now() + Duration::from_millis(50);
    let rec = Recorder::new(start, &names);
    let bound = plan.total() + plan.timeout + Duration::from_secs(5);
    tokio::time::timeout(bound, load::run_open(plan, rec.clone(), start, CancellationToken::new()))
        .await
        .expect("the open model stops by itself")
        .unwrap();
    rec.finish()
}

/// All endpoints of one phase merged.
fn merged(rec: &Record, phase: usize) -> (Hist, Hist, [u64; Outcome::COUNT]) {
    let (mut lat, mut svc, mut outcomes) = (Hist::new(), Hist::new(), [0; Outcome::COUNT]);
    for e in &rec.phases[phase].endpoints {
        lat.add(&e.latency);
        svc.add(&e.service);
        for (a, b) in outcomes.iter_mut().zip(e.outcomes) {
            *a += b;
        }
    }
    (lat, svc, outcomes)
}

fn ms(h: &Hist, q: f64) -> f64 {
    h.quantile(q).unwrap() as f64 / 1000.0
}

fn within(actual: u64, expected: f64, tolerance: f64) -> bool {
    (actual as f64 - expected).abs() <= expected * tolerance
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accuracy_20ms_server_and_counts() {
    let _g = SERIAL.lock().await;
    let srv = Server::start(Behavior::Delay(Duration::from_millis(20)));
    let p = plan(&srv.url(), vec![phase("steady", 3.0, 100.0, 100.0, Mix::default())]);
    let rec = run_open(&p).await;
    let (lat, svc, outcomes) = merged(&rec, 0);
    let (p50, p99) = (ms(&lat, 0.5), ms(&lat, 0.99));
    let late = rec.phases[0].late;
    eprintln!(
        "20 ms server: intended p50 {p50:.2} p99 {p99:.2}, service p50 {:.2}, n {}, late {late}",
        ms(&svc, 0.5),
        lat.len()
    );
    assert!((20.0..=21.5).contains(&p50), "intended-time p50 {p50} ms");
    assert_eq!(outcomes[Outcome::Ok.index()], lat.len(), "all ok: {outcomes:?}");
    assert!(within(lat.len(), 300.0, 0.02), "{} requests for 100/s × 3 s", lat.len());
    // Every endpoint of the default mix was driven, with its bodies.
    let seen = srv.seen.lock();
    for ep in Endpoint::ALL {
        assert!(seen.paths.get(ep.path()).copied().unwrap_or(0) > 0, "{ep} not sent: {:?}", seen.paths);
    }
    assert!(seen.bodies.iter().any(|b| b.contains(r#""scene_path":"res://"#)), "{:?}", seen.bodies);
    assert!(seen.bodies.iter().any(|b| b.contains(r#""frameId":0"#)));
    assert!(seen.bodies.iter().any(|b| b.contains(r#""position":{"#)));
    assert!(seen.auth.iter().all(Option::is_none), "no token configured, none sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stall_shows_in_intended_time_not_service_time() {
    let _g = SERIAL.lock().await;
    let s = Duration::from_secs;
    let srv = Server::start(Behavior::Stall { period: s(5), from: s(2), to: s(3) });
    let mut p = plan(&srv.url(), vec![phase("stall", 6.0, 200.0, 200.0, Mix::STATUS_ONLY)]);
    // A 1 s freeze at 200/s holds about 200 requests at once; room for all of them, so none is dropped.
    p.max_in_flight = 256;
    let rec = run_open(&p).await;
    let (lat, svc, _) = merged(&rec, 0);
    let (p90, p99, svc50) = (ms(&lat, 0.9), ms(&lat, 0.99), ms(&svc, 0.5));
    eprintln!("stall: intended p90 {p90:.1} p99 {p99:.1}; service p50 {svc50:.2} p99 {:.1}", ms(&svc, 0.99));
    assert!(p99 >= 900.0, "intended-time p99 {p99} ms must show the 1 s freeze");
    assert!(svc50 < 5.0, "service-time p50 {svc50} ms");
    assert!(within(lat.len(), 1200.0, 0.02), "{} requests for 200/s × 6 s", lat.len());
    assert_eq!(rec.phases[0].dropped, 0);
    // The per-second series shows the freeze in the seconds whose requests were frozen.
    let worst = rec.seconds.iter().filter_map(|r| r.endpoints[0].p99_ms).fold(0.0, f64::max);
    assert!(worst >= 900.0, "per-second p99 max {worst}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ramp_sends_the_integrated_rate() {
    let _g = SERIAL.lock().await;
    let srv = Server::start(Behavior::Fixed(200, "{}"));
    let p = plan(&srv.url(), vec![phase("ramp", 4.0, 0.0, 200.0, Mix::STATUS_ONLY)]);
    let rec = run_open(&p).await;
    let (lat, _, _) = merged(&rec, 0);
    eprintln!("ramp 0→200/s over 4 s: {} requests", lat.len());
    assert!(within(lat.len(), 400.0, 0.03), "{}", lat.len());
    // Later seconds carry more requests than earlier ones.
    let per_s: Vec<u64> = rec.seconds.iter().map(|r| r.endpoints[0].count).collect();
    assert!(per_s[3] > 2 * per_s[0], "{per_s:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_are_classified_by_kind() {
    let _g = SERIAL.lock().await;
    let refused = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let close = Server::start(Behavior::AcceptClose);
    let body = Server::start(Behavior::Fixed(200, r#"{"error":"Internal","message":"boom"}"#));
    let unauth = Server::start(Behavior::Fixed(401, r#"{"error":"Unauthorized","message":"Missing"}"#));
    for (url, want) in [
        (refused, Outcome::ConnectRefused),
        (close.url(), Outcome::ClosedWithoutResponse),
        (body.url(), Outcome::ErrorBody),
        (unauth.url(), Outcome::Unauthorized),
    ] {
        let rec = run_open(&plan(&url, vec![phase("e", 0.5, 40.0, 40.0, Mix::default())])).await;
        let (_, _, outcomes) = merged(&rec, 0);
        assert_eq!(outcomes.iter().sum::<u64>(), 20, "{want:?}: {outcomes:?}");
        assert_eq!(outcomes[want.index()], 20, "{want:?}: {outcomes:?}");
        let first_error = rec.events.iter().any(|e| serde_json::to_string(e).unwrap().contains(want.label()));
        assert!(first_error, "a first_error event for {want:?}: {:?}", rec.events);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeout_is_an_outcome_and_the_token_is_sent() {
    let _g = SERIAL.lock().await;
    let srv = Server::start(Behavior::Delay(Duration::from_millis(300)));
    let mut p = plan(&srv.url(), vec![phase("t", 0.5, 20.0, 20.0, Mix::default())]);
    p.timeout = Duration::from_millis(100);
    p.token = Some(spacetime_drill::secret::Secret::new("s3cr3t-token"));
    assert!(!format!("{p:?}").contains("s3cr3t"), "Debug must not show the token");
    let rec = run_open(&p).await;
    let (lat, _, outcomes) = merged(&rec, 0);
    assert_eq!(outcomes[Outcome::Timeout.index()], 10, "{outcomes:?}");
    assert!(ms(&lat, 1.0) < 150.0, "a timed-out request is recorded at its timeout");
    let seen = srv.seen.lock();
    assert!(!seen.auth.is_empty());
    assert!(seen.auth.iter().all(|a| a.as_deref() == Some("Bearer s3cr3t-token")), "{:?}", seen.auth);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_in_flight_cap_drops_and_counts() {
    let _g = SERIAL.lock().await;
    let srv = Server::start(Behavior::Delay(Duration::from_millis(200)));
    let mut p = plan(&srv.url(), vec![phase("cap", 1.0, 100.0, 100.0, Mix::STATUS_ONLY)]);
    p.max_in_flight = 2;
    let rec = run_open(&p).await;
    let (lat, _, _) = merged(&rec, 0);
    let dropped = rec.phases[0].dropped;
    eprintln!("cap 2 at 100/s against 200 ms: sent {}, dropped {dropped}", lat.len());
    assert_eq!(lat.len() + dropped, 100, "every arrival is either sent or counted as dropped");
    assert!(dropped >= 80, "{dropped}");
    assert!(lat.len() >= 8, "{}", lat.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_model_attributes_by_intended_time_and_stops_on_cancel() {
    let _g = SERIAL.lock().await;
    let srv = Server::start(Behavior::Fixed(200, "{}"));
    let p = plan(
        &srv.url(),
        vec![phase("a", 0.5, 100.0, 100.0, Mix::STATUS_ONLY), phase("b", 10.0, 100.0, 100.0, Mix::STATUS_ONLY)],
    );
    let start = Instant::now();
    let rec = Recorder::new(start, &["a".into(), "b".into()]);
    let cancel = CancellationToken::new();
    let stopper = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(1000)).await;
        stopper.cancel();
    });
    tokio::time::timeout(Duration::from_secs(3), load::run_open(&p, rec.clone(), start, cancel))
        .await
        .unwrap()
        .unwrap();
    let r = rec.finish();
    let a = merged(&r, 0).0.len();
    let b = merged(&r, 1).0.len();
    assert!(within(a, 50.0, 0.02), "phase a: {a}");
    assert!((40..=60).contains(&b), "phase b until the cancel at 1 s: {b}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn goose_users_fill_the_same_per_phase_histograms() {
    let _g = SERIAL.lock().await;
    // As the binary's main does: tracing first, so goose's `log` records flow into it.
    let _ = tracing_subscriber::fmt().with_env_filter("goose=error").with_test_writer().try_init();
    let srv = Server::start(Behavior::Fixed(200, r#"{"status":"ok"}"#));
    let mut p = plan(
        &srv.url(),
        vec![phase("one", 1.5, 0.0, 0.0, Mix::default()), phase("two", 1.5, 0.0, 0.0, Mix::default())],
    );
    p.model = LoadModel::Users;
    p.think_time = Duration::from_millis(10);
    p.token = Some(spacetime_drill::secret::Secret::new("goose-token"));
    let start = Instant::now();
    let rec = Recorder::new(start, &["one".into(), "two".into()]);
    rec.enter_phase(0, start);
    let timeline = {
        let rec = rec.clone();
        tokio::spawn(async move {
            tokio::time::sleep_until((start + Duration::from_millis(1500)).into()).await;
            rec.enter_phase(1, Instant::now());
        })
    };
    let bound = Duration::from_secs(15);
    tokio::time::timeout(bound, load::run(&p, rec.clone(), start, CancellationToken::new())).await.unwrap().unwrap();
    timeline.await.unwrap();
    assert!(start.elapsed() < Duration::from_secs(8), "goose stopped near the timeline's end: {:?}", start.elapsed());
    let r = rec.finish();
    for (i, ph) in r.phases.iter().enumerate() {
        for ep in Endpoint::ALL {
            let e = &ph.endpoints[ep.index()];
            assert!(!e.latency.is_empty() && !e.service.is_empty(), "phase {i} {ep}: no samples");
            assert_eq!(e.errors(), 0, "phase {i} {ep}: {:?}", e.outcomes);
        }
    }
    let seen = srv.seen.lock();
    assert!(seen.auth.iter().all(|a| a.as_deref() == Some("Bearer goose-token")));
    assert!(seen.bodies.iter().any(|b| b.contains(r#""expression":"#)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn goose_marks_a_200_error_body_as_error() {
    let _g = SERIAL.lock().await;
    let _ = tracing_subscriber::fmt().with_env_filter("goose=error").with_test_writer().try_init();
    let srv = Server::start(Behavior::Fixed(200, r#"{"error":"Internal","message":"x"}"#));
    let mut p = plan(&srv.url(), vec![phase("one", 1.0, 0.0, 0.0, Mix::STATUS_ONLY)]);
    p.model = LoadModel::Users;
    p.think_time = Duration::from_millis(20);
    let start = Instant::now();
    let rec = Recorder::new(start, &["one".into()]);
    tokio::time::timeout(Duration::from_secs(10), load::run(&p, rec.clone(), start, CancellationToken::new()))
        .await
        .unwrap()
        .unwrap();
    let e = &rec.finish().phases[0].endpoints[Endpoint::Status.index()];
    assert!(e.count() > 0);
    assert_eq!(e.outcomes[Outcome::ErrorBody.index()], e.count(), "{:?}", e.outcomes);
}
