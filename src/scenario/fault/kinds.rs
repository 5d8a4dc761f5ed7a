//! The settings of each fault kind, one struct per `[fault.<kind>]` table; units are in the field names or docs.
//!
//! These are data only. What each kind does (and undoes) belongs to the faults module; what values are allowed is
//! in `check.rs` beside this file. Fields left out default to the embedded simulator's own port, path or process,
//! which is always inside the blast radius (the run created it).

use std::path::PathBuf;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Hold a TCP port so the service cannot bind it (runbook Incident 1, scenario B).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PortConflict {
    /// The port to hold; omitted = the embedded simulator's HTTP port. An explicit port must be in `[allow] ports`.
    #[serde(default)]
    pub port: Option<u16>,
    #[serde(default)]
    pub mode: PortMode,
    /// Restart the service while the port is held, so it comes up on a fallback port.
    #[serde(default)]
    pub restart: bool,
    /// How to restart a target that is not the embedded simulator (needed with `restart` and a `[target]`).
    #[serde(default)]
    pub restart_command: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PortMode {
    /// Listen without accepting: clients hang.
    #[default]
    Listen,
    /// Accept and close at once: clients see resets.
    AcceptClose,
}

/// Fill the filesystem holding a path with a ballast file (runbook Incident 7).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DiskFill {
    /// A directory on the filesystem to fill (the ballast goes there); omitted = the simulator's data directory.
    /// An explicit path must be absolute, not `/`, and inside an `[allow] paths` entry.
    #[serde(default)]
    pub path: Option<PathBuf>,
    /// Fill until the filesystem is this full, in percent (0, 100]. Exactly one of `percent` and `free_bytes`.
    #[serde(default)]
    pub percent: Option<f64>,
    /// Fill until only this many bytes are free.
    #[serde(default)]
    pub free_bytes: Option<u64>,
}

/// Signal a process, optionally bringing it back (runbook Incident 1 scenario A, Incident 2 scenario C).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KillProcess {
    /// One of the embedded simulator's processes. Exactly one of `sim`, `port`, `pid_file`, `name`.
    #[serde(default)]
    pub sim: Option<SimProcess>,
    /// The process listening on this TCP port (must be in `[allow] ports`).
    #[serde(default)]
    pub port: Option<u16>,
    /// The process whose PID this file holds (the file must be inside an `[allow] paths` entry).
    #[serde(default)]
    pub pid_file: Option<PathBuf>,
    /// The process with exactly this name (must be in `[allow] processes`).
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub signal: Signal,
    /// Bring the process back on rollback (not with `STOP`, which rollback undoes with `CONT`).
    #[serde(default)]
    pub restart: bool,
    /// How to bring it back; required with `restart` unless the process is the simulator's (`sim`).
    #[serde(default)]
    pub restart_command: Option<String>,
}

/// The embedded simulator's processes, as its ports file names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SimProcess {
    Bridge,
    Dap,
    Lsp,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum Signal {
    /// Crash (SIGKILL).
    #[default]
    #[serde(rename = "KILL")]
    Kill,
    /// Ask to stop (SIGTERM).
    #[serde(rename = "TERM")]
    Term,
    /// Freeze (SIGSTOP); rollback sends SIGCONT: a hung process.
    #[serde(rename = "STOP")]
    Stop,
}

/// Stop a service and start it again on rollback, through the deployment's own commands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Service {
    /// Run at injection, e.g. `systemctl stop godot-spacetime`.
    pub stop: String,
    /// Run at rollback, e.g. `systemctl start godot-spacetime`.
    pub start: String,
}

/// Toxics on the built-in TCP proxy the run routes the target's traffic through (Incidents 1 and 3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Network {
    #[serde(default)]
    pub direction: Direction,
    /// Delay added to every chunk, e.g. "300ms".
    #[serde(default, with = "humantime_serde")]
    #[schemars(with = "Option<String>")]
    pub latency: Option<Duration>,
    /// Random extra delay, uniform in [0, jitter] (needs `latency`).
    #[serde(default, with = "humantime_serde")]
    #[schemars(with = "Option<String>")]
    pub jitter: Option<Duration>,
    /// Throughput cap in kilobits per second.
    #[serde(default)]
    pub bandwidth_kbps: Option<u64>,
    /// Reset every connection (clients see "connection reset").
    #[serde(default)]
    pub reset: bool,
    /// Blackhole: accept data and forward nothing (clients time out).
    #[serde(default)]
    pub timeout: bool,
    /// Delay the close of each connection by this long.
    #[serde(default, with = "humantime_serde")]
    #[schemars(with = "Option<String>")]
    pub slow_close: Option<Duration>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    #[default]
    Both,
    /// Client → service.
    Upstream,
    /// Service → client.
    Downstream,
}

/// A share of requests carries a bad token (runbook Incident 4, scenario A).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExpiredToken {
    /// Fraction of requests affected, in (0, 1]: 1 = all (P1), less = intermittent (P2).
    #[serde(default = "one")]
    pub share: f64,
    #[serde(default)]
    pub mode: TokenMode,
}

fn one() -> f64 {
    1.0
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TokenMode {
    /// Correctly signed, `exp` in the past.
    #[default]
    Expired,
    /// Signed with another secret.
    WrongSignature,
}

/// Replace the target's JWT secret file, so every token in use fails at once (Incident 4, "auth system down").
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyRotation {
    /// The secret file; omitted = the embedded simulator's (`[sim] auth = true`). Explicit: inside `[allow] paths`.
    #[serde(default)]
    pub secret_file: Option<PathBuf>,
}

/// Break a scene file in the project (runbook Incident 5, scenarios A-C).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Scene {
    /// The scene, as a `res://....tscn` path.
    pub scene: String,
    pub action: SceneAction,
    /// With `remove_dependency`: which `res://` dependency to remove.
    #[serde(default)]
    pub dependency: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SceneAction {
    /// Rename the scene away (404).
    Rename,
    /// Overwrite it with garbage (500).
    Garbage,
    /// Remove one of its dependencies (500 naming it).
    RemoveDependency,
}

/// Turn on the simulator's leak knob (Incident 6).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MemoryLeak {
    /// Bytes retained per request.
    pub bytes_per_request: u64,
}

/// Turn on the simulator's busy-work knob: FPS drops, latency rises (Incident 3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FrameWork {
    /// Extra work per frame, in milliseconds (a 90 Hz frame is 11.1 ms).
    pub ms: f64,
}

/// Busy threads on the target host (Incident 3, scenario A).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CpuHog {
    pub threads: u32,
}

/// Idle connections held open to the target (the bridge serves 100 at most; Incident 2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectionFlood {
    pub connections: u32,
}

/// Anything else: a command to inject and one to roll back (ssh, kubectl, ...). Run by `sh -c`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Exec {
    pub inject: String,
    pub rollback: String,
}

/// Does nothing: for baselines, and to prove a drill can fail.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Noop {}
