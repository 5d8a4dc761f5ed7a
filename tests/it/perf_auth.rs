//! The `expired_token` fault end to end: the open model against a simulator that requires JWTs, with the fault held
//! for one phase. Before and after it every request is accepted; while it is held, its share is refused with 401.

use std::time::{Duration, Instant};

use spacetime_drill::api::Endpoint;
use spacetime_drill::fault::expired_token::{BadTokenMode, ExpiredTokenSpec};
use spacetime_drill::fault::{Allow, Fault, FaultContext, Intent, TargetHost, Undo};
use spacetime_drill::load::{self, LoadPlan};
use spacetime_drill::record::{Outcome, Recorder};
use spacetime_drill::scenario::Scenario;
use spacetime_drill::secret::Secret;
use spacetime_sim::auth::mint;
use tokio_util::sync::CancellationToken;

use crate::support::sim_with;

/// Phases: before, edge (fault goes on), held, edge (fault goes off), after. Only the edges see the switch.
const PHASES: &str = r#"
[load]
rate = 200.0
mix = { status = 1, scene_load = 0, debug_evaluate = 0, lsp_completion = 0 }
[[phase]]
name = "before"
duration = "1s"
[[phase]]
name = "on"
duration = "300ms"
[[phase]]
name = "held"
duration = "2s"
[[phase]]
name = "off"
duration = "300ms"
[[phase]]
name = "after"
duration = "1s"
"#;

/// The two tests measure shares over time, so they run one at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Collects the undo records a run would journal, so the test rolls back as a run does.
struct Undos(Vec<Undo>);

impl Intent for Undos {
    fn record(&mut self, undo: Undo) -> Result<(), spacetime_drill::fault::FaultErrorKind> {
        self.0.push(undo);
        Ok(())
    }
}

async fn run_with_fault(mode: BadTokenMode, share: f64) -> Vec<(u64, u64)> {
    let dir = tempfile::tempdir().unwrap();
    let secret_file = dir.path().join("jwt.secret");
    std::fs::write(&secret_file, "perf-auth-secret").unwrap();
    let sim = sim_with(&["--jwt-secret-file", secret_file.to_str().unwrap()]);
    let good = mint(b"perf-auth-secret", Duration::from_secs(600), None).unwrap();

    let scenario = Scenario::parse(std::path::Path::new("perf_auth.toml"), PHASES).unwrap();
    let plan = LoadPlan::from_scenario(&scenario, &sim.http_url(), Some(Secret::new(good))).unwrap();
    let fault = ExpiredTokenSpec { share, mode };
    let target = TargetHost { host: "127.0.0.1".into(), http_port: sim.ports.http };
    let ctx = FaultContext {
        auth: Some(std::sync::Arc::new(plan.auth_fault.clone())),
        jwt_secret: Some(Secret::new("perf-auth-secret")),
        ..FaultContext::new(crate::support::EXE.into(), Allow::default(), target)
    };
    fault.preflight(&ctx).unwrap();

    let names: Vec<String> = plan.phases.iter().map(|p| p.name.clone()).collect();
    let start = Instant::now() + Duration::from_millis(100);
    let rec = Recorder::new(start, &names);
    let engine = tokio::spawn({
        let (plan, rec) = (plan.clone(), rec.clone());
        async move { load::run_open(&plan, rec, start, CancellationToken::new()).await }
    });
    let at = |ms: u64| tokio::time::sleep_until((start + Duration::from_millis(ms)).into());
    // Switched in the middle of each edge, so a request due just before an edge but sent a few ms late on a loaded
    // machine (the token is picked at the send) still lands in an edge, not in "before" or "held".
    at(1_150).await;
    let mut undo = Undos(Vec::new());
    fault.inject(&ctx, &mut undo).unwrap();
    at(3_450).await;
    undo.0.iter().for_each(|u| drop(u.rollback(Some(&ctx)).unwrap()));
    tokio::time::timeout(Duration::from_secs(20), engine).await.expect("the run ends").unwrap().unwrap();

    let record = rec.finish();
    record
        .phases
        .iter()
        .map(|p| {
            let e = &p.endpoints[Endpoint::Status.index()];
            (e.count(), e.outcomes[Outcome::Unauthorized.index()])
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_of_the_requests_are_refused_while_held_and_none_otherwise() {
    let _serial = SERIAL.lock().await;
    let phases = run_with_fault(BadTokenMode::Expired, 0.5).await;
    let [before, _, held, _, after] = phases[..] else { panic!("{phases:?}") };
    assert!(before.0 >= 150 && before.1 == 0, "before: {before:?}");
    assert!(after.0 >= 150 && after.1 == 0, "after: {after:?}");
    assert!(held.0 >= 300, "held: {held:?}");
    let share = held.1 as f64 / held.0 as f64;
    assert!((0.45..=0.55).contains(&share), "held: {held:?} = {share:.3}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_signature_on_every_request_refuses_them_all() {
    let _serial = SERIAL.lock().await;
    let phases = run_with_fault(BadTokenMode::WrongSignature, 1.0).await;
    let [before, _, held, _, after] = phases[..] else { panic!("{phases:?}") };
    assert_eq!(before.1, 0, "before: {before:?}");
    assert!(held.0 >= 300 && held.1 == held.0, "held: {held:?}");
    assert_eq!(after.1, 0, "after: {after:?}");
}
