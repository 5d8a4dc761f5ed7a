//! The report model: built once from a finished run, rendered by one function per format.
//!
//! `report.json` is the canonical form (versioned by [`SCHEMA_VERSION`], its schema committed as
//! `reports/schema.json`); every other format is a function of a [`Report`], so a saved report can be re-rendered
//! later and two renderers can never disagree about a number. [`render_all`] writes any set of [`Format`]s into a
//! directory; [`compare`] gates a report against a baseline; [`merge`] adds up shard reports exactly.

mod charts;
mod command;
mod compare;
mod html;
mod json;
mod junit;
mod markdown;
mod merge;
mod postmortem;
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
pub use json::{parse_json, read_json, render_json, schema, write_json};
pub use junit::render_junit;
pub use markdown::render_summary;
pub use merge::{MergeError, merge};
pub use postmortem::{PROMPT, render_postmortem};
pub use render::{Format, render_all};
pub use summary::{EndpointSummary, Percentiles, PhaseSummary, summarize};
pub use table::render_table;

use crate::judge::{CheckResult, Verdict};
use crate::record::Record;
use crate::scenario::ScenarioFile;

/// Bumped on any change a consumer of `report.json` could notice (2: `verdict.profile` takes the `[thresholds]` names).
pub const SCHEMA_VERSION: u32 = 2;

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Report {
    pub schema_version: u32,
    pub tool: Tool,
    pub scenario: ScenarioInfo,
    pub target: TargetInfo,
    /// Wall-clock start, UTC, RFC 3339.
    pub started_at: String,
    pub duration_s: f64,
    pub status: RunStatus,
    /// Readable per-phase figures, derived from `record`.
    pub phases: Vec<PhaseSummary>,
    /// The runbook verdict (incidents, severities, time to detect and recover); `None` for an interrupted run.
    pub verdict: Option<Verdict>,
    /// The scenario's `[expect]`, each held or broken.
    pub expectations: Vec<CheckResult>,
    /// Everything measured, with histograms serialized exactly so runs can be merged.
    pub record: Record,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Tool {
    pub name: String,
    pub version: String,
}

impl Tool {
    pub fn current() -> Self {
        Self { name: env!("CARGO_PKG_NAME").into(), version: env!("CARGO_PKG_VERSION").into() }
    }
}

/// The scenario as run: the parsed file (which holds no secret values, only where a token comes from).
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ScenarioInfo {
    pub name: String,
    pub path: PathBuf,
    pub file: ScenarioFile,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TargetInfo {
    pub url: String,
    pub telemetry: Option<String>,
    /// True when the run started the embedded simulator itself.
    pub embedded: bool,
    /// True when requests carried a Bearer token (never the token itself).
    pub authenticated: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Every phase ran to its end.
    Completed,
    /// Stopped early by Ctrl-C or SIGTERM; the phases reached are still reported.
    Interrupted,
}
