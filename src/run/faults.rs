//! The run's faults: from the scenario's `[[fault]]` entries to an [`Injector`] held by the timeline, with the
//! guarantees of issue 4 wired in order: a dirty journal refuses the run, every fault is preflighted before the first
//! request, a watchdog covers a run killed with SIGKILL, and a [`RollbackGuard`] covers errors and panics.
//!
//! A fault named by consecutive phases is held across them: it is injected when the first of them starts and rolled
//! back when the last ends. Every [`FaultEvent`] lands in the record's event log at the time it happened.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use parking_lot::Mutex;

use crate::fault::proxy::Proxy;
use crate::fault::runner::PreflightError;
use crate::fault::watchdog::Watchdog;
use crate::fault::{
    self, Allow, FaultContext, FaultEvent, FaultEventKind, Injector, Journal, JournalError, ProxyHandle, RollbackGuard,
    ServiceControl, SimResources, TargetHost,
};
use crate::load::AuthFault;
use crate::record::{EventKind, Recorder};
use crate::scenario::Scenario;
use crate::target::{JWT_SECRET, Target};

/// The faults of one run, between preflight and the final rollback.
///
/// Every injection and rollback runs on tokio's blocking pool ([`RunFaults::off_runtime`]): they run shell commands
/// of up to 60 s, restart the simulator and wait on sockets, and on a 2-core machine a worker taken away from the
/// runtime that sends requests, reads telemetry and ticks the progress line would be measured as the service's
/// latency. The state sits behind a mutex so the blocking pool can borrow it; calls are one at a time anyway.
pub struct RunFaults {
    held: Arc<Mutex<Held>>,
}

struct Held {
    injector: Injector,
    /// Rolls everything back if the run unwinds (an error or a panic) before [`RunFaults::finish`].
    _guard: RollbackGuard,
    watchdog: Option<Watchdog>,
    /// The fault names each phase holds, in timeline order.
    holds: Vec<Vec<String>>,
    /// Failed injections and rollbacks: the drill did not do what it said, so the run cannot pass (exit 2).
    errors: Vec<String>,
}

impl RunFaults {
    /// Open the crash journal before anything is started: a dirty one (an earlier run left a fault behind) refuses the
    /// run, naming `recover`. `None` when the scenario has no faults and another run owns the journal: such a run
    /// touches nothing it would have to record.
    pub fn open_journal(scenario: &Scenario, flag: Option<&Path>) -> anyhow::Result<Option<(Journal, PathBuf)>> {
        let path = fault::journal::resolve_path(flag)?;
        match fault::ensure_clean(&path) {
            Err(JournalError::Busy { .. }) if scenario.faults.is_empty() => Ok(None),
            other => Ok(Some((other?, path))),
        }
    }

    /// Everything that must happen before the first request; an error here has changed nothing. `None` when the
    /// scenario has no faults.
    pub fn prepare(
        scenario: &Scenario,
        target: &Target,
        dry_run: bool,
        journal: Option<(Journal, PathBuf)>,
        proxy: Option<&Arc<Proxy>>,
        load: &AuthFault,
    ) -> anyhow::Result<Option<RunFaults>> {
        let Some((journal, path)) = journal.filter(|_| !scenario.faults.is_empty()) else { return Ok(None) };
        let planned = crate::host::planned(scenario);
        let injector = Injector::new(journal, context(scenario, target, proxy, load)?, planned, dry_run);
        injector.preflight_all().map_err(|e: PreflightError| anyhow::anyhow!(e))?;
        let exe = std::env::current_exe().context("cannot find this program to start the watchdog")?;
        let watchdog = if dry_run { None } else { Some(Watchdog::spawn(&exe, &path)?) };
        let holds = scenario.file.phases.iter().map(|p| p.faults.clone()).collect();
        let held = Held { _guard: injector.guard(), injector, watchdog, holds, errors: Vec::new() };
        Ok(Some(RunFaults { held: Arc::new(Mutex::new(held)) }))
    }

    /// Phase `index` starts: inject what it holds and the previous phase did not.
    pub async fn enter_phase(&self, index: usize, rec: &Recorder) {
        self.off_runtime(rec, move |held, rec| held.enter_phase(index, rec)).await;
    }

    /// Phase `index` ends: roll back what the next phase does not hold too.
    pub async fn leave_phase(&self, index: usize, rec: &Recorder) {
        self.off_runtime(rec, move |held, rec| held.leave_phase(index, rec)).await;
    }

    /// Roll back everything still held (an interrupted run, or a fault held by the last phase), at once.
    pub async fn rollback_all(&self, rec: &Recorder) {
        self.off_runtime(rec, Held::rollback_all).await;
    }

    /// The end of the run: everything rolled back, and the watchdog told so unless the journal is still dirty (then
    /// it stays armed and replays once this run lets go of the journal). Returns the harness errors (exit 2).
    pub async fn finish(self, rec: &Recorder) -> Vec<String> {
        self.off_runtime(rec, Held::finish).await
    }

