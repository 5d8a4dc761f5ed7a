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
//! Exit codes: the report's outcome decides (see [`report::decide`] and `EXIT_CODES` in the CLI): 0 passed or
//! observed, 1 failed, 2 a harness error (a fault that failed to inject or roll back, a signal not measured, a
//! baseline that does not compare) or an interrupted run. The exit code, the headline printed here and every report
//! format read the same [`report::Outcome`].

mod faults;
mod step_summary;
mod verdict;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio_util::sync::CancellationToken;

use crate::cli::{Format, RunArgs};
use crate::fault::FaultSpec;
use crate::fault::proxy::Proxy;
use crate::load::LoadPlan;
use crate::metrics::{Exporter, MetricsOptions, Sources};
use crate::probe::ProbePlan;
use crate::progress::Progress;
use crate::record::{EventKind, Recorder};
use crate::report::{self, BaselineCheck, Report, RunStatus, ScenarioInfo, ShardInfo, TargetInfo, Tool};
use crate::scenario::Scenario;
use crate::target::Target;
use crate::telemetry::WatchOptions;

/// How long stopped tasks get to finish their in-flight work before the report is written without them.
const DRAIN: Duration = Duration::from_secs(5);

pub(crate) fn main(args: RunArgs) -> anyhow::Result<ExitCode> {
    let mut scenario = Scenario::load(&args.scenario)?;
    // Hashed before the shard takes the faults off, so every shard of one drill carries the same hash.
    let hash = ScenarioInfo::hash_of(&scenario.file);
    if args.shard.is_some_and(|s| s.index != 0) {
        // The timeline's faults belong to shard 0 alone: N shards together are one drill, not N.
        scenario.faults.clear();
        scenario.file.phases.iter_mut().for_each(|p| p.faults.clear());
    }
    let out_dir = out_dir(&args, &scenario.name)?;
    // Read before the run, so a wrong path fails before the target is touched.
    let baseline = args.baseline.as_deref().map(|p| report::read_json(p).map(|r| (p, r))).transpose()?;
    let interrupt = interrupt_token()?;
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let mut report = rt.block_on(run(&scenario, &args, interrupt))?;
    report.scenario.hash = hash;
    if let Some((path, baseline)) = &baseline {
        let tolerance = args.tolerance.over(&scenario.file.baseline).resolved();
        match report::compare(baseline, &report, &tolerance) {
            Ok(c) => {
                print!("{}", c.render(false));
                let regressions = c.regressions().map(report::Delta::describe).collect();
                report.baseline = Some(BaselineCheck { path: path.to_path_buf(), tolerance, regressions });
            }
            Err(mismatch) => {
                report.errors.push(format!("the baseline {} does not compare: {mismatch}", path.display()))
            }
        }
    }
    report.outcome = report::decide(&report);
    // report.json is always written: compare, merge and `report` read it back.
    let formats: Vec<Format> = std::iter::once(Format::Json).chain(args.format.iter().copied()).collect();
    let files = report::render_all(&report, &out_dir, &formats)?;
    if let Some(path) = &args.summary_file {
        step_summary::append(&report, path, &out_dir)?;
    }
    if !args.quiet {
        print!("{}", report::render_table(&report));
    }
    if let Some(v) = &report.verdict {
        print!("{}", verdict::summary(v, &report.expectations, &report.record));
    }
    if report.target.insecure {
        println!("{}", report::INSECURE);
    }
    print!("{}", report::headline_and_reasons(&report));
    for f in &files {
        println!("report: {}", f.display());
    }
    if let Some(path) = &args.summary_file {
        println!("summary: appended to {}", path.display());
    }
    for e in &report.errors {
        eprintln!("error: {e}");
    }
    Ok(ExitCode::from(report.outcome.conclusion.exit_code()))
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

/// Run the scenario and build its report; the outcome is decided by the caller once a baseline is compared.
pub(crate) async fn run(scenario: &Scenario, args: &RunArgs, interrupt: CancellationToken) -> anyhow::Result<Report> {
    let journal = faults::RunFaults::open_journal(scenario, args.journal.as_deref())?;
    // Before the target is touched: a metrics address in use ends the run here, before any load.
    let mut exporter = Exporter::start(metrics_options(scenario, args)?).await?;
    let target = Target::resolve(scenario, args.target.as_deref(), args.telemetry.as_deref(), &args.tls)?;
    if let Some(tls) = &target.tls {
        crate::tls::preflight(&target.http, target.telemetry.as_deref(), tls).await?;
    }
    let proxy = network_proxy(scenario, &target).await?.map(Arc::new);
    let mut plan = LoadPlan::from_scenario(scenario, &target.http, target.token.clone())?;
    (plan.tls, plan.via) = (target.tls.clone(), proxy.as_ref().map(|p| p.local_addr()));
    plan.check()?;
    if let Some(shard) = args.shard {
        plan.share(shard.index, shard.count);
    }
    let faults =
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
    exporter.attach(
        metrics_sources(scenario, &rec, faults.as_ref()),
        faults::target_host(&target).ok().map(|h| format!("{}:{}", h.host, h.http_port)),
    );

    let stop_watching = CancellationToken::new();
    let progress = Progress::new(args.quiet, total);
    let mut watchers = tokio::task::JoinSet::new();
    // A watcher that fails is a signal the run did not measure: a harness error, so a gate cannot pass on checks
    // that merely had no data.
    if let Some(url) = target.telemetry.clone() {
        let (rec, cancel) = (rec.clone(), stop_watching.clone());
        let opts = WatchOptions { tls: target.tls.clone(), ..WatchOptions::default() };
        watchers.spawn(async move {
            match crate::telemetry::watch(&url, &opts, rec, cancel).await {
                Err(e) => Some(format!("telemetry was not measured: {e:#}")),
                Ok(s) if s.connections == 0 => {
                    Some(format!("telemetry was not measured: {url} never accepted a connection"))
                }
                Ok(_) => None,
            }
        });
    }
    if let Some(plan) = crate::probe::prometheus::QueryPlan::from_probe(&file.probe) {
        let (rec, cancel) = (rec.clone(), stop_watching.clone());
        watchers.spawn(async move {
            crate::probe::prometheus::watch(plan, rec, cancel).await;
            None
        });
    }
    let mut probes = probe_plan(&target, &file.probe);
    if let Some(on) = crate::host::probe_commands(file) {
        rec.event(start, EventKind::Note { message: format!("memory and disk probes read on host {}", on.host) });
        for (series, cmd) in [("memory_mb", &on.memory), ("disk_pct", &on.disk), ("cpu_pct", &on.cpu)] {
            if cmd.is_some() {
                rec.probe_host(series, &on.host);
            }
        }
        probes.memory_command = probes.memory_command.or(on.memory);
        probes.disk_command = probes.disk_command.or(on.disk);
        probes.cpu_command = on.cpu;
        probes.host = Some(on.host);
    }
    let (prec, pcancel) = (rec.clone(), stop_watching.clone());
    watchers.spawn(async move {
        crate::probe::run_probes(probes, prec, pcancel).await.err().map(|e| format!("the probes did not run: {e:#}"))
    });

    let stop_load = interrupt.child_token();
    let load = {
        let (rec, cancel) = (rec.clone(), stop_load.clone());
        tokio::spawn(async move { crate::load::run(&plan, rec, start, cancel).await })
    };

    let stop_progress = CancellationToken::new();
    let walk = async {
        let status = timeline(scenario, &rec, start, &interrupt, &progress, faults.as_ref()).await;
        stop_progress.cancel();
        status
    };
    let (status, ()) = tokio::join!(walk, progress.follow(rec.clone(), phase_names.clone(), stop_progress.clone()));
    // Before anything else: an interrupted run must not hold a fault while it drains the load.
    if let Some(f) = &faults {
        f.rollback_all(&rec).await;
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
    let mut errors = Vec::new();
    let drained = tokio::time::timeout(DRAIN, async {
        while let Some(ended) = watchers.join_next().await {
            errors.extend(ended.unwrap_or_else(|e| Some(format!("a watcher failed: {e}"))));
        }
    })
    .await;
    if drained.is_err() {
        tracing::warn!("a watcher did not stop within its drain time");
    }
    if let Some(f) = faults {
        errors.extend(f.finish(&rec).await);
    }
    // Fault handles are weak, so the run holds the only strong reference once the faults are finished.
    if let Some(p) = proxy.and_then(Arc::into_inner) {
        p.shutdown().await;
    }
    rec.event(Instant::now(), EventKind::RunEnded { status: format!("{status:?}").to_lowercase() });

    let record = rec.finish();
    let judged = (status == RunStatus::Completed).then(|| {
        let local = faults::target_host(&target).is_ok_and(|h| h.is_local());
        crate::judge::judge_record(&record, file, local.then(verdict::host_memory_mb).flatten())
    });
    let (verdict, expectations) = judged.map_or((None, Vec::new()), |(v, e)| (Some(v), e));
    let mut report = Report {
        schema_version: report::SCHEMA_VERSION,
        tool: Tool::current(),
        scenario: ScenarioInfo {
            name: scenario.name.clone(),
            path: args.scenario.clone(),
            hash: ScenarioInfo::hash_of(file),
            file: file.clone(),
        },
        target: TargetInfo {
            url: target.http.clone(),
            telemetry: target.telemetry.clone(),
            embedded: target.embedded.is_some(),
            authenticated: target.token.is_some(),
            insecure: target.insecure,
        },
        started_at: started_at.to_rfc3339(),
        duration_s: end.duration_since(start).as_secs_f64(),
        status,
        outcome: report::Outcome::UNDECIDED,
        errors,
        run_id: (0..16).map(|_| format!("{:02x}", rand::random::<u8>())).collect(),
        shard: args.shard.map(|s| ShardInfo { index: s.index, count: s.count }),
        baseline: None,
        phases: report::summarize(&record),
        verdict,
        expectations,
        record,
    };
    exporter.finish().await;
    report.outcome = report::decide(&report);
    Ok(report)
}

/// The flags win over the scenario's `[metrics]` (already checked by validate).
fn metrics_options(scenario: &Scenario, args: &RunArgs) -> anyhow::Result<MetricsOptions> {
    let m = &scenario.file.metrics;
    let listen = match (args.metrics_listen, &m.listen) {
        (Some(a), _) => Some(a),
        (None, Some(l)) => Some(l.parse().with_context(|| format!("[metrics] listen = {l:?} is not host:port"))?),
        (None, None) => None,
    };
    Ok(MetricsOptions {
        listen,
        remote_write: args.metrics_remote_write.clone().or_else(|| m.remote_write.clone()),
        shard: args.shard.map_or(0, |s| s.index).to_string(),
        tls: crate::target::tls_options(scenario.file.target.as_ref(), &args.tls)?,
    })
}

fn metrics_sources(scenario: &Scenario, rec: &Recorder, faults: Option<&faults::RunFaults>) -> Sources {
    let held = faults.map(faults::RunFaults::held);
    Sources {
        rec: rec.clone(),
        scenario: scenario.name.clone(),
        phases: scenario.file.phases.iter().map(|p| p.name.clone()).collect(),
        faults: scenario.faults.iter().map(|f| (f.name.clone(), f.kind.name())).collect(),
        held: Arc::new(move || held.as_ref().map(|h| h()).unwrap_or_default()),
        profile: scenario.file.thresholds.resolve(),
    }
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
    let mut plan = ProbePlan::new(target.http.clone());
    plan.tls = target.tls.clone();
    plan.token = target.token.clone();
    plan.state_mapping = target.state_mapping;
    plan.pid = target.pid;
    plan.disk_path = target.disk_path.clone();
    plan.memory_command = probe.memory_command.clone();
    plan.disk_command = probe.disk_command.clone();
    plan.cpu = probe.cpu;
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
    faults: Option<&faults::RunFaults>,
) -> RunStatus {
    let mut at = start;
    for (i, phase) in scenario.file.phases.iter().enumerate() {
        rec.enter_phase(i, at);
        progress.line(&format!("phase {} ({:?})", phase.name, phase.duration));
        if let Some(f) = faults {
            f.enter_phase(i, rec).await;
        }
        at += phase.duration;
        tokio::select! {
            _ = interrupt.cancelled() => return RunStatus::Interrupted,
            _ = tokio::time::sleep_until(at.into()) => {}
        }
        if let Some(f) = faults {
            f.leave_phase(i, rec).await;
        }
    }
    RunStatus::Completed
}
