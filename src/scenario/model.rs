//! The scenario as typed data: the serde mirror of a `scenarios/*.toml` file.
//!
//! Every struct denies unknown fields, so a typo is an error with a line, never a silently ignored setting. The same
//! types are what the rest of the harness consumes once `Scenario::load` has checked them, and what the report
//! embeds as "the scenario as run": secrets are never inline here (a token comes from an environment variable or a
//! file, named by `token_env`/`token_file`), so serializing a scenario cannot leak one.

use std::path::PathBuf;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::expect::Expect;
use super::fault::FaultEntry;
use super::limits;
use crate::api::StateMapping;
use crate::judge::Thresholds;

/// A whole scenario file.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    /// Name used in report paths; defaults to the file's stem.
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// The service under test; omitted = the embedded simulator, started and torn down by the run.
    #[serde(default)]
    pub target: Option<Target>,
    /// Options for the embedded simulator (ignored with a `[target]`).
    #[serde(default)]
    pub sim: SimOptions,
    #[serde(default)]
    pub load: Load,
    #[serde(default)]
    pub probe: Probe,
    /// The timeline, in order. At least one phase.
    #[serde(rename = "phase")]
    pub phases: Vec<Phase>,
    /// Faults, held during the phases that name them.
    #[serde(default, rename = "fault")]
    pub faults: Vec<FaultEntry>,
    /// The blast radius of destructive faults.
    #[serde(default)]
    pub allow: Allow,
    /// What the run must show (judged by the runbook verdict).
    #[serde(default)]
    pub expect: Option<Expect>,
    /// Overrides of the runbook's default thresholds.
    #[serde(default)]
    pub thresholds: Thresholds,
}

/// A service reached over the network (staging, production, or a simulator started by hand).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// HTTP base URL, e.g. `http://127.0.0.1:8080`.
    pub url: String,
    /// Telemetry WebSocket URL, e.g. `ws://127.0.0.1:8081`; omitted = no telemetry is watched.
    #[serde(default)]
    pub telemetry: Option<String>,
    /// Name of the environment variable holding the Bearer token.
    #[serde(default)]
    pub token_env: Option<String>,
    /// File holding the Bearer token (first line).
    #[serde(default)]
    pub token_file: Option<PathBuf>,
    /// How `/status` numbers the service states.
    #[serde(default)]
    pub state_mapping: StateMapping,
}

/// Settings for the embedded simulator.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SimOptions {
    /// Turn authentication on: the run creates a secret file and mints its own token.
    #[serde(default)]
    pub auth: bool,
    /// Extra busy work per frame, in milliseconds, from the start (a slow service); 0 to 10000.
    #[serde(default)]
    #[schemars(range(min = 0, max = crate::fault::frame_work::MAX_MS))]
    pub frame_work_ms: f64,
    /// Bytes leaked per request from the start; 0 to 16 MiB.
    #[serde(default)]
    #[schemars(range(max = crate::fault::memory_leak::MAX_BYTES_PER_REQUEST))]
    pub leak_bytes_per_request: u64,
    /// Put the simulator's data directory on a tmpfs of this many MiB (needs root), so `disk_fill` can fill a disk
    /// for real without touching the host's filesystems; unmounted when the run ends.
    /// 1 to 16384.
    #[serde(default)]
    #[schemars(range(min = 1, max = limits::MAX_DATA_FS_MIB))]
    pub data_fs_mib: Option<u32>,
}

/// Open model (arrival rate, the default) or closed model (goose users).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LoadModel {
    #[default]
    Open,
    Users,
}

/// The load, as defaults for every phase.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Load {
    #[serde(default)]
    pub model: LoadModel,
    /// Open model: arrivals per second, above 0 and at most 1000000.
    #[serde(default = "defaults::rate")]
    #[schemars(range(min = 0, max = limits::MAX_RATE))]
    pub rate: f64,
    /// Open model: at most this many requests in flight (1 to 65536); arrivals beyond it are dropped and counted.
    #[serde(default = "defaults::max_in_flight")]
    #[schemars(range(min = 1, max = limits::MAX_IN_FLIGHT))]
    pub max_in_flight: usize,
    /// Per-request timeout, above 0 and at most 1 h.
    #[serde(default = "defaults::timeout", with = "humantime_serde")]
    #[schemars(with = "String")]
    pub timeout: Duration,
    /// Users model: concurrent users, 1 to 100000.
    #[serde(default = "defaults::users")]
    #[schemars(range(min = 1, max = limits::MAX_USERS))]
    pub users: usize,
    /// Users model: how long it takes to start all users; at most 1 h.
    #[serde(default, with = "humantime_serde")]
    #[schemars(with = "String")]
    pub ramp: Duration,
    /// Users model: pause after each request; at most 1 h.
    #[serde(default, with = "humantime_serde")]
    #[schemars(with = "String")]
    pub think_time: Duration,
    /// Relative weight of each endpoint.
    #[serde(default)]
    pub mix: Mix,
    /// Scene paths `/scene/load` picks from, round robin.
    #[serde(default = "defaults::scenes")]
    pub scenes: Vec<String>,
    /// Expressions `/debug/evaluate` picks from.
    #[serde(default = "defaults::expressions")]
    pub expressions: Vec<String>,
    /// Document/position pairs `/lsp/completion` picks from.
    #[serde(default = "defaults::completions")]
    pub completions: Vec<Completion>,
}

