//! The undo records: plain, serializable data, so that the run, the watchdog and `recover` undo a fault the same way.
//!
//! Every rollback is idempotent and tolerates "the change never happened": a record is journaled *before* its change,
//! so a crash between the two leaves a record whose rollback must find nothing to do and succeed.

use std::io::ErrorKind;
use std::path::{Component, Path, PathBuf};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};

use super::{FaultContext, FaultErrorKind, command, holder, knobs, procfs, restore};

/// What a fault was allowed to touch when it was injected (the allow-list and the embedded simulator's own
/// directories, canonical; the allowed ports, the simulator's and the target's), journaled with each of its undo
/// records: a replay refuses an undo that reaches outside it ([`Undo::permitted`]), so a line crafted or corrupted to
/// name another file, or a holder of another port, does nothing.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Scope {
    /// Canonical directories; an undo's file must lie under one (a bare `/` never counts).
    pub paths: Vec<PathBuf>,
    /// Absent from lines written before ports were scoped: such a line may then touch no port.
    #[serde(default)]
    pub ports: Vec<u16>,
}

impl Scope {
    /// What a fault in `ctx` may touch, taken at injection so a replay long after judges it by the same limits.
    pub fn of(ctx: &FaultContext) -> Scope {
        let sim = ctx.sim.iter().flat_map(|s| [Some(&s.data_dir), Some(&s.project_dir), s.secret_file.as_ref()]);
        let all = ctx.allow.paths.iter().chain(sim.flatten());
        let mut paths: Vec<PathBuf> =
            all.filter_map(|p| p.canonicalize().ok()).filter(|p| p.parent().is_some()).collect();
        paths.sort();
        paths.dedup();
        // `require_port`'s ports (port_conflict, kill_process), and the target's HTTP port (connection_flood's).
        let sim_ports = ctx.sim.iter().flat_map(|s| s.ports());
        let mut ports: Vec<u16> =
            ctx.allow.ports.iter().copied().chain(sim_ports).chain([ctx.target.http_port]).collect();
        ports.sort_unstable();
        ports.dedup();
        Scope { paths, ports }
    }

    /// `port`, unless the fault was not allowed it.
    fn port(&self, port: u16) -> Result<(), String> {
        if self.ports.contains(&port) {
            return Ok(());
        }
        let allowed: Vec<String> = self.ports.iter().map(ToString::to_string).collect();
        Err(format!("port {port} is not one the fault was allowed (ports [{}])", allowed.join(", ")))
    }

    /// Whether `path` (made canonical as far as it exists) lies inside one of the paths; an entry that is not a
    /// plain absolute path other than `/` counts for nothing.
    fn holds(&self, path: &Path) -> bool {
        if !path.is_absolute() || path.components().any(|c| c == Component::ParentDir) {
            return false;
        }
        let real = match (path.parent().and_then(|d| d.canonicalize().ok()), path.file_name()) {
            (Some(dir), Some(name)) => dir.join(name),
            _ => path.to_owned(),
        };
        let plain = |p: &&PathBuf| crate::fault::settings::rule::plain_absolute(p).is_none();
        self.paths.iter().filter(plain).any(|p| real.starts_with(p) || path.starts_with(p))
    }
}

