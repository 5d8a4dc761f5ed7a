//! Read-only checks on a fixed cadence: `/status` (reachable, `overall_ready`, DAP/LSP state), the target's resident
//! memory and the disk usage where it writes; [`prometheus`] asks the scenario's PromQL queries on the same grid.
//!
//! Ticks sit on absolute deadlines half an interval off the start (phase boundaries, where faults are injected,
//! fall on the run's whole seconds; a probe on the boundary itself would see the state just before or just after
//! the injection at random, and time to detect would jitter by a whole interval), with
//! [`MissedTickBehavior::Skip`]: the three checks of a tick run concurrently and each is bounded by the plan's
//! timeout, so a hung `/status` delays nothing else; if the timeout is longer than the interval the missed ticks are skipped rather than fired in a burst, so
//! samples stay on the one-per-interval grid the per-second rows expect. Every value is recorded at its tick's
//! start (the time the question was asked, as with requests), and only changes become events.

mod command;
pub mod host;
pub mod prometheus;
mod status;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

pub(crate) use host::{CpuMeter, CpuOf};
pub use host::{disk_used_pct, pid_listening_on, resident_mb};

use crate::api::StateMapping;
use crate::record::{EventKind, Recorder};
use crate::secret::Secret;
use crate::tls::Dialer;
use crate::url::{ServiceUrl, UrlRole};
use status::{Changes, StatusClient};

/// What to probe and how often.
#[derive(Debug, Clone)]
pub struct ProbePlan {
    /// Base URL of the API, e.g. `https://127.0.0.1:8080`; the probe asks its `/status`.
    pub url: String,
    /// The run's TLS client configuration (`https`); `None` = the defaults.
    pub tls: Option<std::sync::Arc<rustls::ClientConfig>>,
    /// Bearer token for `/status`; without it a target with auth answers 401 and its DAP/LSP states stay unknown.
    pub token: Option<Secret>,
    /// How this target's `/status` numbers the DAP/LSP states (`[target] state_mapping`), so a build that shifted
    /// them is not read as disconnected.
    pub state_mapping: StateMapping,
    /// Local target's PID. Without it and without `memory_command`, a target on a loopback URL is found by the
    /// port it listens on (and found again if it is restarted).
    pub pid: Option<u32>,
    /// A path on the filesystem whose fullness the disk rules judge (for the embedded simulator with
    /// `data_fs_mib`, its data directory).
    pub disk_path: Option<PathBuf>,
    /// Remote target: a command printing resident memory in MB. Preferred over `pid` when both are given.
    pub memory_command: Option<String>,
    /// Remote target: a command printing disk usage in percent. Preferred over `disk_path` when both are given.
    pub disk_command: Option<String>,
    /// Measure CPU use too: of the local process the memory probe reads, between ticks.
    pub cpu: bool,
    /// A command printing CPU use in percent. Preferred over `cpu` when both are given.
    pub cpu_command: Option<String>,
    /// The `[[host]]` the command probes read on, named in their failures.
    pub host: Option<String>,
    /// Time between ticks; a tick takes every reading of the plan together, so they share one timestamp.
    pub interval: Duration,
    /// Bound on each check of a tick.
    pub timeout: Duration,
}

impl ProbePlan {
    /// `/status` only, every second, each check bounded to one second.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            tls: None,
            token: None,
            state_mapping: StateMapping::default(),
            pid: None,
            disk_path: None,
            memory_command: None,
            disk_command: None,
            cpu: false,
            cpu_command: None,
            host: None,
            interval: Duration::from_secs(1),
            timeout: Duration::from_secs(1),
        }
    }
}

/// Counts of one probing session, for tests and logs (a run keeps only whether its probes could run at all; what
/// they saw is in the record).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ProbeSummary {
    /// Probe rounds completed; each asks `/status` once and reads every configured gauge once.
    pub ticks: u64,
    /// Ticks whose `/status` got no answer (refused, reset, timed out); an answer with an error status still counts
    /// as reachable.
    pub status_unreachable: u64,
    /// Ticks with a resident-memory reading; fewer than `ticks` when the process was gone or the command failed.
    pub memory_samples: u64,
    /// Ticks with a disk-usage reading.
    pub disk_samples: u64,
    /// Ticks with a CPU reading; the first local reading has none (a CPU figure needs two).
    pub cpu_samples: u64,
}

