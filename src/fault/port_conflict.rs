//! `port_conflict`: hold a TCP port so the service cannot bind it (runbook Incident 1, scenario B). With `restart`,
//! the service is restarted while the port is held, so it comes up on a fallback port while clients of the real one
//! get nothing; rollback frees the port and restarts it on its own port. The embedded simulator is stopped, the port
//! taken and the simulator started; a real deployment's `restart_command` is run while a holder keeps trying to bind,
//! so the holder takes the port in the moment between the old process letting go and the new one binding.

use std::io::ErrorKind;
use std::net::TcpListener;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::holder::{self, HoldSpec};
use super::settings::{CheckSettings, Issues, SettingsContext};
use super::{Fault, FaultContext, FaultErrorKind, Intent, Undo, command, procfs};

/// How long the holder keeps trying to take the port while a `restart_command` runs.
const RACE_MS: u64 = 10_000;

/// What clients of the held port see.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PortMode {
    /// Listen and never accept: connections are queued and requests hang until the client's timeout.
    #[default]
    Listen,
    /// Accept and close at once with a reset: clients see "connection reset".
    AcceptClose,
}

/// `[fault.port_conflict]`: hold a TCP port so the service cannot bind it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PortConflictSpec {
    /// The port to hold on 127.0.0.1; omitted = the embedded simulator's HTTP port. An explicit port must be in
    /// `[allow] ports`.
    #[serde(default)]
    pub port: Option<u16>,
    /// What clients of the held port see: `listen` (default) makes them hang, `accept_close` resets them.
    #[serde(default)]
    pub mode: PortMode,
    /// Restart the service while the port is held, so it comes up on a fallback port.
    #[serde(default)]
    pub restart: bool,
    /// How to restart a target that is not the embedded simulator (needed with `restart` and a `[target]`).
    #[serde(default)]
    pub restart_command: Option<String>,
}

impl PortConflictSpec {
    fn port(&self, ctx: &FaultContext) -> Result<u16, FaultErrorKind> {
        match self.port {
            Some(p) => Ok(p),
            None => Ok(ctx.require_sim("port_conflict without `port`")?.http_port),
        }
    }

    fn hold(&self, port: u16, wait_ms: u64) -> HoldSpec {
        HoldSpec::Port { port, accept_close: self.mode == PortMode::AcceptClose, wait_ms }
    }
}

impl CheckSettings for PortConflictSpec {
    fn check(&self, cx: &SettingsContext, c: &mut Issues) {
        if let Some(port) = self.port {
            c.allowed_port("port", port, cx.allow);
        }
        restart_command(c, self.restart, self.restart_command.as_deref(), !cx.target);
    }
}

/// `restart_command` goes with `restart`, and is required unless the simulator restarts the process itself (shared
/// with `kill_process`).
pub(super) fn restart_command(c: &mut Issues, restart: bool, command: Option<&str>, sim_restarts: bool) {
    match command {
        Some(cmd) if restart => c.rule("restart_command", super::settings::rule::command(cmd)),
        Some(_) => c.fail("restart_command", "restart_command is used only with restart = true"),
        None => c.check(!restart || sim_restarts, "restart", || {
            "restart needs restart_command here (only the embedded simulator restarts its own processes)".to_owned()
        }),
    }
}

impl Fault for PortConflictSpec {
    fn kind(&self) -> &'static str {
        "port_conflict"
    }

    fn describe(&self) -> String {
        let mode = match self.mode {
            PortMode::Listen => "listen without accepting",
            PortMode::AcceptClose => "accept and reset",
        };
        let restart = match (self.restart, &self.restart_command) {
            (false, _) => String::new(),
            (true, None) => ", restarting the simulator while it is held".into(),
            (true, Some(cmd)) => format!(", running `{cmd}` while it is held"),
        };
        let port = self.port.map_or("the simulator's HTTP port".into(), |p| p.to_string());
        format!("port_conflict: hold 127.0.0.1:{port} ({mode}){restart}")
    }

    fn preflight(&self, ctx: &FaultContext) -> Result<(), FaultErrorKind> {
        ctx.require_local()?;
        let port = self.port(ctx)?;
        ctx.require_port(port)?;
        match (self.restart, &self.restart_command) {
            (true, Some(cmd)) => return command::require_nonempty("restart_command", cmd),
            (true, None) => return ctx.require_service("restart = true").map(drop),
            (false, Some(_)) => {
                return Err(FaultErrorKind::Refused {
                    what: "restart_command without restart = true".into(),
                    fix: "set restart = true, or remove restart_command".into(),
                });
            }
            (false, None) => {}
        }
        match TcpListener::bind(("127.0.0.1", port)) {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == ErrorKind::AddrInUse => Err(FaultErrorKind::Refused {
                what: format!("port {port} is already in use (pids {:?})", procfs::pids_listening_on(port)),
                fix: "set restart = true to take it while the service restarts, or stop its owner first".into(),
            }),
            Err(e) => Err(FaultErrorKind::io(format!("binding port {port}"))(e)),
        }
    }

    fn inject(&self, ctx: &FaultContext, intent: &mut dyn Intent) -> Result<String, FaultErrorKind> {
        let port = self.port(ctx)?;
        if !self.restart {
            return holder::start(ctx, intent, &self.hold(port, 0));
        }
        if let Some(cmd) = &self.restart_command {
            // Journaled first, so it runs last: once the port is free the service restarts onto it.
            intent.record(Undo::RunCommand { cmd: cmd.clone() })?;
            let (exe, spec) = (ctx.exe.clone(), self.hold(port, RACE_MS));
            let racer = std::thread::spawn(move || holder::spawn(&exe, &spec));
            let ran = command::run(cmd);
            let held = racer.join().map_err(|_| FaultErrorKind::Command {
                cmd: "hold the port".into(),
                output: "the holder thread panicked".into(),
            })??;
            // After the start (its PID is not known before); a holder dies with the run anyway.
            intent.record(held.undo())?;
            return Ok(format!("{} (holder pid {}); {}", held.detail, held.pid, ran?));
        }
        let service = ctx.require_service("restart = true")?;
        // Journaled first, so it is rolled back last: after the port is free the simulator gets its own port back.
        intent.record(Undo::RestartService)?;
        let stop = |e| FaultErrorKind::Command { cmd: "stop the simulator".into(), output: e };
        service.stop().map_err(stop)?;
        let detail = holder::start(ctx, intent, &self.hold(port, 0))?;
        service.start().map_err(|e| FaultErrorKind::Command { cmd: "start the simulator".into(), output: e })?;
        Ok(format!("{detail}; simulator restarted while the port is held"))
    }
}
