//! Faults that act for real on the target, and the machinery that guarantees they are undone.
//!
//! Each kind lives in its own file (its settings with their schema docs, their check and
//! [`settings::CheckSettings::EXAMPLE`], inject and undo) behind the small [`Fault`] trait, registered by one line in
//! `fault_kind_list!` (`spec.rs`), which also declares its module. `preflight` checks everything a fault will touch
//! and changes nothing; `inject` makes the change, but only after it has written what undoes it to the crash
//! [`journal`] through an [`Intent`]. The undo itself is plain data ([`Undo`]), so the run, the [`watchdog`] left
//! behind by a run killed with SIGKILL, and `spacetime-drill recover` all roll back the same way. The
//! [`runner::Injector`] is what the orchestrator drives: preflight all, inject at a phase start, roll back at the phase
//! end or the TTL, and always on drop, error, signal or panic.
//!
//! What this module must not do: act on anything the scenario's allow-list ([`Allow`]) does not name, or hold a
//! resource in a way that can outlive the run (in-process holders run in a child that dies with the run, see
//! [`holder`]).

pub(crate) mod command;
pub(crate) mod holder;
pub mod hooks;
pub mod journal;
pub(crate) mod knobs;
pub(crate) mod on_host;
pub mod procfs;
pub mod proxy;
pub mod restore;
pub mod runner;
pub(crate) mod settings;
mod spec;
pub mod undo;
pub mod watchdog;

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use hooks::{LoadTokens, RunDirs};
pub use journal::{Journal, JournalError, ensure_clean};
pub use network::ProxyHandle;
pub use runner::{FaultEvent, FaultEventKind, Injector, RollbackGuard};
pub use spec::FaultSpec;
pub(crate) use spec::fault_kind_list;

