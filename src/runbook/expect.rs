//! `[expect]`: what a drill must show, in the runbook's own words (incident classes and P0..P4).
//!
//! Closed enums rather than strings, so a typo (`"high_error"`) is a parse error with a line and the list of valid
//! names, and the judge can match on them exhaustively. The scenario checks the table's consistency as it is read;
//! the judge checks a verdict against it.

use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Expected, Severity};

/// What the run must show (judged by the runbook verdict).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// `healthy`, the runbook incident class the drill must produce, or `any` to observe without gating (exit 0
    /// whatever the run shows). Without `[expect]` a run must be healthy.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub incident: Option<Expected>,
    /// The severity the incident must reach (needs `incident`, not `healthy`).
    #[serde(default)]
    pub severity: Option<Severity>,
    /// Nothing worse than this severity may be seen (a gate: `healthy` plus `worst = "P3"` tolerates minor findings).
    #[serde(default)]
    pub worst: Option<Severity>,
    /// Longest time from a fault's injection to the first window showing the incident.
    #[serde(default, with = "humantime_serde")]
    #[schemars(with = "Option<String>")]
    pub detect_within: Option<Duration>,
    /// Longest time from a fault's rollback to healthy again.
    #[serde(default, with = "humantime_serde")]
    #[schemars(with = "Option<String>")]
    pub recover_within: Option<Duration>,
}