/// Probe until `cancel`. Errs only on a plan that cannot work at all (a bad URL or token); a target that is down,
/// slow or unmeasurable is recorded, never an error.
pub async fn run_probes(plan: ProbePlan, rec: Recorder, cancel: CancellationToken) -> anyhow::Result<ProbeSummary> {
    let url = ServiceUrl::parse(&plan.url, UrlRole::Api).map_err(|e| anyhow::anyhow!("status probe: {e}"))?;
    let dialer = Dialer::new(&url, plan.tls.as_ref())?;
    let client = StatusClient::new(dialer, &url.authority(), plan.token.as_ref().map(Secret::expose), plan.timeout)?;
    let local = match plan.pid {
        Some(pid) => Some(MemorySource::Pid(pid)),
        None => loopback_port(&url).map(|port| MemorySource::Port { port, pid: None }),
    };
    let cpu_source = match (&plan.cpu_command, plan.cpu) {
        (Some(cmd), _) => Some(CpuSource::Command(cmd.clone())),
        (None, true) => Some(CpuSource::Local { process: local.clone(), meter: None }),
        (None, false) => None,
    };
    let memory_source = match &plan.memory_command {
        Some(cmd) => Some(MemorySource::Command(cmd.clone())),
        None => local,
    };
    let disk_source = match (&plan.disk_command, &plan.disk_path) {
        (Some(cmd), _) => Some(DiskSource::Command(cmd.clone())),
        (None, Some(path)) => Some(DiskSource::Path(path.clone())),
        (None, None) => None,
    };
    // A failure of a probe read on a `[[host]]` names the host, as its series in the report does.
    let on = |name: &str, command: bool| match (&plan.host, command) {
        (Some(host), true) => format!("{name} on host {host}"),
        _ => name.to_owned(),
    };
    let mut memory = memory_source.map(|s| Watched::new(on("memory", matches!(s, MemorySource::Command(_))), s));
    let mut disk = disk_source.map(|s| Watched::new(on("disk", matches!(s, DiskSource::Command(_))), s));
    let mut cpu = cpu_source.map(|s| Watched::new(on("cpu", matches!(s, CpuSource::Command(_))), s));
    let mut changes = Changes::default();
    let mut summary = ProbeSummary::default();
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + plan.interval / 2, plan.interval);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            () = cancel.cancelled() => break,
            _ = ticker.tick() => {}
        }
        let at = Instant::now();
        let work = async {
            let mem = async {
                match memory.as_mut() {
                    Some(m) => Some(m.measure(&rec, at, plan.timeout).await),
                    None => None,
                }
            };
            let dsk = async {
                match disk.as_mut() {
                    Some(d) => Some(d.measure(&rec, at, plan.timeout).await),
                    None => None,
                }
            };
            let cpu = async {
                match cpu.as_mut() {
                    Some(c) => Some(c.measure(&rec, at, plan.timeout).await),
                    None => None,
                }
            };
            tokio::join!(client.probe(plan.state_mapping), mem, dsk, cpu)
        };
        let (reading, mem, dsk, cpu) = tokio::select! {
            () = cancel.cancelled() => break,
            r = work => r,
        };
        summary.ticks += 1;
        summary.status_unreachable += u64::from(!reading.sample.reachable);
        for kind in changes.observe(&reading) {
            rec.event(at, kind);
        }
        rec.status(at, reading.sample);
        if let Some(Some(mb)) = mem {
            summary.memory_samples += 1;
            rec.memory(at, mb);
        }
        if let Some(Some(pct)) = dsk {
            summary.disk_samples += 1;
            rec.disk(at, pct);
        }
        if let Some(Some(pct)) = cpu {
            summary.cpu_samples += 1;
            rec.cpu(at, pct);
        }
    }
    Ok(summary)
}

/// The port of a URL whose host is this machine, where the listener's process can be found in `/proc`.
fn loopback_port(url: &ServiceUrl) -> Option<u16> {
    url.is_loopback().then_some(url.port)
}

#[derive(Clone)]
enum MemorySource {
    Command(String),
    Pid(u32),
    /// Whoever listens on the port; the PID is cached and looked up again when it stops answering.
    Port {
        port: u16,
        pid: Option<u32>,
    },
}

enum DiskSource {
    Command(String),
    Path(PathBuf),
}

trait Measure {
    async fn read(&mut self, timeout: Duration) -> Result<f64, String>;
}

impl Measure for MemorySource {
    async fn read(&mut self, timeout: Duration) -> Result<f64, String> {
        match self {
            Self::Command(cmd) => command::number(cmd, timeout).await,
            Self::Pid(pid) => resident_mb(*pid).map_err(|e| format!("process {pid}: {e}")),
            Self::Port { .. } => {
                let p = self.pid().await?;
                resident_mb(p).map_err(|e| format!("process {p}: {e}"))
            }
        }
    }
}

impl MemorySource {
    /// The local process measured, looked up again by its port when the cached one is gone or a zombie (no resident
    /// memory): the target may have been restarted.
    async fn pid(&mut self) -> Result<u32, String> {
        match self {
            Self::Command(_) => Err("the target's process is not on this machine".into()),
            Self::Pid(pid) => Ok(*pid),
            Self::Port { port, pid } => {
                if let Some(p) = pid.filter(|p| resident_mb(*p).is_ok()) {
                    return Ok(p);
                }
                let port = *port;
                let found = tokio::task::spawn_blocking(move || pid_listening_on(port))
                    .await
                    .map_err(|e| format!("looking up port {port}: {e}"))?
                    .map_err(|e| format!("looking up port {port}: {e}"))?;
                *pid = found;
                found.ok_or_else(|| format!("no process we may inspect listens on port {port}"))
            }
        }
    }
}

