//! A scenario's `[expect]` checked against a verdict: did the drill see what it was meant to, and recover in time.
//!
//! The scenario's strings are parsed once, as it is read, into the runbook's words ([`Expect`], [`Expected`]), so a
//! typo is a harness error (exit 2) found before the run; [`check`] is then pure: one named result per stated
//! expectation.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::runbook::Expect;

use super::Verdict;
use crate::runbook::{Expected, Incident};

/// One expectation, held or broken, with what was measured beside what was wanted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CheckResult {
    /// The `[expect]` key it checks (`healthy`, `incident`, `severity`, `worst`, `detect_within`, `recover_within`).
    pub(crate) name: String,
    /// False: the run fails its gate, whatever else it showed.
    pub(crate) passed: bool,
    /// What the run showed, in words a report prints as is (`none`, `high_error_rate P1`, `3.2s`).
    pub(crate) measured: String,
    /// What `[expect]` asked for, in the same words.
    pub(crate) wanted: String,
}

impl CheckResult {
    fn new(name: &str, passed: bool, measured: impl Into<String>, wanted: impl Into<String>) -> Self {
        Self { name: name.into(), passed, measured: measured.into(), wanted: wanted.into() }
    }
}

fn secs(d: Duration) -> String {
    format!("{}s", d.as_secs_f64())
}

fn list<T: ToString>(items: impl IntoIterator<Item = T>) -> String {
    let v: Vec<String> = items.into_iter().map(|i| i.to_string()).collect();
    if v.is_empty() { "none".into() } else { v.join(", ") }
}

/// The expectations of a scenario's `[expect]`, or without one, `healthy`: a gate written without `[expect]` must
/// not pass on an outage.
pub fn expectations(expect: Option<&Expect>, verdict: &Verdict) -> Vec<CheckResult> {
    let healthy = Expect { incident: Some(Expected::Healthy), ..Expect::default() };
    check(expect.unwrap_or(&healthy), verdict)
}

/// Check every stated expectation against `verdict`; an expectation left out is not checked.
pub fn check(expect: &Expect, verdict: &Verdict) -> Vec<CheckResult> {
    let mut out = Vec::new();
    let seen = list(verdict.seen().iter().map(|(i, s)| format!("{i} {s}")));
    let named = match expect.incident {
        Some(Expected::Healthy) => {
            let broken: Vec<String> = verdict
                .phases
                .iter()
                .flat_map(|p| {
                    let incidents =
                        p.incidents.iter().map(move |f| format!("{}: {} {}", p.name, f.incident, f.severity));
                    let failed =
                        p.checks.iter().filter(|c| c.failed()).map(move |c| format!("{}: {} failed", p.name, c.name));
                    incidents.chain(failed)
                })
                .collect();
            out.push(CheckResult::new("healthy", broken.is_empty(), list(broken), "no incident, every check passes"));
            None
        }
        Some(Expected::Incident(i)) => {
            out.push(CheckResult::new("incident", verdict.worst_of(i).is_some(), seen.clone(), i.name()));
            Some(i)
        }
        Some(Expected::Any) => {
            out.push(CheckResult::new("incident", true, seen.clone(), "any (observe only)"));
            None
        }
        None => None,
    };
    if let (Some(want), Some(i)) = (expect.severity, named) {
        let got = verdict.worst_of(i);
        out.push(CheckResult::new("severity", got == Some(want), list(got), format!("{i} {want}")));
    }
    if let Some(limit) = expect.worst {
        let ok = verdict.worst.is_none_or(|w| !w.is_worse_than(limit));
        out.push(CheckResult::new("worst", ok, list(verdict.worst), format!("{limit} or milder")));
    }
    if let Some(within) = expect.detect_within {
        out.push(detect(verdict, named, within));
    }
    if let Some(within) = expect.recover_within {
        out.push(recover(verdict, within));
    }
    out
}

