//! The orchestrator of one run: resolve the target, start watching (telemetry, probes), drive the load through the
//! timeline phase by phase, stop everything, and write the report.
//!
//! It owns the run's clock (one `Instant` every module measures from) and the phase boundaries; load, telemetry
//! and probes only record into the shared [`Recorder`]. Ctrl-C and SIGTERM cancel one token that every task
//! watches, so an interrupted run still ends cleanly and reports the phases it reached as `interrupted`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio_util::sync::CancellationToken;

use crate::cli::RunArgs;
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
    let scenario = Scenario::load(&args.scenario)?;
    let out_dir = out_dir(&args, &scenario.name)?;
    let interrupt = interrupt_token()?;
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let report = rt.block_on(run(&scenario, &args, interrupt))?;
    let path = out_dir.join("report.json");
    report::write_json(&report, &path)?;
    if !args.quiet {
        print!("{}", report::render_table(&report));
        println!("report: {}", path.display());
    }
    // An interrupted run is reported but not judged: exit 2, so a CI gate never passes on half a run.
    Ok(if report.status == RunStatus::Interrupted { ExitCode::from(2) } else { ExitCode::SUCCESS })
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
            eprintln!("interrupted: stopping the load and writing the report (Ctrl-C again will not skip this)");
            t.cancel();
        } else {
            eprintln!("still shutting down; please wait");
        }
    })
    .context("cannot install the Ctrl-C/SIGTERM handler")?;
    Ok(token)
}

pub async fn run(scenario: &Scenario, args: &RunArgs, interrupt: CancellationToken) -> anyhow::Result<Report> {
    let target = Target::resolve(scenario, args.target.as_deref(), args.telemetry.as_deref())?;
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
    let plan = LoadPlan::from_scenario(file, &target.http, target.token.clone())?;
    let load = {
        let (rec, cancel) = (rec.clone(), stop_load.clone());
        tokio::spawn(async move { crate::load::run(&plan, rec, start, cancel).await })
    };

    let stop_progress = CancellationToken::new();
    let walk = async {
        let status = timeline(scenario, &rec, start, &interrupt, &progress).await;
        stop_progress.cancel();
        status
    };
    let (status, ()) = tokio::join!(walk, progress.follow(rec.clone(), phase_names.clone(), stop_progress.clone()));

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
    rec.event(Instant::now(), EventKind::RunEnded { status: format!("{status:?}").to_lowercase() });

    let record = rec.finish();
    Ok(Report {
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
        verdict: None,
        expectations: Vec::new(),
        record,
    })
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

/// Walk the phases on absolute deadlines (no drift however long the run).
async fn timeline(
    scenario: &Scenario,
    rec: &Recorder,
    start: Instant,
    interrupt: &CancellationToken,
    progress: &Progress,
) -> RunStatus {
    let mut at = start;
    for (i, phase) in scenario.file.phases.iter().enumerate() {
        rec.enter_phase(i, at);
        progress.line(&format!("phase {} ({:?})", phase.name, phase.duration));
        at += phase.duration;
        tokio::select! {
            _ = interrupt.cancelled() => return RunStatus::Interrupted,
            _ = tokio::time::sleep_until(at.into()) => {}
        }
    }
    RunStatus::Completed
}
