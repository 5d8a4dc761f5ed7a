//! `[expect]`: what a drill must show, in the runbook's own words (incident classes and P0..P4).
//!
//! Closed enums rather than strings, so a typo (`"high_error"`) is a parse error with a line and the list of valid
//! names, and the judge can match on them exhaustively.

use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::runbook::{Expected, Severity};

use super::check::Checker;
use super::locate::KeyPath;

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

pub(super) fn check(c: &mut Checker, at: &KeyPath, expect: &Expect, has_faults: bool) {
    if expect.incident == Some(Expected::Any) {
        let gates = [
            ("severity", expect.severity.is_some()),
            ("worst", expect.worst.is_some()),
            ("detect_within", expect.detect_within.is_some()),
            ("recover_within", expect.recover_within.is_some()),
        ];
        for (key, _) in gates.into_iter().filter(|(_, set)| *set) {
            c.fail(
                &at.key(key),
                format!("incident = \"any\" observes without gating, so {key} would never be checked; remove it, or name the incident"),
            );
        }
        return;
    }
    match (expect.incident, expect.severity) {
        (Some(Expected::Healthy), Some(_)) => c.fail(
            &at.key("severity"),
            "\"healthy\" has no severity; remove it, or use worst = \"P3\" to tolerate minor findings",
        ),
        (None, Some(_)) => {
            c.fail(&at.key("severity"), "a severity needs the incident it belongs to; add incident = \"...\"")
        }
        _ => {}
    }
    // P0 is the worst: a severity the drill must reach cannot be worse than the worst it tolerates.
    if let (Some(severity), Some(worst)) = (expect.severity, expect.worst) {
        c.check(severity >= worst, &at.key("worst"), || {
            format!(
                "worst = \"{worst:?}\" tolerates nothing worse than {worst:?}, but severity = \"{severity:?}\" asks \
                 for {severity:?}; raise worst to \"{severity:?}\" or lower the severity"
            )
        });
    }
    for (key, within) in [("detect_within", expect.detect_within), ("recover_within", expect.recover_within)] {
        if let Some(d) = within {
            c.duration(&at.key(key), d, super::limits::MAX_TIMELINE, "10s");
            c.check(has_faults, &at.key(key), || {
                format!("{key} is measured from a fault, but there is no [[fault]]; remove it or add a fault")
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::scenario::Scenario;

    const OBSERVE: &str = "[[phase]]\nname = \"p\"\nduration = \"1s\"\n[expect]\nincident = \"any\"\n";

    #[test]
    fn observe_only_takes_no_key_that_would_gate() {
        assert!(Scenario::parse(Path::new("s.toml"), OBSERVE).is_ok());
        let err = Scenario::parse(Path::new("s.toml"), &format!("{OBSERVE}worst = \"P2\"\n")).err().unwrap();
        let err: Vec<String> = err.iter().map(ToString::to_string).collect();
        let err = err.join("\n");
        assert!(err.contains("s.toml:6:") && err.contains("worst would never be checked"), "{err}");
    }
}