/// How to undo one change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "undo", rename_all = "snake_case")]
pub enum Undo {
    /// A file the fault creates (a ballast); rollback deletes it if it exists.
    DeleteFile {
        /// The file the fault creates; must lie inside the entry's [`Scope`].
        path: PathBuf,
    },
    /// A process the fault stopped (SIGSTOP); rollback continues it if it is still the same process.
    ContinueProcess {
        /// The stopped process; SIGCONT goes to it only while `start_time` still matches.
        pid: u32,
        /// Its start time (clock ticks since boot, `/proc/PID/stat` field 22): a reused PID is left alone.
        start_time: u64,
    },
    /// A holder child (held port, busy threads, idle connections); rollback kills it if it is still the same process.
    /// Holders also exit by themselves when the run that started them dies.
    KillHolder {
        /// The holder child; killed only while `start_time` matches and its command line is still a holder's.
        pid: u32,
        /// Its start time (clock ticks since boot): a reused PID is left alone.
        start_time: u64,
        /// The port it holds or connects to ([`super::holder::HoldSpec::port`]); none for busy threads.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        port: Option<u16>,
    },
    /// A shell command that undoes the change (`exec` rollback, `service` start, a restart command).
    RunCommand {
        /// A `sh -c` line from the scenario, run with the same 60 s bound as the fault's own command.
        cmd: String,
    },
    /// The embedded simulator must be restarted (back on its own ports).
    RestartService,
    /// A process of the embedded simulator was killed and must be brought back.
    ReviveProcess {
        /// The PID it had; replay finds nothing to do once the run that owned the simulator is gone.
        pid: u32,
        /// Its role, [`super::kill_process::SimPeer::name`] (`bridge`, `dap`, `lsp`): all three share one binary
        /// name, so the role says which to bring back.
        name: String,
    },
    /// A file the fault moved away or replaced (`scene`, `key_rotation`): put the original bytes (kept in `backup`,
    /// beside it) and `mode` back, and check them against `sha256`.
    RestoreFile {
        /// The file as the service reads it; must lie inside the entry's [`Scope`].
        path: PathBuf,
        /// The original bytes, moved or copied aside in the same directory (so the restore is a rename).
        backup: PathBuf,
        /// The original permission bits.
        mode: u32,
        /// Hex SHA-256 of the original bytes: a backup that does not match is not put back.
        sha256: String,
    },
    /// Simulator knobs the fault changed: POST their previous values (`json`) back to `url`.
    SetKnobs {
        /// The simulator's `/__sim/knobs` URL on loopback.
        url: String,
        /// The JSON object of the knobs' values before the fault.
        json: String,
    },
    /// Toxics on the run's proxy. They live in the run's memory only, so replay after the run has gone finds
    /// nothing to do.
    ClearToxics,
    /// Bad tokens in the run's own load (`expired_token`); like toxics, they end with the run.
    ClearAuthFault,
    /// A fault on another host: its agent holds the real undo records; `recover` is the shell command that replays
    /// that host's journal when the agent cannot be asked (see [`super::on_host`]).
    OnHost {
        /// The `[[host]]` name, whose live agent is asked first.
        host: String,
        /// The fault's name, which the agent's own journal knows it by.
        fault: String,
        /// The `ssh ... spacetime-drill agent --recover` line that replays that host's journal without a live agent.
        recover: String,
    },
}

impl Undo {
    /// Whether replaying this undo stays inside what its fault was allowed to touch ([`Scope`]) and what the tool
    /// itself creates (its ballast and backup files, its holders of allowed ports, the simulator's knobs on loopback
    /// at an allowed port). Rollback commands are not limited here: they are trusted because the journal is
    /// ([`super::journal`]'s trust checks).
    pub fn permitted(&self, scope: &Scope) -> Result<(), String> {
        let named =
            |path: &Path, prefix: &str| path.file_name().is_some_and(|n| n.to_string_lossy().starts_with(prefix));
        match self {
            Undo::DeleteFile { path } => {
                if !named(path, ".spacetime-drill-ballast.") || !scope.holds(path) {
                    return Err(format!("{} is not a ballast file inside the fault's allowed paths", path.display()));
                }
            }
            Undo::RestoreFile { path, backup, mode, .. } => {
                let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                let beside =
                    backup.parent() == path.parent() && named(backup, &format!(".{name}.spacetime-drill-backup."));
                if !scope.holds(path) || !beside {
                    return Err(format!("{} is outside the fault's allowed paths, or its backup is not the tool's", {
                        path.display()
                    }));
                }
                if mode & !0o777 != 0 {
                    return Err(format!("mode {mode:04o} of {} sets setuid, setgid or sticky bits", path.display()));
                }
            }
            Undo::KillHolder { pid, start_time, port } => {
                if let Some(port) = port {
                    scope.port(*port)?;
                }
                // What the live process holds, not only what the line says: a line naming an allowed port and the
                // PID of a holder of another one is refused too.
                if let Some(live) = holder::running(*pid, *start_time)?
                    && live.port() != *port
                {
                    let holds = live.port().map_or("no port".into(), |p| format!("port {p}"));
                    let named = port.map_or("none".into(), |p| p.to_string());
                    return Err(format!("holder pid {pid} holds {holds}, not the port its record names ({named})"));
                }
            }
            Undo::SetKnobs { url, .. } => {
                let path = format!("{}knobs", spacetime_sim::CONTROL_PREFIX);
                let port = url.strip_prefix("http://127.0.0.1:").and_then(|r| r.strip_suffix(path.as_str()));
                let Some(port) = port.and_then(|p| p.parse::<u16>().ok()) else {
                    return Err(format!("{url} is not the embedded simulator's knobs on loopback"));
                };
                scope.port(port)?;
            }
            Undo::ContinueProcess { .. }
            | Undo::RunCommand { .. }
            | Undo::RestartService
            | Undo::ReviveProcess { .. }
            | Undo::ClearToxics
            | Undo::ClearAuthFault
            | Undo::OnHost { .. } => {}
        }
        Ok(())
    }