enum CpuSource {
    Command(String),
    /// Deltas between ticks of the process `process` finds; a new process (a restart) starts a new meter.
    Local {
        process: Option<MemorySource>,
        meter: Option<(u32, CpuMeter)>,
    },
}

impl Measure for CpuSource {
    async fn read(&mut self, timeout: Duration) -> Result<f64, String> {
        match self {
            Self::Command(cmd) => command::number(cmd, timeout).await,
            Self::Local { process: None, .. } => Err("the target's process is not on this machine".into()),
            Self::Local { process: Some(process), meter } => {
                let pid = process.pid().await?;
                let failed = |e: std::io::Error| format!("process {pid}: {e}");
                if meter.as_ref().is_none_or(|(p, _)| *p != pid) {
                    // A new meter's first reading is only a start: its first value covers a short window.
                    let mut m = CpuMeter::new(CpuOf::Process(pid));
                    m.sample().map_err(failed)?;
                    tokio::time::sleep((timeout / 4).min(Duration::from_millis(250))).await;
                    *meter = Some((pid, m));
                }
                let (_, m) = meter.as_mut().expect("set above");
                let pct = m.sample().map_err(failed);
                if !matches!(pct, Ok(Some(_))) {
                    *meter = None;
                }
                pct?.ok_or_else(|| format!("process {pid}: no CPU ticks passed"))
            }
        }
    }
}

impl Measure for DiskSource {
    async fn read(&mut self, timeout: Duration) -> Result<f64, String> {
        match self {
            Self::Command(cmd) => command::number(cmd, timeout).await,
            Self::Path(path) => disk_used_pct(path).map_err(|e| format!("{}: {e}", path.display())),
        }
    }
}

/// A measurement plus whether it is currently failing, so a broken probe is one event per failure spell, not one
/// per tick.
struct Watched<S> {
    name: String,
    source: S,
    failing: bool,
}

impl<S: Measure> Watched<S> {
    fn new(name: String, source: S) -> Self {
        Self { name, source, failing: false }
    }

    async fn measure(&mut self, rec: &Recorder, at: Instant, timeout: Duration) -> Option<f64> {
        let r = match tokio::time::timeout(timeout, self.source.read(timeout)).await {
            Ok(r) => r,
            Err(_) => Err(format!("no answer within {timeout:?}")),
        };
        match r {
            Ok(v) => {
                self.failing = false;
                Some(v)
            }
            Err(error) => {
                if !std::mem::replace(&mut self.failing, true) {
                    tracing::warn!(probe = self.name, %error, "probe failing");
                    rec.event(at, EventKind::ProbeFailed { probe: self.name.clone(), error });
                }
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The local CPU probe follows the memory probe's process: a value from the first tick (a short window), deltas
    /// between ticks after, and a clear failure for a target that is not on this machine.
    #[tokio::test]
    async fn the_local_cpu_probe_reads_the_targets_process_from_its_first_tick() {
        use std::os::unix::process::CommandExt;
        let spawn = |script: &str| std::process::Command::new("sh").args(["-c", script]).process_group(0).spawn();
        let mut busy = spawn("while :; do :; done").unwrap();
        let mut cpu = CpuSource::Local { process: Some(MemorySource::Pid(busy.id())), meter: None };
        let first = cpu.read(Duration::from_secs(1)).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let second = cpu.read(Duration::from_secs(1)).await;
        let _ = busy.kill();
        let _ = busy.wait();
        assert!(
            first.as_ref().is_ok_and(|p| *p > 10.0) && second.as_ref().is_ok_and(|p| *p > 10.0),
            "{first:?} {second:?}"
        );
        let mut remote = CpuSource::Local { process: None, meter: None };
        assert!(remote.read(Duration::from_secs(1)).await.unwrap_err().contains("not on this machine"));
    }

    #[test]
    fn loopback_urls_are_local() {
        let port = |u: &str| loopback_port(&ServiceUrl::parse(u, UrlRole::Api).unwrap());
        assert_eq!(port("http://127.0.0.1:8080"), Some(8080));
        assert_eq!(port("http://127.3.4.5:81"), Some(81));
        assert_eq!(port("http://localhost"), Some(80));
        assert_eq!(port("https://localhost"), Some(443));
        assert_eq!(port("http://[::1]:9000"), Some(9000));
        assert_eq!(port("http://10.0.0.5:8080"), None);
        assert_eq!(port("http://staging.example:8080"), None);
    }
}
