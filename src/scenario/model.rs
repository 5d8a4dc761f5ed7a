//! The scenario as typed data: the serde mirror of a `scenarios/*.toml` file.
//!
//! Every struct denies unknown fields, so a typo is an error with a line, never a silently ignored setting. The same
//! types are what the rest of the harness consumes once `Scenario::load` has checked them, and what the report
//! embeds as "the scenario as run": secrets are never inline here (a token comes from an environment variable or a
//! file, named by `token_env`/`token_file`), so serializing a scenario cannot leak one.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::baseline::Tolerance;
use super::fault::FaultEntry;
use super::limits;
use crate::api::StateMapping;
use crate::runbook::{Expect, Thresholds};
use crate::url::{ServiceUrl, UrlRole};

/// A whole scenario file.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    /// Name used in report paths; defaults to the file's stem.
    #[serde(default)]
    pub name: Option<String>,
    /// Free text for people: shown under the title of the HTML report; never read by the run.
    #[serde(default)]
    pub description: Option<String>,
    /// The service under test; omitted = the embedded simulator, started and torn down by the run.
    #[serde(default)]
    pub target: Option<Target>,
    /// Options for the embedded simulator (ignored with a `[target]`).
    #[serde(default)]
    pub sim: SimOptions,
    /// The load every phase sends unless the phase overrides it; omitted = the open model's defaults.
    #[serde(default)]
    pub load: Load,
    /// How often the target is probed and which resources besides `/status`; omitted = `/status` every second.
    #[serde(default)]
    pub probe: Probe,
    /// Live metrics while the run lasts.
    #[serde(default)]
    pub metrics: Metrics,
    /// The timeline, in order. At least one phase.
    #[serde(rename = "phase")]
    pub phases: Vec<Phase>,
    /// Faults, held during the phases that name them.
    #[serde(default, rename = "fault")]
    pub faults: Vec<FaultEntry>,
    /// The blast radius of destructive faults.
    #[serde(default)]
    pub allow: Allow,
    /// Hosts of the service that faults act on over SSH (`host = "NAME"` on a `[[fault]]`).
    #[serde(default, rename = "host", skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<super::host::HostEntry>,
    /// What the run must show (judged by the runbook verdict).
    #[serde(default)]
    pub expect: Option<Expect>,
    /// Overrides of the runbook's default thresholds.
    #[serde(default)]
    pub thresholds: Thresholds,
    /// Tolerances of a comparison with a baseline report (`run --baseline`, `compare`); flags override them.
    #[serde(default, skip_serializing_if = "Tolerance::is_unset")]
    pub baseline: Tolerance,
}

/// A service reached over the network (staging, production, or a simulator started by hand).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// Base URL of the HTTP API, `http(s)://host[:port]` (no path), e.g. `https://staging.example:8080`.
    pub url: String,
    /// Telemetry WebSocket URL, `ws(s)://host[:port][/path]`; omitted = no telemetry is watched.
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
    /// PEM certificate(s) of a private CA, trusted besides the system's roots (`https`/`wss` only).
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Skip certificate verification entirely; the console and every report say so next to the verdict.
    #[serde(default)]
    pub insecure: bool,
    /// PEM client certificate (chain) for a server that requires one (mTLS); needs `client_key`.
    #[serde(default)]
    pub client_cert: Option<PathBuf>,
    /// PEM private key of `client_cert`.
    #[serde(default)]
    pub client_key: Option<PathBuf>,
}

impl Target {
    /// The TLS settings as the clients take them.
    pub fn tls(&self) -> crate::tls::TlsOptions {
        crate::tls::TlsOptions {
            ca_file: self.ca_file.clone(),
            insecure: self.insecure,
            client_cert: self.client_cert.clone(),
            client_key: self.client_key.clone(),
        }
    }
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
    /// Requests arrive on a schedule (`rate`, ramps) whether or not earlier ones were answered, so a slow service
    /// builds a queue and latency counts from the intended send: how real clients load the service.
    #[default]
    Open,
    /// `users` goose users each send, wait for the answer, think, and send again: the load falls as the service
    /// slows.
    Users,
}

/// The load, as defaults for every phase.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Load {
    /// `open` (arrival rate, the default) or `users` (closed model, goose).
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
    /// Weight of `GET /status`. Default 4.
    #[serde(default = "defaults::w_status")]
    #[schemars(range(max = limits::MAX_WEIGHT))]
    pub status: u32,
    /// Weight of `POST /scene/load`, which picks from `scenes`. Default 1.
    #[serde(default = "defaults::w_scene")]
    #[schemars(range(max = limits::MAX_WEIGHT))]
    pub scene_load: u32,
    /// Weight of `POST /debug/evaluate` (through the debug adapter), which picks from `expressions`. Default 2.
    #[serde(default = "defaults::w_eval")]
    #[schemars(range(max = limits::MAX_WEIGHT))]
    pub debug_evaluate: u32,
    /// Weight of `POST /lsp/completion` (through the language server), which picks from `completions`. Default 2.
    #[serde(default = "defaults::w_lsp")]
    #[schemars(range(max = limits::MAX_WEIGHT))]
    pub lsp_completion: u32,
}

