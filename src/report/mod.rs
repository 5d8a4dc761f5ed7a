//! The report model: built once from a finished run, rendered by one function per format.
//!
//! `report.json` is the canonical form (versioned by [`SCHEMA_VERSION`], its schema committed as
//! `reports/schema.json`); every other format is a function of a [`Report`], so a saved report can be re-rendered
//! later and two renderers can never disagree about a number. [`render_all`] writes any set of [`Format`]s into a
//! directory; [`compare()`] gates a report against a baseline; [`merge()`] adds up shard reports exactly.

mod charts;
mod command;
mod compare;
mod files;
mod html;
mod json;
mod junit;
mod markdown;
mod merge;
mod outcome;
mod postmortem;
mod queries;
mod render;
mod summary;
mod table;
mod timeline;
mod words;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use command::{compare_command, merge_command, report_command};
pub use compare::{Comparison, Delta, Mismatch, Tolerance, compare};
pub use html::render_html;
pub use json::{OLDEST_READ, parse_json, read_json, render_json, schema, write_json};
pub use junit::render_junit;
pub use markdown::render_summary;
pub use merge::{MergeError, merge};
pub use outcome::{Conclusion, Outcome, decide};
pub use postmortem::{PROMPT, render_postmortem};
pub use render::{Format, render_all};
pub use summary::{EndpointSummary, Percentiles, PhaseSummary, summarize};
pub use table::render_table;
pub use words::{headline, headline_and_reasons};

use crate::judge::{CheckResult, Verdict};
use crate::record::Record;
use crate::scenario::ScenarioFile;

/// Bumped on any change a consumer of `report.json` could notice (2: `verdict.profile` takes the `[thresholds]` names;
/// 3: `outcome`, `errors`, `baseline`, `run_id`, `shard` and `scenario.hash`). Readers accept this version and the
/// one before it (see `json.rs`), so a stored baseline survives one upgrade.
pub const SCHEMA_VERSION: u32 = 3;

/// `report.json`: one run (or a merge of shard runs), complete enough to re-render every other format, compare
/// against, merge and judge again without the run.
// Not in the doc comment, which schemars turns into the schema's description for JSON readers: in Rust, write it with
// `render_json` and read it with `read_json` or `parse_json`, never serde alone. They join and split the verdict's
// timeline entries in `record.events`, check every time field and migrate the previous schema.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Report {
    /// The schema version this report follows; a reader of another version migrates it or refuses it.
    pub schema_version: u32,
    /// The build that wrote it, so a surprising figure can be traced to a harness version.
    pub tool: Tool,
    /// The scenario's identity (name, path, hash) and its parsed content, so the report can be judged again.
    pub scenario: ScenarioInfo,
    /// The service the run drove, and whether a token and certificate checks were used.
    pub target: TargetInfo,
    /// Wall-clock start, UTC, RFC 3339.
    pub started_at: String,
    /// Seconds from the start to the end of the last phase reached (the interruption, for an interrupted run); the
    /// drain of requests in flight afterwards is not counted.
    pub duration_s: f64,
    /// `completed` or `interrupted` (an interrupted run is not judged: its `verdict` is null).
    pub status: RunStatus,
    /// Passed, observed, failed, error or interrupted, and why: what the exit code and every format say (see
    /// [`decide`]).
    pub outcome: Outcome,
    /// Harness errors: a fault that failed to inject or roll back, a signal that could not be measured, a baseline
    /// that does not compare. Any makes the outcome `error`.
    pub errors: Vec<String>,
    /// Random per run, so `merge` can tell one report given twice from two shards.
    pub run_id: String,
    /// `run --shard I/N`: which share of the load this report holds.
    pub shard: Option<ShardInfo>,
    /// `run --baseline`: the comparison with a saved run, whose regressions fail the run.
    pub baseline: Option<BaselineCheck>,
    /// Readable per-phase figures, derived from `record`.
    pub phases: Vec<PhaseSummary>,
    /// The runbook verdict (incidents, severities, time to detect and recover); `None` for an interrupted run.
    pub verdict: Option<Verdict>,
    /// The scenario's `[expect]` (without one, `healthy`), each held or broken.
    pub expectations: Vec<CheckResult>,
    /// Everything measured, with histograms serialized exactly so runs can be merged.
    pub record: Record,
}

/// The harness that wrote a report.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Tool {
    /// The crate name, `spacetime-drill`.
    pub name: String,
    /// The package's semver version (without the git commit `--version` adds).
    pub version: String,
}

impl Tool {
    /// This build, stamped on every report a run writes.
    pub fn current() -> Self {
        Self { name: env!("CARGO_PKG_NAME").into(), version: env!("CARGO_PKG_VERSION").into() }
    }
}

/// The scenario as run: the parsed file (which holds no secret values, only where a token comes from).
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ScenarioInfo {
    /// The scenario's `name`, or its file's stem without one: the name of the report directory too.
    pub name: String,
    /// The scenario file as given on the command line (relative to where the run was started, if it was).
    pub path: PathBuf,
    /// SHA-256 of the scenario as loaded, before `--shard` took the faults off shards other than 0: equal for every
    /// shard of one drill, different for any other scenario (what `merge` checks).
    pub hash: String,
    /// The scenario as the run parsed it: the thresholds, `[expect]` and `[baseline]` that `merge` and `compare`
    /// judge by come from here, not from the file on disk now.
    pub file: ScenarioFile,
}

impl ScenarioInfo {
    /// The hash of a scenario file as `report.json` records it.
    pub fn hash_of(file: &ScenarioFile) -> String {
        use sha2::Digest;
        let json = serde_json::to_vec(file).expect("a scenario is plain data");
        sha2::Sha256::digest(json).iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// One shard of a sharded run (`--shard I/N`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ShardInfo {
    /// 0-based.
    pub index: u32,
    /// How many shards the load was split into; `merge` wants every index from 0 to this minus one.
    pub count: u32,
}

/// A run compared with a baseline report (`run --baseline`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct BaselineCheck {
    /// The baseline `report.json`, as given to `--baseline`.
    pub path: PathBuf,
    /// The tolerances used, resolved (command line, then the scenario's `[baseline]`, then the defaults).
    pub tolerance: Tolerance,
    /// One sentence per figure past its tolerance; any makes the outcome `failed`.
    pub regressions: Vec<String>,
}

/// The service a run drove: enough to tell two reports of different targets apart, never a secret.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TargetInfo {
    /// The API's base URL (`http(s)://host:port`); for the embedded simulator, the loopback address it listened on.
    pub url: String,
    /// The telemetry WebSocket URL (`ws(s)://...`); null when the run watched no telemetry.
    pub telemetry: Option<String>,
    /// True when the run started the embedded simulator itself.
    pub embedded: bool,
    /// True when requests carried a Bearer token (never the token itself).
    pub authenticated: bool,
    /// True when the target's TLS certificate was not verified (`insecure = true`); every renderer says so.
    #[serde(default)]
    pub insecure: bool,
}

/// What every renderer and the console say beside the verdict of a run with `insecure = true`.
pub const INSECURE: &str =
    "WARNING: the target's TLS certificate was NOT verified (insecure = true): anyone on the path could have answered";

/// How far the run's timeline got; [`Outcome`] is what it amounted to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Every phase ran to its end.
    Completed,
    /// Stopped early by Ctrl-C or SIGTERM; the phases reached are still reported.
    Interrupted,
}
