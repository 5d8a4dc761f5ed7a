//! A scenario's `[expect]` checked against a verdict: did the drill see what it was meant to, and recover in time.
//!
//! The scenario's strings are parsed once into an [`Expectation`] (so a typo is a harness error, exit 2, found
//! before the run), and [`check`] is then pure: one named result per stated expectation.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::scenario::Expect;

use super::Verdict;
use super::finding::{Incident, Severity, UnknownIncident, UnknownSeverity};

/// What a run must show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Expected {
    /// A gate: no phase has an incident and every verification check passes.
    Healthy,
    Incident(Incident),
}

/// A scenario's `[expect]`, typed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Expectation {
    pub incident: Option<Expected>,
    /// The worst severity the expected incident must reach, exactly.
    pub severity: Option<Severity>,
    /// Nothing in the run may be worse than this.
    pub worst: Option<Severity>,
    /// Every fault's time to detect the expected incident (any incident when none is named) at most this.
    pub detect_within: Option<Duration>,
    /// Every fault's time to recover after its rollback at most this.
    pub recover_within: Option<Duration>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExpectError {
    #[error("expect.incident: {0}")]
    Incident(#[from] UnknownIncident),
    #[error("expect.{field}: {source}")]
    Severity { field: &'static str, source: UnknownSeverity },
    #[error("expect.severity needs expect.incident to name an incident class")]
    SeverityWithoutIncident,
}

impl TryFrom<&Expect> for Expectation {
    type Error = ExpectError;

    fn try_from(e: &Expect) -> Result<Self, Self::Error> {
        let incident = match e.incident.as_deref() {
            None => None,
            Some("healthy") => Some(Expected::Healthy),
            Some(name) => Some(Expected::Incident(name.parse()?)),
        };
        let severity = |field, v: &Option<String>| {
            v.as_deref().map(str::parse).transpose().map_err(|source| ExpectError::Severity { field, source })
        };
        let expectation = Self {
            incident,
            severity: severity("severity", &e.severity)?,
            worst: severity("worst", &e.worst)?,
            detect_within: e.detect_within,
            recover_within: e.recover_within,
        };
        if expectation.severity.is_some() && !matches!(incident, Some(Expected::Incident(_))) {
            return Err(ExpectError::SeverityWithoutIncident);
        }
        Ok(expectation)
    }
}

/// One expectation, held or broken, with what was measured beside what was wanted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckResult {
    pub name: String,
    pub passed: bool,
    pub measured: String,
    pub wanted: String,
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

/// Check every stated expectation against `verdict`; an expectation left out is not checked.
pub fn check(expect: &Expectation, verdict: &Verdict) -> Vec<CheckResult> {
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
