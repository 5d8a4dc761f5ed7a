//! The runbook verdict: which incident a recorded run shows, how severe, how fast it was seen and how fast the
//! service recovered.
//!
//! [`judge`] is a pure function of a [`Run`] and a [`Profile`]: no I/O, no clock, no randomness, so every verdict
//! can be reproduced from a saved report and every rule is unit-tested on hand-made runs. It judges each sliding
//! window (for timelines, detection and recovery) and each phase (for the summary and the verification checks).
//! Words as in chaos engineering: *baseline* before a fault, *fault* during, *recovery* after; an incident is a
//! *deviation* from the runbook's healthy state.

mod checks;
mod events;
mod expect;
mod finding;
#[cfg(test)]
mod fps_tests;
mod input;
mod record;
mod rules;
mod stats;
#[cfg(test)]
mod testkit;
#[cfg(test)]
mod tests;
mod timeline;

use serde::{Deserialize, Serialize};

/// The runbook's words a verdict is given in, re-exported so a verdict's reader finds them beside it.
pub use crate::runbook::{
    Expected, Incident, Problem, Profile, Severity, Thresholds, UnknownIncident, UnknownSeverity, seconds,
};
pub use checks::{Check, CheckState};
pub use events::{VerdictEvent, VerdictEventKind};
pub use expect::{CheckResult, check, expectations};
pub use finding::{Cmp, Evidence, Finding};
pub use input::{EndpointSecond, FaultSpan, PhaseSpan, QueryCheck, Run, Second};
pub use record::{Criteria, fault_spans, judge_record, run_from_record};
pub use timeline::{Detection, FaultVerdict, Recovery, Transition, WindowVerdict};

use stats::Stats;

/// Everything the judge concluded about one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Verdict {
    /// One per scenario phase, in timeline order: what each phase showed and whether its verification steps passed.
    pub phases: Vec<PhaseVerdict>,
    /// Every sliding window of the run, in time order: the finest grain the incidents were judged at.
    pub windows: Vec<WindowVerdict>,
    /// One per injection, in injection order: time to detect and time to recover.
    pub faults: Vec<FaultVerdict>,
    /// Each incident's severity changes over the run, in time order, for the report's timeline.
    pub transitions: Vec<Transition>,
    /// The worst severity of any incident in the run; `None` = no incident.
    pub worst: Option<Severity>,
    /// The thresholds the run was judged with.
    pub profile: Profile,
}

impl Verdict {
    /// The worst severity `incident` reached anywhere in the run.
    pub fn worst_of(&self, incident: Incident) -> Option<Severity> {
        let in_windows = self.windows.iter().filter_map(|w| w.severity_of(incident));
        let in_phases =
            self.phases.iter().flat_map(|p| &p.incidents).filter(|f| f.incident == incident).map(|f| f.severity);
        in_windows.chain(in_phases).min()
    }

    /// Every incident seen with its worst severity, in [`Incident`] order.
    pub fn seen(&self) -> Vec<(Incident, Severity)> {
        Incident::ALL.into_iter().filter_map(|i| self.worst_of(i).map(|s| (i, s))).collect()
    }
}

/// One scenario phase judged as a whole: its incidents at their worst and the runbook's verification steps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PhaseVerdict {
    /// The phase's `name` in the scenario.
    pub name: String,
    /// Each incident held in the phase's windows, at its worst, with the evidence of the first window that reached it.
    pub incidents: Vec<Finding>,
    /// The most severe of `incidents`; `None` when the phase showed no incident.
    pub worst: Option<Severity>,
    /// No incident and no failed verification check.
    pub healthy: bool,
    /// The runbook's verification steps over `[checks_from_s, end of phase)`.
    pub checks: Vec<Check>,
    /// The phase start, or in a phase where a fault was rolled back, the recovery ("error rate *back* under 1 %"): a
    /// recovery phase is verified once the service recovered, and how long that took is the time to recover.
    pub checks_from_s: f64,
}

