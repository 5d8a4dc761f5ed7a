//! `kill_process`: signal one process found by listening port, PID file, exact name or systemd unit: KILL or TERM
//! (a crash, optionally brought back at rollback), or STOP (a hang, continued at rollback). Runbook Incident 1
//! scenario A (the crashed API) and Incident 2 scenario C (the killed DAP).

use std::path::PathBuf;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::settings::{CheckSettings, Issues, SettingsContext};
use super::{Fault, FaultContext, FaultErrorKind, Intent, Undo, procfs};

/// The signal `kill_process` sends, named without `SIG`; each mimics a different way the process fails.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum KillSignal {
    /// Crash (SIGKILL).
    #[default]
    Kill,
    /// Ask to stop (SIGTERM).
    Term,
    /// Freeze (SIGSTOP); rollback sends SIGCONT: a hung process.
    Stop,
}

/// The embedded simulator's processes, as its ports file names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SimPeer {
    /// The HTTP API (GodotBridge) and telemetry process: every endpoint goes down with it.
    Bridge,
    /// The Debug Adapter, a process of its own: `/debug/evaluate` fails while it is gone.
    Dap,
    /// The Language Server, a process of its own: `/lsp/completion` fails while it is gone.
    Lsp,
}

impl SimPeer {
    /// The name [`super::ServiceControl::revive`] is given.
    pub fn name(self) -> &'static str {
        match self {
            SimPeer::Bridge => "bridge",
            SimPeer::Dap => "dap",
            SimPeer::Lsp => "lsp",
        }
    }
}

impl KillSignal {
    fn signal(self) -> Signal {
        match self {
            KillSignal::Kill => Signal::SIGKILL,
            KillSignal::Term => Signal::SIGTERM,
            KillSignal::Stop => Signal::SIGSTOP,
        }
    }
}

/// `[fault.kill_process]`: signal a process, optionally bringing it back (runbook Incident 1 scenario A, Incident 2
/// scenario C).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KillProcessSpec {
    /// One of the embedded simulator's processes. Exactly one of `sim`, `port`, `pid_file`, `name`, `unit`.
    #[serde(default)]
    pub sim: Option<SimPeer>,
    /// The process listening on this TCP port (must be in `[allow] ports`).
    #[serde(default)]
    pub port: Option<u16>,
    /// The process whose PID this file holds (the file must be inside an `[allow] paths` entry).
    #[serde(default)]
    pub pid_file: Option<PathBuf>,
    /// The one process with exactly this name (`/proc/PID/comm`, at most 15 characters; must be in
    /// `[allow] processes`).
    #[serde(default)]
    pub name: Option<String>,
    /// The main process of this systemd unit (`systemctl show -p MainPID`; the unit must be in `[allow] units`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// `KILL` (default, a crash), `TERM` or `STOP` (a hang, undone with `CONT` at rollback).
    #[serde(default)]
    pub signal: KillSignal,
    /// Bring the process back on rollback (not with `STOP`, which rollback undoes with `CONT`).
    #[serde(default)]
    pub restart: bool,
    /// How to bring it back; required with `restart` unless the process is the simulator's (`sim`).
    #[serde(default)]
    pub restart_command: Option<String>,
}

impl KillProcessSpec {
    fn selector(&self) -> String {
        match (&self.sim, &self.port, &self.pid_file, &self.name, &self.unit) {
            (Some(s), ..) => format!("the simulator's {} process", s.name()),
            (_, Some(p), ..) => format!("the listener on port {p}"),
            (_, _, Some(f), ..) => format!("the pid in {}", f.display()),
            (_, _, _, Some(n), _) => format!("the process named `{n}`"),
            (.., Some(u)) => format!("the main process of unit `{u}`"),
            _ => "?".into(),
        }
    }

