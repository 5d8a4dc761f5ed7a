//! The run in sliding windows: which incidents held (for N consecutive windows), when severities changed, and per
//! fault how long detection and recovery took.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::checks::{self, Check};
use super::finding::Finding;
use super::input::{FaultSpan, Run};
use super::rules;
use super::stats::Stats;
use crate::runbook::{Incident, Severity};
use crate::runbook::{Profile, seconds};

/// One window `[start_s, end_s)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct WindowVerdict {
    /// Whole seconds since the run started; consecutive windows start one [`Profile::step`] apart.
    pub start_s: u32,
    /// `start_s` plus [`Profile::window`], exclusive.
    pub end_s: u32,
    /// The phase every second of the window belongs to; `None` for a window across a phase boundary.
    pub phase: Option<usize>,
    /// Incidents that held in this window and the ones before it (see [`Profile::consecutive`]); the severity is
    /// the mildest of those windows, so a P1 pages only when P1 held throughout.
    pub incidents: Vec<Finding>,
    /// No rule fired on this window alone and no verification check failed.
    pub healthy: bool,
}

impl WindowVerdict {
    pub(crate) fn severity_of(&self, incident: Incident) -> Option<Severity> {
        self.incidents.iter().find(|f| f.incident == incident).map(|f| f.severity)
    }
}

/// A change of one incident's severity, at the end of the window that showed it; `None` = absent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Transition {
    /// Seconds since the run started: the end of the window that first showed the new severity.
    pub t: f64,
    /// The incident class whose severity changed; each class changes on its own.
    pub incident: Incident,
    /// The severity before; `None` when the incident was not present.
    pub from: Option<Severity>,
    /// The severity after; `None` when the incident cleared.
    pub to: Option<Severity>,
}

/// The first window after an injection showing an incident (new, or worse than before the injection).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Detection {
    /// The incident class the fault brought on.
    pub incident: Incident,
    /// Its severity in that first window, which may worsen later (see the verdict's transitions).
    pub severity: Severity,
    /// End of that window, seconds since the run started.
    pub at_s: f64,
    /// Time to detect: `at_s` minus the injection.
    pub after_s: f64,
}

/// The first of [`Profile::recovery_windows`] consecutive healthy windows after a rollback.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Recovery {
    /// Start of that window.
    pub at_s: f64,
    /// Time to recover: `at_s` minus the rollback (0 when the service never deviated).
    pub after_s: f64,
}

/// What one injection of a fault did to the service: what was detected, how fast, and whether it recovered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FaultVerdict {
    /// The `[[fault]]` entry's `name`; a fault injected twice has a verdict per injection.
    pub name: String,
    /// Seconds since the run started, from the record's `fault_injected` event.
    pub injected_s: f64,
    /// Seconds since the run started; `None` when the run ended (or was interrupted) before the fault's rollback
    /// was recorded.
    pub rolled_back_s: Option<f64>,
    /// One per incident class, in time order.
    pub detections: Vec<Detection>,
    /// Incidents already held when the fault was injected, which the fault cannot be credited with unless it made
    /// them worse (then they are in `detections` too).
    pub present_at_injection: Vec<Incident>,
    /// `None` when it was never rolled back or the service did not recover before the run ended.
    pub recovery: Option<Recovery>,
}

impl FaultVerdict {
    /// Time to detect `incident`, or the first incident of any class for `None`.
    pub fn time_to_detect(&self, incident: Option<Incident>) -> Option<f64> {
        self.detections.iter().find(|d| incident.is_none_or(|i| d.incident == i)).map(|d| d.after_s)
    }

    pub(crate) fn time_to_recover(&self) -> Option<f64> {
        self.recovery.as_ref().map(|r| r.after_s)
    }
}

/// Judge every window of the profile's `window`, sliding by its `step`. `down[i]` says whether `run.seconds[i]` was down.
pub fn windows(run: &Run, down: &[bool], p: &Profile) -> Vec<WindowVerdict> {
    let memory: Vec<(f64, f64)> =
        run.seconds.iter().filter_map(|s| s.memory_mb.map(|mb| (f64::from(s.t), mb))).collect();
    let limit = p.memory_limit_mb(run.memory_limit_mb);
    let (len, step) = (seconds(p.window), seconds(p.step));
    let mut out = Vec::new();
    let mut raw: Vec<Vec<Finding>> = Vec::new();
    let mut raw_fps: Vec<Option<Finding>> = Vec::new();
    for start in (0..run.seconds.len().saturating_sub(len - 1)).step_by(step) {
        let secs = &run.seconds[start..start + len];
        let stats = Stats::of(secs.iter().zip(down[start..start + len].iter().copied()));
        let (start_s, end_s) = (secs[0].t, secs[len - 1].t + 1);
        let from = f64::from(end_s.saturating_sub(seconds(p.leak_window) as u32));
        let trailing =
            &memory[memory.partition_point(|m| m.0 < from)..memory.partition_point(|m| m.0 < f64::from(end_s))];
        let mut findings = rules::evaluate(&stats, trailing, limit, p);
        let mut fps = rules::low_fps(&stats, p);
        let queried = checks::queries(&stats, &run.queries);
        // Both carry the service's own evidence: FPS alone can be the performance incident (with latency under
        // its threshold), and the two are joined later, without repeating a metric.
        checks::cite(&mut findings, &queried, &run.queries);
        checks::cite(fps.as_mut_slice(), &queried, &run.queries);
        let healthy = findings.is_empty()
            && fps.is_none()
            && !checks::verification(&stats, p).iter().chain(&queried).any(Check::failed);
        let phase = Some(secs[0].phase).filter(|&ph| secs.iter().all(|s| s.phase == ph));
        raw.push(findings);
        raw_fps.push(fps);
        out.push(WindowVerdict { start_s, end_s, phase, incidents: Vec::new(), healthy });
    }
    for (i, w) in out.iter_mut().enumerate() {
        w.incidents = with_fps(held(&raw, i, p), held_fps(&raw_fps, i, p));
    }
    out
}