/// The incidents the rules find in the latest window of a run still going (live metrics): `rows` are the latest
/// complete seconds (a [`Profile::window`] of them), `memory` the trailing samples the leak fit reads. No
/// consecutive windows, no recovery: the verdict of [`judge`] after the run stays the one truth.
pub fn live_window(rows: &[crate::record::SecondRecord], memory: &[(f64, f64)], p: &Profile) -> Vec<Finding> {
    let seconds: Vec<Second> = rows.iter().map(|r| record::second(r, r.phase)).collect();
    let stats = Stats::of(seconds.iter().map(|s| (s, stats::is_down(s, p))));
    rules::evaluate(&stats, memory, p.memory_limit_mb(None), p)
}

/// Judge a recorded run against a threshold profile.
pub fn judge(run: &Run, profile: &Profile) -> Verdict {
    let down: Vec<bool> = run.seconds.iter().map(|s| stats::is_down(s, profile)).collect();
    let windows = timeline::windows(run, &down, profile);
    let faults: Vec<FaultVerdict> = run.faults.iter().map(|f| timeline::fault(f, &windows, profile)).collect();
    let phases: Vec<PhaseVerdict> =
        (0..run.phases.len()).map(|i| phase(run, i, &down, &windows, &faults, profile)).collect();
    let worst = windows
        .iter()
        .flat_map(|w| &w.incidents)
        .chain(phases.iter().flat_map(|p| &p.incidents))
        .map(|f| f.severity)
        .min();
    Verdict { transitions: timeline::transitions(&windows), phases, windows, faults, worst, profile: profile.clone() }
}

fn phase(
    run: &Run,
    index: usize,
    down: &[bool],
    windows: &[WindowVerdict],
    faults: &[FaultVerdict],
    p: &Profile,
) -> PhaseVerdict {
    let span = &run.phases[index];
    let idx: Vec<usize> = (0..run.seconds.len()).filter(|&i| run.seconds[i].phase == index).collect();
    // The phase's seconds that overlap `[from, ..)`, each with whether it was down.
    let stats_from = |from: f64| {
        Stats::of(
            idx.iter().filter(|&&i| f64::from(run.seconds[i].t) + 1.0 > from).map(|&i| (&run.seconds[i], down[i])),
        )
    };

    let inside: Vec<&WindowVerdict> = windows.iter().filter(|w| w.phase == Some(index)).collect();
    let findings: Vec<Finding> = if inside.is_empty() {
        // Shorter than a window: judged as one span, with no consecutive windows to wait for.
        let stats = stats_from(f64::NEG_INFINITY);
        let mut findings = rules::evaluate(&stats, &stats.memory, p.memory_limit_mb(run.memory_limit_mb), p);
        checks::cite(&mut findings, &checks::queries(&stats, &run.queries), &run.queries);
        findings
    } else {
        inside.iter().flat_map(|w| w.incidents.iter().cloned()).collect()
    };
    let incidents: Vec<Finding> = Incident::ALL
        .into_iter()
        .filter_map(|i| findings.iter().filter(|f| f.incident == i).min_by_key(|f| f.severity).cloned())
        .collect();

    let checks_from_s = faults
        .iter()
        .filter_map(|f| {
            let r = f.rolled_back_s.filter(|r| (span.start_s..span.end_s).contains(r))?;
            Some(f.recovery.as_ref().map(|rec| rec.at_s).filter(|&at| at < span.end_s).unwrap_or(r))
        })
        .fold(span.start_s, f64::max);
    let from = stats_from(checks_from_s);
    let mut checks = checks::verification(&from, p);
    checks.extend(checks::queries(&from, &run.queries));

    let worst = incidents.iter().map(|f| f.severity).min();
    let healthy = incidents.is_empty() && !checks.iter().any(Check::failed);
    PhaseVerdict { name: span.name.clone(), incidents, worst, healthy, checks, checks_from_s }
}