    /// The names of the faults held at the moment of each call (TTL rollbacks included), for live metrics. Reads
    /// the injector directly, not through the blocking pool: it only takes the injector's lock.
    pub fn held(&self) -> impl Fn() -> Vec<String> + Send + Sync + 'static {
        let injector = self.held.lock().injector.clone();
        move || injector.held()
    }

    /// Run `op` on the blocking pool and wait for it; a panic in it goes on unwinding here, as it would have inline
    /// (the [`RollbackGuard`] still rolls back when the last reference goes).
    async fn off_runtime<T: Send + 'static>(
        &self,
        rec: &Recorder,
        op: impl FnOnce(&mut Held, &Recorder) -> T + Send + 'static,
    ) -> T {
        let (held, rec) = (self.held.clone(), rec.clone());
        match tokio::task::spawn_blocking(move || op(&mut held.lock(), &rec)).await {
            Ok(out) => out,
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        }
    }
}

impl Held {
    fn enter_phase(&mut self, index: usize, rec: &Recorder) {
        let before = index.checked_sub(1).map(|i| self.holds[i].clone()).unwrap_or_default();
        for name in self.holds[index].clone().iter().filter(|n| !before.contains(n)) {
            if let Err(e) = self.injector.inject(name) {
                self.errors.push(e.to_string());
            }
        }
        self.log(rec);
    }

    fn leave_phase(&mut self, index: usize, rec: &Recorder) {
        let next = self.holds.get(index + 1).cloned().unwrap_or_default();
        for name in self.holds[index].clone().iter().filter(|n| !next.contains(n)) {
            if let Err(e) = self.injector.rollback(name) {
                self.errors.push(e.to_string());
            }
        }
        self.log(rec);
    }

    fn rollback_all(&mut self, rec: &Recorder) {
        self.errors.extend(self.injector.rollback_all().iter().map(ToString::to_string));
        self.log(rec);
    }

    fn finish(&mut self, rec: &Recorder) -> Vec<String> {
        self.rollback_all(rec);
        if self.injector.journal_dirty() {
            self.errors.push("a rollback failed and is still in the journal: run `spacetime-drill recover`".into());
        } else if let Some(w) = self.watchdog.take() {
            w.disarm();
        }
        std::mem::take(&mut self.errors)
    }

    /// Move the injector's events (TTL rollbacks included, whenever they ran) into the record.
    fn log(&self, rec: &Recorder) {
        for e in self.injector.take_events() {
            rec.event(e.t, event_kind(e));
        }
    }
}

fn event_kind(e: FaultEvent) -> EventKind {
    let (fault, detail) = (e.fault, e.detail);
    match e.kind {
        FaultEventKind::DryRun => EventKind::FaultDryRun { fault, detail },
        FaultEventKind::Injected => EventKind::FaultInjected { fault, detail },
        FaultEventKind::RolledBack => EventKind::FaultRolledBack { fault, detail },
        FaultEventKind::Failed { error } => EventKind::FaultFailed { fault, error: format!("{detail}: {error}") },
    }
}

/// What faults may touch: the scenario's `[allow]`, plus everything of the embedded simulator (the run created it).
/// The one place a [`FaultContext`] is built from the target.
fn context(
    scenario: &Scenario,
    target: &Target,
    proxy: Option<&Arc<Proxy>>,
    load: &AuthFault,
) -> anyhow::Result<FaultContext> {
    let declared = &scenario.file.allow;
    let mut allow = Allow {
        paths: declared.paths.clone(),
        ports: declared.ports.clone(),
        processes: declared.processes.clone(),
        pids: Vec::new(),
        units: declared.units.clone(),
    };
    let (mut service, mut sim) = (None, None);
    if let Some(e) = &target.embedded {
        let secret = e.secrets.path().join(JWT_SECRET);
        let secret = secret.exists().then_some(secret);
        sim = Some(SimResources::new(
            &e.started.ports,
            e.started.data_dir.clone(),
            e.started.project_dir.clone(),
            secret,
        ));
        let p = e.started.ports;
        allow.ports.extend([p.http, p.telemetry, p.dap, p.lsp]);
        allow.paths.extend([e.started.data_dir.clone(), e.started.project_dir.clone(), e.secrets.path().to_owned()]);
        service = Some(e.control.clone() as Arc<dyn ServiceControl>);
    }
    Ok(FaultContext {
        exe: std::env::current_exe().context("cannot find this program to start fault holders")?,
        allow,
        target: target_host(target)?,
        service,
        sim,
        proxy: proxy.map(ProxyHandle::new),
        auth: Some(Arc::new(load.clone())),
        jwt_secret: target.embedded.as_ref().and_then(|e| e.jwt_secret.clone()),
    })
}

/// Host and port of the target's HTTP API.
pub fn target_host(target: &Target) -> anyhow::Result<TargetHost> {
    let uri: hyper::Uri = target.http.parse().with_context(|| format!("target URL {}", target.http))?;
    let host = uri.host().unwrap_or("127.0.0.1").to_owned();
    let http_port = uri.port_u16().unwrap_or(if uri.scheme_str() == Some("https") { 443 } else { 80 });
    Ok(TargetHost { host, http_port })
}
