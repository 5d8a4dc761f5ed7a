//! The one decision "did this run pass", made from the report alone.
//!
//! [`decide`] is the only place it is made: the exit code of `run` and `merge`, the console headline, `summary.md`,
//! `report.html`, `junit.xml` and `postmortem.md` all read the [`Outcome`] it returns (stored in `report.json`), so
//! no two of them can disagree. It is pure, so a saved or merged report is decided exactly as the run was.

use serde::{Deserialize, Serialize};

use super::{Report, RunStatus};
use crate::judge::Expected;

/// What a run amounted to, worst first in the order [`decide`] checks them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Conclusion {
    /// Stopped early by Ctrl-C or SIGTERM: half a drill is not judged.
    Interrupted,
    /// The harness failed (a fault not injected or not rolled back, a signal that could not be measured, a baseline
    /// that does not compare): the drill did not do what it said, so it can neither pass nor fail.
    Error,
    /// An expectation broke (without `[expect]`: an incident or a failed check) or a baseline regressed.
    Failed,
    /// Observe-only (`[expect] incident = "any"`): what was seen is reported, nothing is gated.
    Observed,
    /// Every expectation held and no baseline regressed.
    Passed,
}

impl Conclusion {
    /// The process exit code, as `EXIT_CODES` in the CLI states it.
    pub fn exit_code(self) -> u8 {
        match self {
            Self::Passed | Self::Observed => 0,
            Self::Failed => 1,
            Self::Error | Self::Interrupted => 2,
        }
    }

    /// The headline's first word.
    pub fn word(self) -> &'static str {
        match self {
            Self::Passed => "PASS",
            Self::Observed => "OBSERVED",
            Self::Failed => "FAIL",
            Self::Error => "ERROR",
            Self::Interrupted => "INTERRUPTED",
        }
    }

    /// Passed or observed: exit 0.
    pub fn ok(self) -> bool {
        self.exit_code() == 0
    }
}

/// The conclusion and why, one reason per line of evidence (a broken expectation, a harness error, a regression).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Outcome {
    /// The one word every format and the exit code follow.
    pub conclusion: Conclusion,
    /// One sentence each, in the order checked; empty for a pass.
    pub reasons: Vec<String>,
}

impl Outcome {
    /// A placeholder for a report being built, before [`decide`] runs on it (it reads as an error if left).
    pub const UNDECIDED: Outcome = Outcome { conclusion: Conclusion::Error, reasons: Vec::new() };
}

/// Decide the outcome of `report` from its status, harness errors, expectations and baseline regressions.
/// Interrupted and errored runs are decided before anything judged, since what was judged is then not the drill.
pub fn decide(report: &Report) -> Outcome {
    let errors = report.errors.iter().cloned();
    if report.status == RunStatus::Interrupted {
        let reasons = std::iter::once("interrupted before the timeline ended; not judged".to_string());
        return Outcome { conclusion: Conclusion::Interrupted, reasons: reasons.chain(errors).collect() };
    }
    if !report.errors.is_empty() {
        return Outcome { conclusion: Conclusion::Error, reasons: errors.collect() };
    }
    let Some(verdict) = &report.verdict else {
        return Outcome { conclusion: Conclusion::Error, reasons: vec!["the run completed but was not judged".into()] };
    };
    let observe_only = report.scenario.file.expect.as_ref().is_some_and(|e| e.incident == Some(Expected::Any));
    if observe_only {
        let seen: Vec<String> = verdict.seen().iter().map(|(i, s)| format!("{i} {s}")).collect();
        let seen = if seen.is_empty() { "no incident".to_string() } else { seen.join(", ") };
        return Outcome { conclusion: Conclusion::Observed, reasons: vec![format!("observe-only: saw {seen}")] };
    }
    let broken = report
        .expectations
        .iter()
        .filter(|e| !e.passed)
        .map(|e| format!("expectation {} broken: measured {}, wanted {}", e.name, e.measured, e.wanted));
    let regressed = report.baseline.iter().flat_map(|b| b.regressions.iter().map(|r| format!("regression: {r}")));
    let reasons: Vec<String> = broken.chain(regressed).collect();
    let conclusion = if reasons.is_empty() { Conclusion::Passed } else { Conclusion::Failed };
    Outcome { conclusion, reasons }
}
