//! The orchestrator of one run: resolve the target, prepare the faults (journal, preflight, watchdog), start
//! watching (telemetry, probes), drive the load through the timeline phase by phase while faults are injected and
//! rolled back, stop everything, judge the record against the runbook, and write the report.
//!
//! It owns the run's clock (one `Instant` every module measures from) and the phase boundaries; load, telemetry
//! and probes only record into the shared [`Recorder`]. Ctrl-C and SIGTERM cancel one token that every task
//! watches, so an interrupted run rolls its faults back first, then ends cleanly and reports the phases it reached
//! as `interrupted`.
//!
//! Routing: with a `network` fault the load goes through one built-in proxy for the whole run (so a toxic never
//! changes where clients connect), while `/status` probes and telemetry stay direct. Decision: the load is what
//! users see through the network; the probes are the operator's view from inside, as the runbook's own checks on
//! the host are, so a slow network shows up as slow responses but not as an unreachable `/status`.
//!
//! Exit codes: 0 every expectation held; 1 an expectation broke (the CI gate); 2 a harness error, an interrupted
//! run, or a fault that failed to inject or roll back (the drill did not do what it said, so it cannot pass).

mod faults;
mod verdict;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio_util::sync::CancellationToken;

use crate::cli::{Format, RunArgs, Tolerance};
use crate::fault::FaultSpec;
use crate::fault::proxy::Proxy;
use crate::judge::CheckResult;
use crate::load::LoadPlan;
use crate::probe::ProbePlan;
use crate::progress::Progress;
use crate::record::{EventKind, Recorder};
use crate::report::{self, Report, RunStatus, ScenarioInfo, TargetInfo, Tool};
use crate::scenario::Scenario;
use crate::target::Target;
use crate::telemetry::WatchOptions;

/// How long stopped tasks get to finish their in-flight work before the report is written without them.
const DRAIN: Duration = Duration::from_secs(5);

pub fn main(args: RunArgs) -> anyhow::Result<ExitCode> {
    let mut scenario = Scenario::load(&args.scenario)?;
    if args.shard.is_some_and(|s| s.index != 0) {
        // The timeline's faults belong to shard 0 alone: N shards together are one drill, not N.
        scenario.faults.clear();
        scenario.file.phases.iter_mut().for_each(|p| p.faults.clear());
    }
    let out_dir = out_dir(&args, &scenario.name)?;
    // Read before the run, so a wrong path fails before the target is touched.
    let baseline = args.baseline.as_deref().map(report::read_json).transpose()?;
    let interrupt = interrupt_token()?;
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let Outcome { report, errors } = rt.block_on(run(&scenario, &args, interrupt))?;
    // report.json is always written: compare, merge and `report` read it back.
    let formats: Vec<Format> = std::iter::once(Format::Json).chain(args.format.iter().copied()).collect();
    let files = report::render_all(&report, &out_dir, &formats)?;
    if !args.quiet {
        print!("{}", report::render_table(&report));
    }
    if let Some(v) = &report.verdict {
        print!("{}", verdict::summary(v, &report.expectations, &report.record));
    }
    let mut code = exit_code(report.status, &errors, &report.expectations);
    if let Some(baseline) = &baseline {
        match report::compare(baseline, &report, &Tolerance::default()) {
            Ok(c) => {
                print!("{}", c.render());
                if c.regressed() {
                    code = code.max(1);
                }
            }
            Err(mismatch) => {
                eprintln!("error: the baseline does not compare: {mismatch}");
                code = 2;
            }
        }
    }
    for f in &files {
        println!("report: {}", f.display());
    }
    for e in &errors {
        eprintln!("error: {e}");
    }
    Ok(ExitCode::from(code))
}

/// An interrupted run is reported but not judged, and a fault that failed makes the drill invalid: both exit 2, so
/// a CI gate never passes on half a run.
fn exit_code(status: RunStatus, errors: &[String], expectations: &[CheckResult]) -> u8 {
    if status == RunStatus::Interrupted || !errors.is_empty() {
        2
    } else if expectations.iter().any(|e| !e.passed) {
        1
    } else {
        0
    }
}

/// A finished run: its report, and the harness errors that make it exit 2 (failed injections or rollbacks).
pub struct Outcome {
    pub report: Report,
    pub errors: Vec<String>,
}

