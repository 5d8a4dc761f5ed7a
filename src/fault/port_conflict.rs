//! `port_conflict`: hold a TCP port so the service cannot bind it (runbook Incident 1, scenario B). With `restart`,
//! the embedded simulator is stopped, the port taken, and the simulator started again, so it comes up on a fallback
//! port while clients of the real one get nothing; rollback frees the port and restarts it on its own port.

use std::io::ErrorKind;
use std::net::TcpListener;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::holder::{self, HoldSpec};
use super::{Fault, FaultContext, FaultErrorKind, Intent, Undo, procfs};

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

/// `[fault.port_conflict]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PortConflictSpec {
    /// TCP port to hold on 127.0.0.1; must be in the allow-list.
    pub port: u16,
    #[serde(default)]
    pub mode: PortMode,
    /// Restart the embedded simulator while the port is held, so it must fall back to another port.
    #[serde(default)]
    pub restart: bool,
}

impl PortConflictSpec {
    fn hold(&self) -> HoldSpec {
        HoldSpec::Port { port: self.port, accept_close: self.mode == PortMode::AcceptClose }
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
        let restart = if self.restart { ", restarting the simulator while it is held" } else { "" };
        format!("port_conflict: hold 127.0.0.1:{} ({mode}){restart}", self.port)
    }

    fn preflight(&self, ctx: &FaultContext) -> Result<(), FaultErrorKind> {
        ctx.require_local()?;
        ctx.require_port(self.port)?;
        if self.restart {
            ctx.require_service("restart = true")?;
            return Ok(());
        }
        match TcpListener::bind(("127.0.0.1", self.port)) {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == ErrorKind::AddrInUse => Err(FaultErrorKind::Refused {
                what: format!("port {} is already in use (pids {:?})", self.port, procfs::pids_listening_on(self.port)),
                fix: "set restart = true to take it while the simulator restarts, or stop its owner first".into(),
            }),
            Err(e) => Err(FaultErrorKind::io(format!("binding port {}", self.port))(e)),
        }
    }

    fn inject(&self, ctx: &FaultContext, intent: &mut dyn Intent) -> Result<String, FaultErrorKind> {
        if !self.restart {
            return holder::start(ctx, intent, &self.hold());
        }
        let service = ctx.require_service("restart = true")?;
        // Journaled first, so it is rolled back last: after the port is free the simulator gets its own port back.
        intent.record(Undo::RestartService)?;
        let stop = |e| FaultErrorKind::Command { cmd: "stop the simulator".into(), output: e };
        service.stop().map_err(stop)?;
        let detail = holder::start(ctx, intent, &self.hold())?;
        service.start().map_err(|e| FaultErrorKind::Command { cmd: "start the simulator".into(), output: e })?;
        Ok(format!("{detail}; simulator restarted while the port is held"))
    }
}
