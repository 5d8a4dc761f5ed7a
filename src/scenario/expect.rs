//! `[expect]` checked as a scenario is read (the table itself, [`Expect`], is the runbook's vocabulary), and what the
//! judge reads of a scenario: its [`Criteria`].

use std::time::Duration;

use crate::judge::{Cmp, Criteria, QueryCheck};
use crate::runbook::{Expect, Expected, Profile};

use super::check::Checker;
use super::locate::KeyPath;
use super::{Fault, ScenarioFile};

pub(super) fn check(
    c: &mut Checker,
    at: &KeyPath,
    expect: &Expect,
    file: &ScenarioFile,
    profile: Option<&Profile>,
    faults: &[Fault],
) {
    let has_faults = !file.faults.is_empty();
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
    if let (Some(_), Some(p), Some((fault, rollback))) = (expect.recover_within, profile, last_rollback(file, faults)) {
        // Recovered = `recovery_windows` healthy windows starting at or after the rollback's whole second, and the
        // last window ends with the run: a shorter tail can never show it, so the expectation could never pass.
        let need = p.window + p.step * p.recovery_windows.saturating_sub(1);
        let end: Duration = file.phases.iter().map(|ph| ph.duration).sum();
        let tail = end.saturating_sub(Duration::from_secs(rollback.as_secs()));
        c.check(tail >= need, &at.key("recover_within"), || {
            let (need, tail) = (humantime::format_duration(need), humantime::format_duration(tail));
            format!(
                "the run ends {tail} after \"{fault}\" is rolled back, but recovery is {n} healthy windows after \
                 it ({need}: [thresholds] window, step and recovery_windows), so it could never be seen; make the \
                 phases after that rollback at least {need} long (a few seconds more leave the service room to \
                 settle), or remove recover_within",
                n = p.recovery_windows.max(1),
            )
        });
    }
}

/// The fault rolled back last and when, in time since the run started: each injection (a run of back-to-back
/// phases holding it) ends at the end of those phases, or sooner at its `ttl`.
fn last_rollback<'a>(file: &ScenarioFile, faults: &'a [Fault]) -> Option<(&'a str, Duration)> {
    faults
        .iter()
        .flat_map(|f| {
            super::check::injections(&file.phases, &f.name)
                .map(|(start, end)| (f.name.as_str(), end.min(start.saturating_add(f.ttl))))
        })
        .max_by_key(|(_, at)| *at)
}

impl Criteria for super::ScenarioFile {
    fn profile(&self) -> Profile {
        self.thresholds.resolve()
    }

    fn expect(&self) -> Option<&Expect> {
        self.expect.as_ref()
    }

    /// The queries with a threshold, as the judge's checks (validate has checked the incident names).
    fn queries(&self) -> Vec<QueryCheck> {
        self.probe
            .queries
            .iter()
            .filter_map(|(name, q)| {
                let spec = q.spec();
                let (cmp, threshold) = match (spec.below, spec.above) {
                    (Some(b), _) => (Cmp::Lt, b),
                    (None, Some(a)) => (Cmp::Gt, a),
                    (None, None) => return None,
                };
                let incident = spec.incident.and_then(|i| i.parse().ok());
                Some(QueryCheck { name: name.clone(), cmp, threshold, incident })
            })
            .collect()
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