/// The FPS finding of window `i` when the `fps_windows` windows up to it all had one, at the mildest severity.
fn held_fps(raw: &[Option<Finding>], i: usize, p: &Profile) -> Option<Finding> {
    let n = p.fps_windows.max(1) as usize;
    let run = raw.get((i + 1).checked_sub(n)?..=i)?;
    run.iter().map(Option::as_ref).collect::<Option<Vec<&Finding>>>()?.into_iter().max_by_key(|f| f.severity).cloned()
}

/// Add an FPS finding to a window's incidents: Incident 3 once, at the worse of its latency and FPS severities,
/// the worse one's evidence first.
fn with_fps(mut incidents: Vec<Finding>, fps: Option<Finding>) -> Vec<Finding> {
    let Some(fps) = fps else { return incidents };
    match incidents.iter_mut().find(|f| f.incident == fps.incident) {
        Some(slow) if fps.severity.is_worse_than(slow.severity) => {
            let latency = std::mem::replace(slow, fps);
            join_evidence(slow, latency.evidence);
        }
        Some(slow) => join_evidence(slow, fps.evidence),
        None => {
            incidents.push(fps);
            incidents.sort_by_key(|f| f.incident);
        }
    }
    incidents
}

fn join_evidence(into: &mut Finding, more: Vec<super::Evidence>) {
    for e in more {
        if !into.evidence.iter().any(|x| x.metric == e.metric) {
            into.evidence.push(e);
        }
    }
}

/// The findings of window `i` that also fired in the windows before it, as many as each incident requires.
fn held(raw: &[Vec<Finding>], i: usize, p: &Profile) -> Vec<Finding> {
    raw[i]
        .iter()
        .filter_map(|f| {
            let n = p.consecutive(f.incident);
            let run = raw.get((i + 1).checked_sub(n)?..=i)?;
            let same: Vec<&Finding> = run.iter().filter_map(|w| w.iter().find(|g| g.incident == f.incident)).collect();
            // The mildest window of the run decides the severity (the latest on ties), with its evidence.
            (same.len() == n).then(|| same.into_iter().max_by_key(|g| g.severity).cloned()).flatten()
        })
        .collect()
}

/// Every change of an incident's severity across the windows, in time order.
pub fn transitions(windows: &[WindowVerdict]) -> Vec<Transition> {
    let mut current: BTreeMap<Incident, Severity> = BTreeMap::new();
    let mut out = Vec::new();
    for w in windows {
        for incident in Incident::ALL {
            let (from, to) = (current.get(&incident).copied(), w.severity_of(incident));
            if from != to {
                out.push(Transition { t: f64::from(w.end_s), incident, from, to });
                match to {
                    Some(s) => current.insert(incident, s),
                    None => current.remove(&incident),
                };
            }
        }
    }
    out
}

/// Time to detect and to recover for one fault.
pub fn fault(f: &FaultSpan, windows: &[WindowVerdict], p: &Profile) -> FaultVerdict {
    let before = windows.iter().rev().find(|w| f64::from(w.end_s) <= f.injected_s);
    let present_at_injection: Vec<Incident> =
        before.map(|w| w.incidents.iter().map(|g| g.incident).collect()).unwrap_or_default();
    let held_before = |i: Incident| before.and_then(|w| w.severity_of(i));
    let during = windows
        .iter()
        .filter(|w| f64::from(w.end_s) > f.injected_s && f.rolled_back_s.is_none_or(|r| f64::from(w.start_s) < r));
    let mut detections: Vec<Detection> = Vec::new();
    for w in during {
        for g in &w.incidents {
            let new_or_worse = held_before(g.incident).is_none_or(|b| g.severity.is_worse_than(b));
            if new_or_worse && !detections.iter().any(|d| d.incident == g.incident) {
                let at_s = f64::from(w.end_s);
                detections.push(Detection {
                    incident: g.incident,
                    severity: g.severity,
                    at_s,
                    after_s: at_s - f.injected_s,
                });
            }
        }
    }
    let recovery = f.rolled_back_s.and_then(|r| {
        let n = p.recovery_windows.max(1) as usize;
        let first = windows.iter().position(|w| f64::from(w.start_s) >= r.floor())?;
        let i =
            (first..windows.len()).find(|&i| windows.get(i..i + n).is_some_and(|run| run.iter().all(|w| w.healthy)))?;
        let at_s = f64::from(windows[i].start_s);
        Some(Recovery { at_s, after_s: (at_s - r).max(0.0) })
    });
    FaultVerdict {
        name: f.name.clone(),
        injected_s: f.injected_s,
        rolled_back_s: f.rolled_back_s,
        detections,
        present_at_injection,
        recovery,
    }
}