    /// Find the one process, and check the allow-list lets us signal it; returns its PID and name.
    fn resolve(&self, ctx: &FaultContext) -> Result<(u32, String), FaultErrorKind> {
        let not_found = |what: String, fix: &str| FaultErrorKind::NotFound { what, fix: fix.into() };
        let pids = match (&self.sim, &self.port, &self.pid_file, &self.name, &self.unit) {
            (Some(peer), None, None, None, None) => {
                // By the port it serves, not the PID it started with: a restarted or revived simulator process
                // keeps its port but not its PID.
                let sim = ctx.require_sim("kill_process with `sim`")?;
                procfs::pids_listening_on(match peer {
                    SimPeer::Bridge => sim.http_port,
                    SimPeer::Dap => sim.dap_port,
                    SimPeer::Lsp => sim.lsp_port,
                })
            }
            (None, Some(port), None, None, None) => procfs::pids_listening_on(*port),
            (None, None, Some(file), None, None) => {
                let text = std::fs::read_to_string(file)
                    .map_err(|e| not_found(format!("cannot read {}: {e}", file.display()), "correct `pid_file`"))?;
                let pid: u32 = text
                    .trim()
                    .parse()
                    .map_err(|_| not_found(format!("{} does not hold a PID", file.display()), "correct `pid_file`"))?;
                vec![pid].into_iter().filter(|&p| procfs::start_time(p).is_some()).collect()
            }
            (None, None, None, Some(name), None) => procfs::pids_named(name),
            (None, None, None, None, Some(unit)) => {
                let pid = unit_main_pid(unit).map_err(|what| not_found(what, "correct `unit`, or select by port"))?;
                let fix = "start the unit (`systemctl start UNIT`), or correct `unit`";
                let pid = pid.ok_or_else(|| not_found(format!("unit `{unit}` is absent or not running"), fix))?;
                vec![pid].into_iter().filter(|&p| procfs::start_time(p).is_some()).collect()
            }
            _ => {
                let fix = "give exactly one of sim, port, pid_file, name, unit";
                return Err(not_found("no single process selector".into(), fix));
            }
        };
        let pid = match pids[..] {
            [pid] => pid,
            [] => {
                return Err(not_found(format!("nothing matches {}", self.selector()), "start it, or fix the selector"));
            }
            _ => {
                return Err(FaultErrorKind::Refused {
                    what: format!("{} matches several processes {pids:?}", self.selector()),
                    fix: "select one process (a PID file, or a port)".into(),
                });
            }
        };
        let name = procfs::comm(pid).unwrap_or_default();
        let allowed = self.sim.is_some()
            || ctx.allow.pids.contains(&pid)
            || ctx.allow.processes.contains(&name)
            || self.unit.as_ref().is_some_and(|u| ctx.allow.units.contains(u))
            || self.port.is_some_and(|p| ctx.require_port(p).is_ok());
        if !allowed || pid == 1 || pid == std::process::id() {
            let fix = match &self.unit {
                Some(unit) => format!("add `{unit}` to the allowed units"),
                None => format!("add `{name}` to the allowed processes"),
            };
            return Err(FaultErrorKind::Refused {
                what: format!("pid {pid} (`{name}`) is not in the allow-list"),
                fix,
            });
        }
        Ok((pid, name))
    }
}

/// The main PID of a systemd unit, as `systemctl show -p MainPID --value UNIT` gives it (`systemctl` found on PATH);
/// `None` when the unit is absent or not running (systemd says 0 for both).
pub fn unit_main_pid(unit: &str) -> Result<Option<u32>, String> {
    let out = std::process::Command::new("systemctl")
        .args(["show", "-p", "MainPID", "--value", "--", unit])
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("cannot run `systemctl` to find unit `{unit}`: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(format!("`systemctl show {unit}` failed ({}): {}", out.status, err.trim()));
    }
    let pid: u32 =
        text.trim().parse().map_err(|_| format!("`systemctl show {unit}` gave no PID: {:?}", text.trim()))?;
    Ok((pid != 0).then_some(pid))
}

impl CheckSettings for KillProcessSpec {
    const EXAMPLE: &'static str = "sim = \"lsp\"";

    fn check(&self, cx: &SettingsContext, c: &mut Issues) {
        let (sim, port, file) = (self.sim.is_some(), self.port.is_some(), self.pid_file.is_some());
        let set = [sim, port, file, self.name.is_some(), self.unit.is_some()];
        c.check(set.iter().filter(|s| **s).count() == 1, "", || {
            "name the process with exactly one of sim (bridge, dap, lsp), port, pid_file, name, unit".to_owned()
        });
        if let Some(unit) = &self.unit {
            c.check(cx.allow.units.contains(unit), "unit", || {
                format!("unit \"{unit}\" is outside the blast radius; add it to [allow] units")
            });
        }
        if let Some(port) = self.port {
            c.allowed_port("port", port, cx.allow);
        }
        if let Some(file) = &self.pid_file {
            c.allowed_path("pid_file", file, cx.allow);
        }
        if let Some(name) = &self.name {
            c.check(cx.allow.processes.contains(name), "name", || {
                format!("process \"{name}\" is outside the blast radius; add it to [allow] processes")
            });
        }
        c.check(!(self.restart && self.signal == KillSignal::Stop), "restart", || {
            "signal STOP is undone by CONT on rollback; remove restart".to_owned()
        });
        super::port_conflict::restart_command(c, self.restart, self.restart_command.as_deref(), self.sim.is_some());
    }
}