/// Declares every kind's module (`pub mod disk_fill;`, ...) from the one list of kinds.
macro_rules! kind_modules {
    ($( $(#[doc = $doc:literal])* $table:ident => $variant:ident($module:ident::$ty:ident), )*) => {
        $( pub mod $module; )*
    };
}
fault_kind_list!(kind_modules);
pub use undo::Undo;

/// One fault kind. Kept minimal on purpose: anything a kind needs beyond this goes in its own file.
pub trait Fault: Send + Sync {
    /// The `[fault.<kind>]` table name, e.g. `disk_fill`.
    fn kind(&self) -> &'static str;
    /// One line saying what the fault would do, for logs and `--dry-run`.
    fn describe(&self) -> String;
    /// Resolve and check everything the fault will touch (allow-list, existence, permissions); change nothing.
    fn preflight(&self, ctx: &FaultContext) -> Result<(), FaultErrorKind>;
    /// Make the change. Every undo is handed to `intent` *before* the change it undoes, so a crash at any instant
    /// leaves a journal that restores everything. Returns a one-line detail for the event log.
    fn inject(&self, ctx: &FaultContext, intent: &mut dyn Intent) -> Result<String, FaultErrorKind>;
}

/// Where a fault writes its undo records before acting (the runner journals and fsyncs each one).
pub trait Intent {
    /// Persist `undo` so it survives a crash; an error means the change must not be made.
    fn record(&mut self, undo: Undo) -> Result<(), FaultErrorKind>;
}

/// Starts and stops the embedded simulator for faults that must restart it; provided by the orchestrator, absent for
/// a remote target and during journal replay (the simulator ends with the run that started it).
pub trait ServiceControl: Send + Sync {
    /// Stop the whole service and wait until its ports are free.
    fn stop(&self) -> Result<(), String>;
    /// Start it again; a taken port makes it fall back as the real bridge does.
    fn start(&self) -> Result<(), String>;
    /// Bring back one process of the service that a fault killed (the service itself, or a peer such as the DAP).
    fn revive(&self, pid: u32, name: &str) -> Result<(), String>;
}

/// The blast radius: what destructive faults may touch. The embedded simulator's data dir, ports and PIDs belong in
/// here too (the orchestrator adds them).
#[derive(Debug, Clone, Default)]
pub struct Allow {
    /// Directories (and everything under them) that may be filled or altered.
    pub paths: Vec<PathBuf>,
    /// TCP ports that may be held, or whose listener may be killed.
    pub ports: Vec<u16>,
    /// Exact process names (`/proc/PID/comm`) that may be signalled.
    pub processes: Vec<String>,
    /// PIDs that may be signalled (the embedded simulator's processes).
    pub pids: Vec<u32>,
    /// systemd units whose main process may be signalled.
    pub units: Vec<String>,
}

impl Allow {
    /// Whether `path` (canonicalized) lies under an allowed directory. An entry that resolves to `/` allows nothing:
    /// the scenario check refuses one, and this stays true for an allow-list built any other way.
    pub fn allows_path(&self, path: &Path) -> bool {
        let allowed = |p: &PathBuf| p.canonicalize().ok().filter(|p| p.parent().is_some());
        self.paths.iter().filter_map(allowed).any(|p| path.starts_with(p))
    }
}

/// Where the service under test runs.
#[derive(Debug, Clone)]
pub struct TargetHost {
    /// Host name or address of the HTTP API.
    pub host: String,
    /// HTTP API port (what `connection_flood` connects to).
    pub http_port: u16,
}

impl TargetHost {
    /// Local means this machine: faults acting on ports, files and processes make sense only then.
    pub fn is_local(&self) -> bool {
        matches!(self.host.as_str(), "localhost" | "127.0.0.1" | "::1" | "[::1]")
    }

    pub(crate) fn http_addr(&self) -> Result<SocketAddr, FaultErrorKind> {
        let host = self.host.trim_start_matches('[').trim_end_matches(']');
        (host, self.http_port).to_socket_addrs().ok().and_then(|mut a| a.next()).ok_or_else(|| {
            FaultErrorKind::NotFound {
                what: format!("target host `{}` does not resolve", self.host),
                fix: "check the target URL".into(),
            }
        })
    }
}

/// The embedded simulator's resources: ports and paths, which survive its restarts (PIDs do not, so none are kept;
/// its processes are found by the port they serve). A kind falls back on these when the scenario leaves its port,
/// path, process or secret out, and they are implicitly inside the blast radius (the run created them). Their
/// presence is also how the simulator-only kinds (`memory_leak`, `frame_work`) know they may act.
#[derive(Debug, Clone, PartialEq)]
pub struct SimResources {
    pub(crate) http_port: u16,
    pub(crate) telemetry_port: u16,
    pub(crate) dap_port: u16,
    pub(crate) lsp_port: u16,
    pub(crate) data_dir: PathBuf,
    /// The `res://` root the simulator serves.
    pub(crate) project_dir: PathBuf,
    /// The JWT secret file, when the simulator runs with auth.
    pub(crate) secret_file: Option<PathBuf>,
    /// `http://127.0.0.1:<http>/__sim/knobs`.
    pub(crate) knobs_url: String,
}

impl SimResources {
    /// From a started simulator's ports file and its directories.
    pub fn new(
        ports: &spacetime_sim::launch::Ports,
        data_dir: PathBuf,
        project_dir: PathBuf,
        secret_file: Option<PathBuf>,
    ) -> SimResources {
        SimResources {
            http_port: ports.http,
            telemetry_port: ports.telemetry,
            dap_port: ports.dap,
            lsp_port: ports.lsp,
            data_dir,
            project_dir,
            secret_file,
            knobs_url: format!("http://127.0.0.1:{}{}knobs", ports.http, spacetime_sim::CONTROL_PREFIX),
        }
    }

    fn ports(&self) -> [u16; 4] {
        [self.http_port, self.telemetry_port, self.dap_port, self.lsp_port]
    }
}

/// Everything a fault may consult: its limits and the handles it acts through.
#[derive(Clone)]
pub struct FaultContext {
    /// The `spacetime-drill` binary, run as holder and watchdog children.
    pub exe: PathBuf,
    /// The scenario's `[allow]`: every destructive kind checks what it touches against it (plus [`Self::sim`]).
    pub allow: Allow,
    /// Decides whether local-only kinds may act at all ([`Self::require_local`]) and where `connection_flood` connects.
    pub target: TargetHost,
    /// The embedded simulator, when the run started one.
    pub service: Option<Arc<dyn ServiceControl>>,
    /// The embedded simulator's ports and paths, when the run started one.
    pub sim: Option<SimResources>,
    /// The proxy the run routes the target's traffic through, when the scenario has a `network` fault.
    pub proxy: Option<ProxyHandle>,
    /// The run's own load: `expired_token` spoils a share of its tokens.
    pub auth: Option<Arc<dyn LoadTokens>>,
    /// The target's JWT signing secret, when the run knows it (the embedded simulator's): an `expired` token must
    /// fail on `exp`, not on its signature.
    pub jwt_secret: Option<crate::secret::Secret>,
}

impl FaultContext {
    /// A context with no simulator, proxy or load attached: what a fault sees against an external target.
    pub fn new(exe: PathBuf, allow: Allow, target: TargetHost) -> FaultContext {
        FaultContext { exe, allow, target, service: None, sim: None, proxy: None, auth: None, jwt_secret: None }
    }

    /// The simulator's resources, or a refusal saying `what` needs them.
    pub fn require_sim(&self, what: &str) -> Result<&SimResources, FaultErrorKind> {
        self.sim.as_ref().ok_or_else(|| FaultErrorKind::Refused {
            what: format!("{what} needs the embedded simulator, and this run targets an external service"),
            fix: "give the target explicitly in the fault's settings, or run against the simulator (omit [target])"
                .into(),
        })
    }

    /// Whether a destructive fault may touch `path` (canonicalized): the allow-list, or the simulator's own dirs and
    /// secret file.
    pub fn allows_path(&self, path: &Path) -> bool {
        let sim_paths = self.sim.iter().flat_map(|s| [Some(&s.data_dir), Some(&s.project_dir), s.secret_file.as_ref()]);
        self.allow.allows_path(path) || sim_paths.flatten().any(|d| d.canonicalize().is_ok_and(|d| path.starts_with(d)))
    }

    /// Refuse a path outside [`FaultContext::allows_path`].
    pub fn require_path(&self, path: &Path) -> Result<(), FaultErrorKind> {
        if self.allows_path(path) {
            return Ok(());
        }
        Err(FaultErrorKind::Refused {
            what: format!("{} is not in the allow-list", path.display()),
            fix: "add its directory to the scenario's [allow] paths".into(),
        })
    }

    /// Refuse a fault that acts on this machine when the target is elsewhere (use `exec` or `service` for that).
    pub fn require_local(&self) -> Result<(), FaultErrorKind> {
        if self.target.is_local() {
            return Ok(());
        }
        Err(FaultErrorKind::Refused {
            what: format!("the target `{}` is not on this machine, and this fault acts locally", self.target.host),
            fix: "use an `exec` or `service` fault to act on a remote host".into(),
        })
    }

    pub(crate) fn require_service(&self, why: &str) -> Result<&dyn ServiceControl, FaultErrorKind> {
        self.service.as_deref().ok_or_else(|| FaultErrorKind::Refused {
            what: format!("{why} needs the embedded simulator, and this run targets an external service"),
            fix: "give a restart command, or restart it with a `service` fault".into(),
        })
    }

    pub(crate) fn require_port(&self, port: u16) -> Result<(), FaultErrorKind> {
        if self.allow.ports.contains(&port) || self.sim.as_ref().is_some_and(|s| s.ports().contains(&port)) {
            return Ok(());
        }
        Err(FaultErrorKind::Refused {
            what: format!("port {port} is not in the allow-list"),
            fix: format!("add {port} to the scenario's allowed ports"),
        })
    }
}

/// What went wrong in one fault kind; the runner adds the fault's name ([`FaultError`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FaultErrorKind {
    /// The blast radius or the target forbids it.
    #[error("refused: {what}; fix: {fix}")]
    Refused {
        /// What was refused and which rule forbids it, in the scenario's words.
        what: String,
        /// The change to the scenario (or the run) that would lift the refusal.
        fix: String,
    },
    /// Something the fault needs does not exist.
    #[error("{what}; fix: {fix}")]
    NotFound {
        /// What was looked for and where.
        what: String,
        /// How to make it exist or point the fault elsewhere.
        fix: String,
    },
    /// A system call on the fault's own files, sockets or children failed.
    #[error("{action}: {source}")]
    Io {
        /// What the fault was doing, e.g. "reading /var/lib/x", so the OS error has its context.
        action: String,
        /// What the OS answered (a permission, a full disk, a missing file), shown after `action`.
        #[source]
        source: std::io::Error,
    },
    /// A configured command failed; `output` holds its exit status and output.
    #[error("command `{cmd}` failed: {output}")]
    Command {
        /// The shell line as the scenario wrote it.
        cmd: String,
        /// Its exit status (or that it timed out and was killed), then the first 2000 characters of its combined
        /// stdout and stderr.
        output: String,
    },
    /// The undo record could not be made durable, so the change was not made (or its rollback not recorded).
    #[error("journal: {0}")]
    Journal(#[from] JournalError),
}

impl FaultErrorKind {
    pub(crate) fn io(action: impl Into<String>) -> impl FnOnce(std::io::Error) -> Self {
        let action = action.into();
        move |source| Self::Io { action, source }
    }
}

/// A failure of one named fault; says whether its undo is still pending in the journal.
#[derive(Debug, thiserror::Error)]
#[error("fault `{fault}`: {kind}{}", if *.rollback_pending { " (its rollback is still pending: run `spacetime-drill recover`)" } else { "" })]
pub struct FaultError {
    pub(crate) fault: String,
    pub(crate) kind: FaultErrorKind,
    pub(crate) rollback_pending: bool,
}

/// Shared by the kinds' unit tests: a local context and an intent that just collects.
#[cfg(test)]
pub(crate) mod testutil {
    use super::*;

    pub fn ctx(allow: Allow) -> FaultContext {
        let target = TargetHost { host: "127.0.0.1".into(), http_port: 1 };
        FaultContext::new(PathBuf::from("/nonexistent"), allow, target)
    }

    impl Intent for Vec<Undo> {
        fn record(&mut self, undo: Undo) -> Result<(), FaultErrorKind> {
            self.push(undo);
            Ok(())
        }
    }

    /// Roll back collected records newest first, as the runner does.
    pub fn rollback(undo: Vec<Undo>) {
        for u in undo.into_iter().rev() {
            u.rollback(None).unwrap();
        }
    }

    /// Poll `f` until true or 5 s pass.
    pub fn eventually(mut f: impl FnMut() -> bool) -> bool {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while std::time::Instant::now() < deadline {
            if f() {
                return true;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        false
    }
}
