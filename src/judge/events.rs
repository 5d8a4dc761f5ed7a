//! The verdict's own timeline entries: detections, recoveries and severity changes. They are conclusions, not
//! measurements, so they are derived from a [`Verdict`] whenever a timeline is drawn and never written into the
//! record's event log; a report joins the two only to render (report.json lists them together in
//! `record.events`, the shape schema v3 fixed).

use serde::{Deserialize, Serialize};

use super::Verdict;
use crate::runbook::{Incident, Severity};

/// One verdict entry at `t`, seconds since the run started (the record's clock, so it sorts among its events).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct VerdictEvent {
    /// Seconds since the run started.
    pub t: f64,
    /// What the verdict concluded then.
    #[serde(flatten)]
    pub kind: VerdictEventKind,
}

/// Tagged by `event` like the record's events, so one timeline reads both.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum VerdictEventKind {
    /// The verdict's first window showing an incident after a fault's injection.
    IncidentDetected {
        /// The fault whose injection the detection is timed from.
        fault: String,
        /// The incident class the window showed.
        incident: Incident,
        /// Its severity in that first window.
        severity: Severity,
        /// Time to detect: seconds from the injection.
        after_s: f64,
    },
    /// An incident's severity changed between windows (`None` = absent).
    SeverityChanged {
        /// The incident whose severity moved.
        incident: Incident,
        /// Before; `None` when the incident was absent.
        from: Option<Severity>,
        /// After; `None` when the incident cleared.
        to: Option<Severity>,
    },
    /// The first of the healthy windows that count as recovery after a fault's rollback.
    Recovered {
        /// The fault whose rollback the recovery is timed from.
        fault: String,
        /// Time to recover: seconds from the rollback.
        after_s: f64,
    },
}

impl VerdictEventKind {
    /// The `event` tags of these kinds, by which a reader of report.json tells them from the record's own events.
    pub const TAGS: [&'static str; 3] = ["incident_detected", "severity_changed", "recovered"];
}

impl Verdict {
    /// The verdict as timeline entries, in time order (ties keep detections, then recoveries, then transitions).
    pub fn events(&self) -> Vec<VerdictEvent> {
        let mut events = Vec::new();
        for f in &self.faults {
            for d in &f.detections {
                let kind = VerdictEventKind::IncidentDetected {
                    fault: f.name.clone(),
                    incident: d.incident,
                    severity: d.severity,
                    after_s: d.after_s,
                };
                events.push(VerdictEvent { t: d.at_s, kind });
            }
            if let Some(r) = &f.recovery {
                let kind = VerdictEventKind::Recovered { fault: f.name.clone(), after_s: r.after_s };
                events.push(VerdictEvent { t: r.at_s, kind });
            }
        }
        for tr in &self.transitions {
            let kind = VerdictEventKind::SeverityChanged { incident: tr.incident, from: tr.from, to: tr.to };
            events.push(VerdictEvent { t: tr.t, kind });
        }
        events.sort_by(|a, b| a.t.total_cmp(&b.t));
        events
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_serializes_under_one_of_the_tags_readers_split_on() {
        let kinds = [
            VerdictEventKind::IncidentDetected {
                fault: "f".into(),
                incident: Incident::HighErrorRate,
                severity: Severity::P1,
                after_s: 1.0,
            },
            VerdictEventKind::SeverityChanged { incident: Incident::HighErrorRate, from: None, to: Some(Severity::P2) },
            VerdictEventKind::Recovered { fault: "f".into(), after_s: 2.0 },
        ];
        assert_eq!(kinds.len(), VerdictEventKind::TAGS.len());
        for (kind, tag) in kinds.into_iter().zip(VerdictEventKind::TAGS) {
            // A new variant fails to compile here until it is listed, and its tag is checked against TAGS.
            match &kind {
                VerdictEventKind::IncidentDetected { .. }
                | VerdictEventKind::SeverityChanged { .. }
                | VerdictEventKind::Recovered { .. } => {}
            }
            let v = serde_json::to_value(VerdictEvent { t: 0.0, kind }).unwrap();
            assert_eq!(v["event"], tag);
        }
    }
}