    /// Undo the change; a second call, or a call for a change that never happened, does nothing and succeeds.
    /// `live` is the run's context when the live run calls (its simulator and proxy); replay passes `None`, because
    /// the embedded simulator and the proxy ended with the run that started them. Returns a one-line detail for the
    /// event log.
    pub fn rollback(&self, live: Option<&FaultContext>) -> Result<String, FaultErrorKind> {
        let service = live.and_then(|c| c.service.as_deref());
        match self {
            Undo::DeleteFile { path } => match std::fs::remove_file(path) {
                Ok(()) => Ok(format!("deleted {}", path.display())),
                Err(e) if e.kind() == ErrorKind::NotFound => Ok(format!("{} was already gone", path.display())),
                Err(e) => Err(FaultErrorKind::io(format!("deleting {}", path.display()))(e)),
            },
            Undo::ContinueProcess { pid, start_time } => signal_same(*pid, *start_time, Signal::SIGCONT),
            Undo::KillHolder { pid, start_time, .. } => {
                let detail = signal_same(*pid, *start_time, Signal::SIGKILL)?;
                // Wait until it is dead (a zombie has let go of its sockets), so "rolled back" means the port is free.
                let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
                while procfs::start_time(*pid) == Some(*start_time)
                    && procfs::state(*pid).is_some_and(|s| s != 'Z')
                    && std::time::Instant::now() < deadline
                {
                    std::thread::sleep(std::time::Duration::from_millis(2));
                }
                Ok(detail)
            }
            Undo::RunCommand { cmd } => command::run(cmd),
            Undo::RestartService => match service {
                Some(s) => {
                    s.stop().and_then(|()| s.start()).map_err(|e| command_error("restart the simulator", e))?;
                    Ok("restarted the simulator".into())
                }
                None => Ok("nothing to do: the embedded simulator ended with its run".into()),
            },
            Undo::ReviveProcess { pid, name } => match service {
                Some(s) => {
                    s.revive(*pid, name).map_err(|e| command_error(&format!("revive {name}"), e))?;
                    Ok(format!("revived {name} (was pid {pid})"))
                }
                None => Ok("nothing to do: the embedded simulator ended with its run".into()),
            },
            Undo::RestoreFile { path, backup, mode, sha256 } => restore::restore(path, backup, *mode, sha256),
            Undo::SetKnobs { url, json } => knobs::restore(url, json),
            Undo::ClearToxics => match live.and_then(|c| c.proxy.as_ref()) {
                Some(proxy) => {
                    proxy.clear();
                    Ok("cleared the proxy's toxics".into())
                }
                None => Ok("nothing to do: the proxy's toxics ended with its run".into()),
            },
            Undo::ClearAuthFault => match live.and_then(|c| c.auth.as_ref()) {
                Some(auth) => {
                    auth.restore();
                    Ok("the load sends good tokens again".into())
                }
                None => Ok("nothing to do: the bad tokens ended with their run".into()),
            },
            Undo::OnHost { host, fault, recover } => super::on_host::rollback(host, fault, recover),
        }
    }
}

fn command_error(cmd: &str, output: String) -> FaultErrorKind {
    FaultErrorKind::Command { cmd: cmd.into(), output }
}

/// Signal `pid` only if it is the process the record was made for: a PID reused by another process is left alone.
fn signal_same(pid: u32, start_time: u64, signal: Signal) -> Result<String, FaultErrorKind> {
    if procfs::start_time(pid) != Some(start_time) {
        return Ok(format!("pid {pid} is gone"));
    }
    match kill(Pid::from_raw(pid as i32), signal) {
        Ok(()) => Ok(format!("sent {signal} to pid {pid}")),
        Err(nix::errno::Errno::ESRCH) => Ok(format!("pid {pid} is gone")),
        Err(e) => Err(FaultErrorKind::io(format!("sending {signal} to pid {pid}"))(e.into())),
    }
}