impl Fault for KillProcessSpec {
    fn kind(&self) -> &'static str {
        "kill_process"
    }

    fn describe(&self) -> String {
        let after = match (self.signal, self.restart) {
            (KillSignal::Stop, _) => ", SIGCONT at rollback",
            (_, true) => ", restarted at rollback",
            _ => "",
        };
        format!("kill_process: send {} to {}{after}", self.signal.signal(), self.selector())
    }

    fn preflight(&self, ctx: &FaultContext) -> Result<(), FaultErrorKind> {
        ctx.require_local()?;
        if self.restart && self.signal == KillSignal::Stop {
            return Err(FaultErrorKind::Refused {
                what: "restart with signal STOP".into(),
                fix: "a stopped process is continued at rollback; drop `restart`".into(),
            });
        }
        if self.restart && self.restart_command.is_none() {
            if self.sim.is_none() {
                return Err(FaultErrorKind::Refused {
                    what: "restart without restart_command".into(),
                    fix: "give restart_command (only the embedded simulator restarts its own processes)".into(),
                });
            }
            ctx.require_service("restart without restart_command")?;
        }
        self.resolve(ctx).map(drop)
    }

    fn inject(&self, ctx: &FaultContext, intent: &mut dyn Intent) -> Result<String, FaultErrorKind> {
        let (pid, name) = self.resolve(ctx)?;
        let start_time = procfs::start_time(pid).unwrap_or_default();
        let signal = self.signal.signal();
        match (self.signal, self.restart, &self.restart_command) {
            (KillSignal::Stop, _, _) => intent.record(Undo::ContinueProcess { pid, start_time })?,
            (_, true, Some(cmd)) => intent.record(Undo::RunCommand { cmd: cmd.clone() })?,
            (_, true, None) => {
                // Only reachable with `sim` (preflight): name the role, since all three share one binary name.
                let role = self.sim.map_or_else(|| name.clone(), |s| s.name().to_owned());
                intent.record(Undo::ReviveProcess { pid, name: role })?
            }
            (_, false, _) => {}
        }
        kill(Pid::from_raw(pid as i32), signal)
            .map_err(|e| FaultErrorKind::io(format!("sending {signal} to pid {pid}"))(e.into()))?;
        Ok(format!("sent {signal} to pid {pid} (`{name}`)"))
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::process::CommandExt;
    use std::process::{Child, Command};

    use super::super::{Allow, testutil};
    use super::*;

    /// A `sleep 30` under a unique name (so only it matches), killed with its group on drop.
    struct Sleeper {
        child: Child,
        name: String,
        dir: tempfile::TempDir,
    }

    impl Sleeper {
        fn start() -> Sleeper {
            let dir = tempfile::tempdir().unwrap();
            let name = format!("sdslp{}", rand::random::<u32>() % 1_000_000);
            let exe = dir.path().join(&name);
            std::fs::copy("/bin/sleep", &exe).unwrap();
            let child = Command::new(&exe).arg("30").process_group(0).spawn().unwrap();
            assert!(testutil::eventually(|| procfs::comm(child.id()).as_deref() == Some(name.as_str())));
            Sleeper { child, name, dir }
        }
        fn state(&self) -> char {
            let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap();
            stat[stat.rfind(')').unwrap() + 2..].chars().next().unwrap()
        }
    }

    impl Drop for Sleeper {
        fn drop(&mut self) {
            let _ = nix::sys::signal::killpg(Pid::from_raw(self.child.id() as i32), Signal::SIGKILL);
            let _ = self.child.wait();
        }
    }

    fn spec(signal: KillSignal) -> KillProcessSpec {
        KillProcessSpec { signal, ..KillProcessSpec::default() }
    }

    #[test]
    fn stop_by_pid_file_then_cont_on_rollback() {
        let s = Sleeper::start();
        let pid_file = s.dir.path().join("pid");
        std::fs::write(&pid_file, format!("{}\n", s.child.id())).unwrap();
        let spec = KillProcessSpec { pid_file: Some(pid_file), ..spec(KillSignal::Stop) };
        let refused = spec.preflight(&testutil::ctx(Allow::default())).unwrap_err().to_string();
        assert!(refused.contains("not in the allow-list") && refused.contains(&s.name), "{refused}");
        let ctx = testutil::ctx(Allow { processes: vec![s.name.clone()], ..Allow::default() });
        spec.preflight(&ctx).unwrap();
        let mut undo = Vec::new();
        spec.inject(&ctx, &mut undo).unwrap();
        assert!(testutil::eventually(|| s.state() == 'T'), "stopped");
        testutil::rollback(undo);
        assert!(testutil::eventually(|| s.state() == 'S'), "continued");
    }

    #[test]
    fn kill_by_name() {
        let mut s = Sleeper::start();
        let spec = KillProcessSpec { name: Some(s.name.clone()), ..spec(KillSignal::Kill) };
        let ctx = testutil::ctx(Allow { pids: vec![s.child.id()], ..Allow::default() });
        spec.preflight(&ctx).unwrap();
        let mut undo = Vec::new();
        let detail = spec.inject(&ctx, &mut undo).unwrap();
        assert!(detail.contains("SIGKILL"), "{detail}");
        assert!(undo.is_empty(), "a kill without restart has nothing to undo");
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(s.child.wait().unwrap().signal(), Some(9));
    }

    #[test]
    fn preflight_names_a_port_nothing_listens_on() {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let spec = KillProcessSpec { port: Some(port), ..spec(KillSignal::Term) };
        let ctx = testutil::ctx(Allow { ports: vec![port], ..Allow::default() });
        let e = spec.preflight(&ctx).unwrap_err().to_string();
        assert!(e.contains(&format!("nothing matches the listener on port {port}")) && e.contains("fix:"), "{e}");
    }
}
