//! The undo of a fault that acts on another host ([`Undo::OnHost`](super::Undo::OnHost)): the host's agent holds the
//! real undo records in its own journal, so the harness only has to reach it.
//!
//! Why two ways: while the run lives, its connection to the agent rolls back at once (a [`HostLink`] registered
//! here by the host module, which this module may not import). After the run died (the watchdog, `recover`), no
//! connection exists, so the record carries the command that replays the host's journal over SSH. That replay also
//! waits for a still-running agent to let go of the host's journal, so it never races the agent's own lease rollback.

use std::collections::HashMap;
use std::sync::{Arc, Weak};

use parking_lot::Mutex;

use super::{FaultErrorKind, FaultSpec, command};

/// A live connection to a host's agent.
pub trait HostLink: Send + Sync {
    /// Ask the agent to roll back the fault named `fault`; the error says why it could not.
    fn rollback(&self, fault: &str) -> Result<String, String>;
}

static LINKS: Mutex<Option<HashMap<String, Weak<dyn HostLink>>>> = Mutex::new(None);

/// Make `link` the way to reach `host` for as long as it lives.
pub fn register(host: &str, link: &Arc<dyn HostLink>) {
    LINKS.lock().get_or_insert_with(HashMap::new).insert(host.to_owned(), Arc::downgrade(link));
}

fn live(host: &str) -> Option<Arc<dyn HostLink>> {
    LINKS.lock().as_ref().and_then(|m| m.get(host)).and_then(Weak::upgrade)
}

/// Roll back `fault` on `host`: through the live agent, else (or when that fails) by `recover`, a shell command that
/// replays the host's journal.
pub fn rollback(host: &str, fault: &str, recover: &str) -> Result<String, FaultErrorKind> {
    let mut why = "no live connection".to_owned();
    if let Some(link) = live(host) {
        match link.rollback(fault) {
            Ok(detail) => return Ok(format!("on host {host}: {detail}")),
            Err(e) => why = e,
        }
    }
    command::run(recover).map(|d| format!("on host {host} ({why}), replayed its journal: {d}"))
}

/// The kinds that can act on another host, and why the others cannot: they act on the harness's own load or proxy,
/// or on the embedded simulator's knobs, none of which exists on the host.
pub fn host_refusal(kind: &str) -> Option<&'static str> {
    match kind {
        "disk_fill" | "kill_process" | "port_conflict" | "cpu_hog" | "connection_flood" | "scene" | "key_rotation"
        | "service" | "noop" => None,
        "network" => Some("it shapes the harness's own proxy, which runs with the harness, not on a host"),
        "expired_token" => Some("it spoils the harness's own load, which runs with the harness, not on a host"),
        "memory_leak" | "frame_work" => Some("it turns a knob of the embedded simulator, which is not on a host"),
        "exec" => Some("it runs arbitrary commands, which the host's allow-list cannot bound; use `service`"),
        _ => Some("it is not a fault kind the host agent knows"),
    }
}

/// The shell commands a fault runs where it acts (at injection or rollback), each with the settings key that gives
/// it: what a host's `[host.allow] commands` must name, since the agent runs them (often through sudo) on a server
/// whose owner must be able to say exactly what a drill may do there.
pub fn commands(spec: &FaultSpec) -> Vec<(&'static str, &str)> {
    match spec {
        FaultSpec::Service(s) => vec![("stop", s.stop.as_str()), ("start", s.start.as_str())],
        FaultSpec::KillProcess(k) => k.restart_command.iter().map(|c| ("restart_command", c.as_str())).collect(),
        FaultSpec::PortConflict(p) => p.restart_command.iter().map(|c| ("restart_command", c.as_str())).collect(),
        _ => Vec::new(),
    }
}

/// The first command of `spec` that `allowed` does not name, with its key. Exact text only (surrounding whitespace
/// aside): a prefix or pattern rule would let `systemctl restart x; rm -rf /` pass as `systemctl restart x`.
pub fn unlisted_command<'a>(spec: &'a FaultSpec, allowed: &[String]) -> Option<(&'static str, &'a str)> {
    commands(spec).into_iter().find(|(_, cmd)| !allowed.iter().any(|a| a.trim() == cmd.trim()))
}
