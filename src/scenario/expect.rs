//! `[expect]`: what a drill must show, in the runbook's own words (incident classes and P0..P4).
//!
//! Closed enums rather than strings, so a typo (`"high_error"`) is a parse error with a line and the list of valid
//! names, and the judge can match on them exhaustively.

use std::fmt;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::check::Checker;
use super::locate::KeyPath;

/// What the run must show (judged by the runbook verdict).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// `healthy` or the runbook incident class the drill must produce.
    #[serde(default)]
    pub incident: Option<Incident>,
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

/// The runbook's incident classes (RUNBOOK "Common Incidents" 1-7), plus the healthy verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Incident {
    Healthy,
    /// Incident 1: API completely unresponsive.
    ApiUnresponsive,
    /// Incident 2: high error rate.
    HighErrorRate,
    /// Incident 3: slow response times.
    SlowResponses,
    /// Incident 4: authentication failures.
    AuthFailures,
    /// Incident 5: scene loading failures.
    SceneLoadFailures,
    /// Incident 6: memory leak.
    MemoryLeak,
    /// Incident 7: disk space exhaustion.
    DiskExhaustion,
}

/// Severity levels (RUNBOOK "Severity Levels"); `P0` is the worst, and the derived order sorts worst first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
pub enum Severity {
    P0,
    P1,
    P2,
    P3,
    P4,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

pub(super) fn check(c: &mut Checker, at: &KeyPath, expect: &Expect, has_faults: bool) {
    match (expect.incident, expect.severity) {
        (Some(Incident::Healthy), Some(_)) => c.fail(
            &at.key("severity"),
            "\"healthy\" has no severity; remove it, or use worst = \"P3\" to tolerate minor findings",
        ),
        (None, Some(_)) => {
            c.fail(&at.key("severity"), "a severity needs the incident it belongs to; add incident = \"...\"")
        }
        _ => {}
    }
    for (key, within) in [("detect_within", expect.detect_within), ("recover_within", expect.recover_within)] {
        if let Some(d) = within {
            c.positive_duration(&at.key(key), d, "10s");
            c.check(has_faults, &at.key(key), || {
                format!("{key} is measured from a fault, but there is no [[fault]]; remove it or add a fault")
            });
        }
    }
}
