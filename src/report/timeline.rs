//! The event log read for people: one sentence per event (the record's and the verdict's, joined here and only
//! here for rendering), and the fault windows the charts shade. Shared by the HTML timeline, the charts and the
//! post-mortem so they name events the same way.

use crate::judge::{Verdict, VerdictEventKind};
use crate::record::{EventKind, Record};

/// The whole timeline in time order: what was measured and done, and what the verdict concluded from it (at one
/// instant, the measurement first).
pub fn entries(record: &Record, verdict: Option<&Verdict>) -> Vec<(f64, String)> {
    let measured = record.events.iter().map(|e| (e.t, describe(&e.kind)));
    let mut rows: Vec<(f64, String)> = measured.chain(judged(verdict)).collect();
    rows.sort_by(|a, b| a.0.total_cmp(&b.0));
    rows
}

/// A fault held from `from` to `to` (seconds since the run started); `to` is `None` when it was never rolled back.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultWindow {
    pub name: String,
    pub from: f64,
    pub to: Option<f64>,
}

/// Each injection paired with the next rollback of the same fault, in injection order.
pub fn fault_windows(record: &Record) -> Vec<FaultWindow> {
    let mut out: Vec<FaultWindow> = Vec::new();
    for e in &record.events {
        match &e.kind {
            EventKind::FaultInjected { fault, .. } => {
                out.push(FaultWindow { name: fault.clone(), from: e.t, to: None })
            }
            EventKind::FaultRolledBack { fault, .. } => {
                if let Some(w) = out.iter_mut().find(|w| &w.name == fault && w.to.is_none()) {
                    w.to = Some(e.t);
                }
            }
            _ => {}
        }
    }
    out
}

fn opt<T: std::fmt::Display>(v: &Option<T>) -> String {
    v.as_ref().map_or_else(|| "none".into(), |v| v.to_string())
}

fn state<T: std::fmt::Debug>(v: &Option<T>) -> String {
    v.as_ref().map_or_else(|| "unknown".into(), |v| format!("{v:?}").to_lowercase())
}

/// One line an engineer reads in a timeline.
pub fn describe(kind: &EventKind) -> String {
    match kind {
        EventKind::RunStarted { target } => format!("run started against {target}"),
        EventKind::PhaseStarted { phase } => format!("phase {phase} started"),
        EventKind::PhaseEnded { phase } => format!("phase {phase} ended"),
        EventKind::TelemetryLost { reason } => format!("telemetry lost: {reason}"),
        EventKind::TelemetryRestored { gap_s } => format!("telemetry restored after {gap_s:.1} s"),
        EventKind::TelemetryWelcomeMissing { first } => format!("telemetry welcome missing (first message: {first})"),
        EventKind::StatusReachable { reachable: true, detail } => format!("/status answering again ({detail})"),
        EventKind::StatusReachable { reachable: false, detail } => format!("/status unreachable ({detail})"),
        EventKind::ServiceStateChanged { service, from, to } => {
            format!("{service} {} → {}", state(from), state(to))
        }
        EventKind::OverallReadyChanged { ready } => format!("overall_ready became {ready}"),
        EventKind::SceneLoadFailed { scene, error } => format!("scene {scene} failed to load: {error}"),
        EventKind::Alert { level, message } => format!("telemetry alert ({level}): {message}"),
        EventKind::ProbeFailed { probe, error } => format!("probe {probe} failing: {error}"),
        EventKind::FirstError { endpoint, outcome } => format!("first {outcome} on {}", endpoint.path()),
        EventKind::FaultInjected { fault, detail } => format!("fault {fault} injected: {detail}"),
        EventKind::FaultRolledBack { fault, detail } => format!("fault {fault} rolled back: {detail}"),
        EventKind::FaultFailed { fault, error } => format!("fault {fault} FAILED: {error}"),
        EventKind::FaultDryRun { fault, detail } => format!("fault {fault} (dry run): {detail}"),
        EventKind::Note { message } => message.clone(),
        EventKind::RunEnded { status } => format!("run ended ({status})"),
    }
}

/// The verdict's entries as timeline rows `(t, text)`, in time order; none for a run never judged.
pub fn judged(verdict: Option<&Verdict>) -> impl Iterator<Item = (f64, String)> {
    verdict.into_iter().flat_map(Verdict::events).map(|e| (e.t, describe_verdict(&e.kind)))
}

/// One line an engineer reads in a timeline, for the verdict's entries.
fn describe_verdict(kind: &VerdictEventKind) -> String {
    match kind {
        VerdictEventKind::IncidentDetected { fault, incident, severity, after_s } => {
            format!("detected {incident} {severity}, {after_s:.1} s after {fault} was injected")
        }
        VerdictEventKind::SeverityChanged { incident, from, to } => {
            format!("{incident} severity {} → {}", opt(from), opt(to))
        }
        VerdictEventKind::Recovered { fault, after_s } => {
            format!("recovered {after_s:.1} s after {fault} was rolled back")
        }
    }
}