impl Mix {
    /// Only `GET /status`, the cheapest request: what a raw throughput measurement sends, so the figure is the
    /// engine's and not the endpoints'.
    pub const STATUS_ONLY: Mix = Mix { status: 1, scene_load: 0, debug_evaluate: 0, lsp_completion: 0 };
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

/// Where `/lsp/completion` asks for completions: the LSP `textDocument` and `position` of its body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Completion {
    /// The document, e.g. `file:///project/scripts/player.gd`.
    pub uri: String,
    /// Zero-based line, as LSP counts.
    pub line: u32,
    /// Zero-based column within the line, as LSP counts.
    pub character: u32,
}

/// One step of the timeline.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Phase {
    /// Unique within the file: how reports, events and the JUnit cases name the phase.
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

/// What this phase changes of `[load]`; anything left out is `[load]`'s.
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
    /// This phase's endpoint weights, replacing `[load] mix` whole (weights left out take their defaults).
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
    /// Local target: also measure the CPU use of the process the memory probe reads (percent of one core).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cpu: bool,
    /// Base URL of a Prometheus server (`http://host:port`) that `queries` are asked of, each probe interval.
    #[serde(default)]
    pub prometheus: Option<String>,
    /// Named PromQL queries (instant queries, one number each), recorded per second under their name: a string, or
    /// a table with `query` and a check (`below` or `above`, optionally the `incident` its breach is evidence of).
    #[serde(default)]
    pub queries: BTreeMap<String, Query>,
}

impl Probe {
    /// Why `[probe] cpu` cannot measure a service at `url`, if it cannot: the CPU probe reads a process on this
    /// machine (`pid`, or whoever listens on a loopback port). One check for `validate` (the file's target) and
    /// `run` (a `--target` from the command line), so both refuse before any load.
    pub fn cpu_unmeasurable(&self, url: &str) -> Option<String> {
        let remote = ServiceUrl::parse(url, UrlRole::Api).is_ok_and(|u| !u.is_loopback());
        (self.cpu && self.pid.is_none() && remote).then(|| {
            format!(
                "the CPU probe measures a process on this machine and the target {url} is not on it; set \
                 [probe] pid to the service's PID here, or measure on its host: a [[host]] with [host.probe] cpu = true"
            )
        })
    }
}

/// One `[probe] queries` entry.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum Query {
    /// Recorded and shown only.
    PromQl(String),
    /// A table with a threshold: also a verification check on every phase.
    Checked(QuerySpec),
}

/// By hand rather than `untagged`, so that a mistake inside a table is reported as that table's own error (an
/// unknown key, a wrong type) instead of "did not match any variant".
impl<'de> Deserialize<'de> for Query {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Query;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a PromQL string or a table { query = \"...\", below = ..., incident = \"...\" }")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Query, E> {
                Ok(Query::PromQl(v.to_owned()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Query, A::Error> {
                QuerySpec::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(Query::Checked)
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// A query with a check: a named verification check on every phase, and evidence for `incident` when it breaks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QuerySpec {
    /// The PromQL expression; its result must be one number (a scalar or a one-element vector).
    pub query: String,
    /// Healthy while the value is below this.
    #[serde(default)]
    pub below: Option<f64>,
    /// Healthy while the value is above this.
    #[serde(default)]
    pub above: Option<f64>,
    /// A runbook incident (e.g. `slow_responses`) whose findings cite this query when its check fails.
    #[serde(default)]
    pub incident: Option<String>,
}

impl Query {
    pub(crate) fn spec(&self) -> QuerySpec {
        match self {
            Self::PromQl(q) => QuerySpec { query: q.clone(), below: None, above: None, incident: None },
            Self::Checked(s) => s.clone(),
        }
    }
}

/// `[metrics]`: where live metrics go while the run lasts (the `--metrics-*` flags override both).
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Metrics {
    /// Serve OpenMetrics on this `host:port` (`/metrics`), e.g. `"127.0.0.1:9464"`.
    #[serde(default)]
    pub listen: Option<String>,
    /// Push with Prometheus remote write to this URL, e.g. `"http://127.0.0.1:9090/api/v1/write"`.
    #[serde(default)]
    pub remote_write: Option<String>,
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
    /// systemd units whose main process `kill_process.unit` may signal.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub units: Vec<String>,
    /// On a `[[host]]` only: the exact shell commands (`service` stop/start, `restart_command`) its agent may run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub commands: Vec<String>,
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

#[cfg(test)]
mod tests {
    use super::super::Scenario;

    fn error(probe: &str) -> String {
        let text = format!(
            "[probe]\nprometheus = \"http://127.0.0.1:9090\"\n{probe}\n[[phase]]\nname = \"p\"\nduration = \"1s\"\n"
        );
        Scenario::parse("q.toml".as_ref(), &text).map(|_| String::new()).unwrap_or_else(|e| e[0].to_string())
    }

    #[test]
    fn a_query_is_a_string_or_a_table_and_mistakes_in_either_are_named() {
        assert_eq!(error("queries = { a = \"up\", b = { query = \"up\", above = 1 } }"), "");
        assert!(error("queries = { a = { query = \"x\", treshold = 1 } }").contains("unknown field \"treshold\""));
        let wrong = error("queries = { a = 3 }");
        assert!(wrong.contains("a PromQL string or a table"), "{wrong}");
    }
}