/// Every fault detected the incident in time. A fault injected while the incident already held at that severity
/// cannot show a detection of its own and is left out; a run without faults has nothing to detect and fails.
fn detect(verdict: &Verdict, incident: Option<Incident>, within: Duration) -> CheckResult {
    let what = incident.map_or("any incident".to_string(), |i| i.to_string());
    let wanted = format!("{what} within {}", secs(within));
    let mut times = Vec::new();
    let mut missed = Vec::new();
    for f in &verdict.faults {
        match f.time_to_detect(incident) {
            Some(t) => times.push(t),
            None if incident.is_some_and(|i| f.present_at_injection.contains(&i)) => {}
            None => missed.push(f.name.as_str()),
        }
    }
    let slowest = times.iter().copied().fold(None, |m: Option<f64>, t| Some(m.map_or(t, |m| m.max(t))));
    let passed = missed.is_empty() && slowest.is_some_and(|t| t <= within.as_secs_f64());
    let measured = match slowest {
        _ if !missed.is_empty() => format!("not detected after {}", list(missed)),
        Some(t) => format!("{t}s"),
        None => "no fault detected it".into(),
    };
    CheckResult::new("detect_within", passed, measured, wanted)
}

/// Every fault that was rolled back recovered in time; a fault never rolled back cannot have recovered.
fn recover(verdict: &Verdict, within: Duration) -> CheckResult {
    let wanted = format!("within {} of each rollback", secs(within));
    let mut slowest: Option<f64> = None;
    let mut missed = Vec::new();
    for f in &verdict.faults {
        match f.time_to_recover() {
            Some(t) => slowest = Some(slowest.map_or(t, |m| m.max(t))),
            None => missed.push(f.name.as_str()),
        }
    }
    let passed = missed.is_empty() && slowest.is_some_and(|t| t <= within.as_secs_f64());
    let measured = match slowest {
        _ if !missed.is_empty() => format!("did not recover after {}", list(missed)),
        Some(t) => format!("{t}s"),
        None => "no fault to recover from".into(),
    };
    CheckResult::new("recover_within", passed, measured, wanted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{Endpoint, ServiceState};
    use crate::judge::Severity;
    use crate::judge::testkit::{SecondExt, healthy, timeline};
    use crate::judge::{Profile, Run, judge};
    use crate::record::Outcome;

    fn sev(s: &str) -> Severity {
        s.parse().unwrap()
    }

    fn expect(incident: &str, severity: Option<&str>) -> Expect {
        let incident = Expected::try_from(incident.to_owned()).unwrap();
        Expect { incident: Some(incident), severity: severity.map(sev), ..Expect::default() }
    }

    fn results(e: &Expect, run: &Run) -> Vec<(String, bool)> {
        check(e, &judge(run, &Profile::default())).into_iter().map(|r| (r.name, r.passed)).collect()
    }

    /// baseline, a killed DAP held 10-20 (`noop` = nothing happens), recovery from 20 with the DAP back at 23.
    fn dap_drill(noop: bool) -> Run {
        let killed = move |t| {
            if noop {
                healthy(t)
            } else {
                healthy(t).fail(Endpoint::DebugEvaluate, Outcome::Unavailable, 22).dap(ServiceState::Disconnected)
            }
        };
        let back = move |t| if t < 23 && !noop { healthy(t).dap(ServiceState::Connecting) } else { healthy(t) };
        timeline()
            .phase("baseline", 10, healthy)
            .phase("fault", 10, killed)
            .phase("recovery", 15, back)
            .fault("dap", 10.0, Some(20.0))
            .build()
    }

    fn timed(incident: &str, severity: &str, detect: u64, recover: u64) -> Expect {
        Expect {
            detect_within: Some(Duration::from_secs(detect)),
            recover_within: Some(Duration::from_secs(recover)),
            ..expect(incident, Some(severity))
        }
    }

    #[test]
    fn a_drill_that_saw_exactly_its_incident_passes() {
        let got = results(&timed("high_error_rate", "P1", 6, 10), &dap_drill(false));
        let names: Vec<&str> = got.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["incident", "severity", "detect_within", "recover_within"]);
        assert!(got.iter().all(|(_, ok)| *ok), "{got:?}");
    }

    #[test]
    fn each_expectation_can_break() {
        let run = dap_drill(false);
        let broken =
            |e: Expect| results(&e, &run).into_iter().filter(|(_, ok)| !ok).map(|(n, _)| n).collect::<Vec<_>>();
        assert_eq!(broken(expect("slow_responses", None)), ["incident"]);
        assert_eq!(broken(expect("high_error_rate", Some("P2"))), ["severity"]);
        assert_eq!(broken(timed("high_error_rate", "P1", 0, 10)), ["detect_within"]);
        assert_eq!(broken(timed("high_error_rate", "P1", 6, 2)), ["recover_within"]);
        assert_eq!(broken(Expect { worst: Some(sev("P2")), ..Expect::default() }), ["worst"]);
        assert_eq!(broken(Expect { incident: Some(Expected::Healthy), ..Expect::default() }), ["healthy"]);
    }

    #[test]
    fn a_drill_whose_fault_did_nothing_fails() {
        let e = timed("high_error_rate", "P1", 6, 10);
        let got = check(&e, &judge(&dap_drill(true), &Profile::default()));
        let failed: Vec<(&str, &str)> =
            got.iter().filter(|r| !r.passed).map(|r| (r.name.as_str(), r.measured.as_str())).collect();
        assert_eq!(failed, [("incident", "none"), ("severity", "none"), ("detect_within", "not detected after dap")]);
    }

    #[test]
    fn a_healthy_gate_passes_and_tolerates_what_worst_allows() {
        let clean = timeline().phase("steady", 20, healthy).build();
        let gate = Expect { incident: Some(Expected::Healthy), worst: Some(sev("P3")), ..Expect::default() };
        assert_eq!(results(&gate, &clean), [("healthy".into(), true), ("worst".into(), true)]);
        let warm = timeline().phase("steady", 20, |t| healthy(t).disk(82.0)).build();
        assert_eq!(results(&gate, &warm), [("healthy".into(), false), ("worst".into(), true)]);
        let nothing_worse = Expect { worst: Some(sev("P3")), ..Expect::default() };
        assert_eq!(results(&nothing_worse, &warm), [("worst".into(), true)]);
    }

    #[test]
    fn without_expect_a_run_must_be_healthy_and_any_only_observes() {
        let verdict = judge(&dap_drill(false), &Profile::default());
        let none = expectations(None, &verdict);
        assert_eq!(none.len(), 1);
        assert_eq!((none[0].name.as_str(), none[0].passed), ("healthy", false));
        assert!(none[0].measured.contains("fault: high_error_rate P1"), "{}", none[0].measured);
        let clean = judge(&timeline().phase("steady", 20, healthy).build(), &Profile::default());
        assert!(expectations(None, &clean).iter().all(|r| r.passed));
        let any = Expect { incident: Some(Expected::Any), ..Expect::default() };
        let observed = expectations(Some(&any), &verdict);
        assert_eq!(observed.len(), 1);
        assert!(observed[0].passed && observed[0].measured.contains("high_error_rate P1"), "{observed:?}");
    }

    #[test]
    fn expected_reads_healthy_or_an_incident_class() {
        assert_eq!(Expected::try_from("healthy".to_owned()).unwrap(), Expected::Healthy);
        assert_eq!(Expected::try_from("any".to_owned()).unwrap(), Expected::Any);
        assert_eq!(String::from(Expected::Any), "any");
        let e = Expected::try_from("high_error_rate".to_owned()).unwrap();
        assert_eq!(String::from(e), "high_error_rate");
        assert!(Expected::try_from("hihg_error_rate".to_owned()).is_err());
    }
}