impl Default for Load {
    fn default() -> Self {
        toml::from_str("").expect("every Load field has a default")
    }
}

/// Endpoint weights, 0 to 1000000 each; a weight of 0 leaves the endpoint out.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Mix {
    #[serde(default = "defaults::w_status")]
    #[schemars(range(max = limits::MAX_WEIGHT))]
    pub status: u32,
    #[serde(default = "defaults::w_scene")]
    #[schemars(range(max = limits::MAX_WEIGHT))]
    pub scene_load: u32,
    #[serde(default = "defaults::w_eval")]
    #[schemars(range(max = limits::MAX_WEIGHT))]
    pub debug_evaluate: u32,
    #[serde(default = "defaults::w_lsp")]
    #[schemars(range(max = limits::MAX_WEIGHT))]
    pub lsp_completion: u32,
}

impl Default for Mix {
    fn default() -> Self {
        Self {
            status: defaults::w_status(),
            scene_load: defaults::w_scene(),
            debug_evaluate: defaults::w_eval(),
            lsp_completion: defaults::w_lsp(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Completion {
    pub uri: String,
    pub line: u32,
    pub character: u32,
}

/// One step of the timeline.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Phase {
    pub name: String,
    /// Above 0 and at most 24 h; all phases together at most 7 days.
    #[serde(with = "humantime_serde")]
    #[schemars(with = "String")]
    pub duration: Duration,
    /// Overrides of `[load]` for this phase.
    #[serde(default)]
    pub load: PhaseLoad,
    /// Names of `[[fault]]` entries held during this phase.
    #[serde(default)]
    pub faults: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PhaseLoad {
    /// Arrival rate at the start of the phase, above 0 and at most 1000000.
    #[serde(default)]
    #[schemars(range(min = 0, max = limits::MAX_RATE))]
    pub rate: Option<f64>,
    /// Arrival rate at the end of the phase (a linear ramp from `rate`), 0 to 1000000.
    #[serde(default)]
    #[schemars(range(min = 0, max = limits::MAX_RATE))]
    pub ramp_to: Option<f64>,
    /// Users model only, and only the user count `[load]` gives (the users model runs one count for the whole run).
    #[serde(default)]
    #[schemars(range(min = 1, max = limits::MAX_USERS))]
    pub users: Option<usize>,
    #[serde(default)]
    pub mix: Option<Mix>,
}

/// Watching cadence and what to watch besides `/status`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Probe {
    /// How often `/status` and the resource probes run: 100 ms to 1 h.
    #[serde(default = "defaults::probe_interval", with = "humantime_serde")]
    #[schemars(with = "String")]
    pub interval: Duration,
    /// Local target: PID of the service (default: the embedded simulator, or whatever listens on the HTTP port).
    #[serde(default)]
    #[schemars(range(min = 1, max = limits::MAX_PID))]
    pub pid: Option<u32>,
    /// Local target: a path on the filesystem whose usage is watched (default: the simulator's data directory).
    #[serde(default)]
    pub disk_path: Option<PathBuf>,
    /// Remote target: a shell command printing the resident memory in MB.
    #[serde(default)]
    pub memory_command: Option<String>,
    /// Remote target: a shell command printing the disk usage in percent.
    #[serde(default)]
    pub disk_command: Option<String>,
}

impl Default for Probe {
    fn default() -> Self {
        toml::from_str("").expect("every Probe field has a default")
    }
}

/// The blast radius: what destructive faults may touch besides the embedded simulator's own ports, paths and
/// processes (always allowed: the run created them).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Allow {
    /// Directories (absolute, not `/`) that `disk_fill`, `key_rotation` and `kill_process.pid_file` may act in.
    #[serde(default)]
    pub paths: Vec<PathBuf>,
    /// TCP ports that `port_conflict` may hold and `kill_process` may find a process by.
    #[serde(default)]
    pub ports: Vec<u16>,
    /// Exact process names `kill_process` may signal.
    #[serde(default)]
    pub processes: Vec<String>,
}

mod defaults {
    use super::Completion;
    use std::time::Duration;

    pub fn rate() -> f64 {
        100.0
    }
    /// Below the bridge's 100-client limit, with room for probes and telemetry: every in-flight request holds a
    /// keep-alive connection, and the bridge never closes idle ones, so a larger pool would lock out everyone else
    /// after the first stall.
    pub fn max_in_flight() -> usize {
        64
    }
    pub fn timeout() -> Duration {
        Duration::from_secs(10)
    }
    pub fn users() -> usize {
        8
    }
    pub fn w_status() -> u32 {
        4
    }
    pub fn w_scene() -> u32 {
        1
    }
    pub fn w_eval() -> u32 {
        2
    }
    pub fn w_lsp() -> u32 {
        2
    }
    pub fn scenes() -> Vec<String> {
        ["res://vr_main.tscn", "res://node_3d.tscn"].map(String::from).to_vec()
    }
    pub fn expressions() -> Vec<String> {
        ["player.health", "player.jetpack_fuel", "player.health * 2"].map(String::from).to_vec()
    }
    pub fn completions() -> Vec<Completion> {
        vec![Completion { uri: "file:///project/scripts/player.gd".into(), line: 10, character: 4 }]
    }
    pub fn probe_interval() -> Duration {
        Duration::from_secs(1)
    }
}