/// Sleep until a wall-clock instant (`--start-at`), so shards on several machines start their timelines together;
/// an instant already past starts at once.
async fn wait_until(at: chrono::DateTime<chrono::Utc>, interrupt: &CancellationToken) {
    let wait = (at - chrono::Utc::now()).to_std().unwrap_or_default();
    tokio::select! {
        _ = interrupt.cancelled() => {}
        _ = tokio::time::sleep(wait) => {}
    }
}

/// The directory is created before anything runs, so a bad `--out` fails before the target is touched.
fn out_dir(args: &RunArgs, name: &str) -> anyhow::Result<PathBuf> {
    let dir = match &args.out {
        Some(d) => d.clone(),
        None => Path::new("reports").join(format!("{name}-{}", chrono::Utc::now().format("%Y%m%dT%H%M%SZ"))),
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create the report directory {}", dir.display()))?;
    Ok(dir)
}

/// The first Ctrl-C or SIGTERM cancels the run; later ones only say that shutdown is under way. Installed before
/// any load starts so that goose (which installs its own handler that exits on a second Ctrl-C) finds ours taken.
fn interrupt_token() -> anyhow::Result<CancellationToken> {
    let token = CancellationToken::new();
    let presses = Arc::new(AtomicU32::new(0));
    let t = token.clone();
    ctrlc::set_handler(move || {
        if presses.fetch_add(1, Ordering::SeqCst) == 0 {
            eprintln!("interrupted: rolling back faults, stopping the load and writing the report");
            t.cancel();
        } else {
            eprintln!("rollback in progress; it is not skipped, please wait");
        }
    })
    .context("cannot install the Ctrl-C/SIGTERM handler")?;
    Ok(token)
}

pub async fn run(scenario: &Scenario, args: &RunArgs, interrupt: CancellationToken) -> anyhow::Result<Outcome> {
    let journal = faults::RunFaults::open_journal(scenario, args.journal.as_deref())?;
    let target = Target::resolve(scenario, args.target.as_deref(), args.telemetry.as_deref())?;
    let proxy = network_proxy(scenario, &target).await?.map(Arc::new);
    let load_url = proxy.as_ref().map_or_else(|| target.http.clone(), |p| format!("http://{}", p.local_addr()));
    let mut plan = LoadPlan::from_scenario(scenario, &load_url, target.token.clone())?;
    if let Some(shard) = args.shard {
        plan.share(shard.index, shard.count);
    }
    let mut faults =
        faults::RunFaults::prepare(scenario, &target, args.dry_run, journal, proxy.as_ref(), &plan.auth_fault)?;
    if let Some(at) = args.start_at {
        wait_until(at, &interrupt).await;
    }
    let file = &scenario.file;
    let phase_names: Vec<String> = file.phases.iter().map(|p| p.name.clone()).collect();
    let total: Duration = file.phases.iter().map(|p| p.duration).sum();
    let started_at = chrono::Utc::now();
    let start = Instant::now();
    let rec = Recorder::new(start, &phase_names);
    rec.event(start, EventKind::RunStarted { target: target.http.clone() });

    let stop_watching = CancellationToken::new();
    let progress = Progress::new(args.quiet, total);
    let mut watchers = tokio::task::JoinSet::new();
    if let Some(url) = target.telemetry.clone() {
        let (rec, cancel) = (rec.clone(), stop_watching.clone());
        watchers.spawn(async move {
            if let Err(e) = crate::telemetry::watch(&url, &WatchOptions::default(), rec, cancel).await {
                tracing::warn!("telemetry watcher ended: {e:#}");
            }
        });
    }
    let probes = probe_plan(&target, &file.probe);
    let (prec, pcancel) = (rec.clone(), stop_watching.clone());
    watchers.spawn(async move {
        if let Err(e) = crate::probe::run_probes(probes, prec, pcancel).await {
            tracing::warn!("probes ended: {e:#}");
        }
    });

    let stop_load = interrupt.child_token();
    let load = {
        let (rec, cancel) = (rec.clone(), stop_load.clone());
        tokio::spawn(async move { crate::load::run(&plan, rec, start, cancel).await })
    };

    let stop_progress = CancellationToken::new();
    let walk = async {
        let status = timeline(scenario, &rec, start, &interrupt, &progress, faults.as_mut()).await;
        stop_progress.cancel();
        status
    };
    let (status, ()) = tokio::join!(walk, progress.follow(rec.clone(), phase_names.clone(), stop_progress.clone()));
    // Before anything else: an interrupted run must not hold a fault while it drains the load.
    if let Some(f) = faults.as_mut() {
        f.rollback_all(&rec);
    }

    let end = Instant::now();
    rec.end_phase(end);
    stop_load.cancel();
    match tokio::time::timeout(DRAIN + file.load.timeout, load).await {
        Ok(Ok(Err(e))) => tracing::warn!("load ended with an error: {e:#}"),
        Ok(Err(e)) => tracing::warn!("load task failed: {e}"),
        Err(_) => tracing::warn!("load did not stop within its drain time"),
        Ok(Ok(Ok(()))) => {}
    }
    stop_watching.cancel();
    let _ = tokio::time::timeout(DRAIN, async { while watchers.join_next().await.is_some() {} }).await;
    let errors = faults.map(|f| f.finish(&rec)).unwrap_or_default();
    // Fault handles are weak, so the run holds the only strong reference once the faults are finished.
    if let Some(p) = proxy.and_then(Arc::into_inner) {
        p.shutdown().await;
    }
    rec.event(Instant::now(), EventKind::RunEnded { status: format!("{status:?}").to_lowercase() });

    let mut record = rec.finish();
    let judged = (status == RunStatus::Completed).then(|| {
        let local = faults::target_host(&target).is_ok_and(|h| h.is_local());
        verdict::judge(scenario, &mut record, local.then(verdict::host_memory_mb).flatten())
    });
    let (verdict, expectations) = judged.map_or((None, Vec::new()), |(v, e)| (Some(v), e));
    let report = Report {
        schema_version: report::SCHEMA_VERSION,
        tool: Tool::current(),
        scenario: ScenarioInfo { name: scenario.name.clone(), path: args.scenario.clone(), file: file.clone() },
        target: TargetInfo {
            url: target.http.clone(),
            telemetry: target.telemetry.clone(),
            embedded: target.embedded.is_some(),
            authenticated: target.token.is_some(),
        },
        started_at: started_at.to_rfc3339(),
        duration_s: end.duration_since(start).as_secs_f64(),
        status,
        phases: report::summarize(&record),
        verdict,
        expectations,
        record,
    };
    Ok(Outcome { report, errors })
}

/// With a `network` fault, the one proxy the load goes through for the whole run (see the module doc).
async fn network_proxy(scenario: &Scenario, target: &Target) -> anyhow::Result<Option<Proxy>> {
    if !scenario.faults.iter().any(|f| matches!(f.kind, FaultSpec::Network(_))) {
        return Ok(None);
    }
    let host = faults::target_host(target)?;
    let upstream = host.http_addr()?;
    let listen = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    Ok(Some(Proxy::start(listen, upstream).await.context("cannot start the network fault's proxy")?))
}

fn probe_plan(target: &Target, probe: &crate::scenario::Probe) -> ProbePlan {
    let mut plan = ProbePlan::new(format!("{}/status", target.http));
    plan.token = target.token.clone();
    plan.state_mapping = target.state_mapping;
    plan.pid = target.pid;
    plan.disk_path = target.disk_path.clone();
    plan.memory_command = probe.memory_command.clone();
    plan.disk_command = probe.disk_command.clone();
    plan.interval = probe.interval;
    plan
}

/// Walk the phases on absolute deadlines (no drift however long the run), injecting each phase's faults at its
/// start and rolling back at its end those the next phase does not hold.
async fn timeline(
    scenario: &Scenario,
    rec: &Recorder,
    start: Instant,
    interrupt: &CancellationToken,
    progress: &Progress,
    mut faults: Option<&mut faults::RunFaults>,
) -> RunStatus {
    let mut at = start;
    for (i, phase) in scenario.file.phases.iter().enumerate() {
        rec.enter_phase(i, at);
        progress.line(&format!("phase {} ({:?})", phase.name, phase.duration));
        if let Some(f) = faults.as_deref_mut() {
            f.enter_phase(i, rec);
        }
        at += phase.duration;
        tokio::select! {
            _ = interrupt.cancelled() => return RunStatus::Interrupted,
            _ = tokio::time::sleep_until(at.into()) => {}
        }
        if let Some(f) = faults.as_deref_mut() {
            f.leave_phase(i, rec);
        }
    }
    RunStatus::Completed
}
