//! The adapter from a recorded run ([`Record`]) to the judge's plain-data [`Run`], and [`judge_record`], the one way a
//! record is judged.
//!
//! It keeps the judge pure (no recorder storage, no `/proc`, no scenario file): the caller measures the memory limit
//! and hands the [`Criteria`], and the fault spans are read back from the event log, where the run wrote every
//! injection and rollback with its time.

use crate::api::Endpoint;
use crate::record::{Event, EventKind, Record, SecondRecord};
use crate::runbook::{Expect, Profile};

use super::expect::{CheckResult, expectations};
use super::input::{EndpointSecond, FaultSpan, PhaseSpan, QueryCheck, Run, Second};
use super::{Verdict, judge};

/// What a record is judged by, as the judge needs it: the thresholds, the `[expect]` and the query checks. The
/// scenario implements it (the judge sits below the scenario and never reads its file).
pub trait Criteria {
    /// `[thresholds]`, resolved over the runbook's defaults.
    fn profile(&self) -> Profile;
    /// `[expect]`; `None` judges the run as `healthy`.
    fn expect(&self) -> Option<&Expect>;
    /// The probe's queries that carry a threshold.
    fn queries(&self) -> Vec<QueryCheck>;
}

/// Judge `record` by `criteria` (a scenario's `[thresholds]`, `[expect]` and queries). The record is only read: the
/// verdict's detections, recoveries and severity changes stay in the verdict ([`Verdict::events`]). The one way a
/// record is judged: `run` calls it on what it recorded, `merge` on the shards' records added up.
/// `memory_limit_mb` is the host's memory for a local target.
pub fn judge_record(
    record: &Record,
    criteria: &dyn Criteria,
    memory_limit_mb: Option<f64>,
) -> (Verdict, Vec<CheckResult>) {
    let spans = fault_spans(&record.events);
    let mut run = run_from_record(record, &spans, memory_limit_mb);
    run.queries = criteria.queries();
    let verdict = judge(&run, &criteria.profile());
    let expectations = expectations(criteria.expect(), &verdict);
    (verdict, expectations)
}

/// Build the judge's view of `record`. Only the phases the run reached are kept, and only the whole seconds inside
/// them: the partial last second and samples taken while the run wound down would judge a sliver as if it were a
/// second. Missing seconds become empty rows, as the judge needs one row per second. A second belongs to the phase
/// it starts in, taken from the phase times (the recorder files a gap row under whichever phase filled the gap).
pub fn run_from_record(record: &Record, faults: &[FaultSpan], memory_limit_mb: Option<f64>) -> Run {
    let phases: Vec<PhaseSpan> = record
        .phases
        .iter()
        .map_while(|p| Some(PhaseSpan { name: p.name.clone(), start_s: p.started?, end_s: p.ended? }))
        .collect();
    let end = phases.last().map_or(0, |p| p.end_s.floor() as u32);
    let mut seconds: Vec<Second> = Vec::with_capacity(end as usize);
    let mut rows = record.seconds.iter().filter(|r| r.t < end && r.phase < phases.len()).peekable();
    for t in 0..end {
        let phase = phase_at(&phases, f64::from(t));
        match rows.next_if(|r| r.t == t) {
            Some(row) => seconds.push(second(row, phase)),
            None => seconds.push(Second::empty(t, phase)),
        }
        // Rows are in time order; one that is somehow earlier than expected is skipped, never reordered.
        while rows.next_if(|r| r.t <= t).is_some() {}
    }
    Run { seconds, phases, faults: faults.to_vec(), memory_limit_mb, queries: Vec::new() }
}

/// When each fault was injected and first rolled back, from the event log (a fault with several undo steps logs a
/// rollback per step; the first one ends its span). A fault injected again later gets a span of its own.
pub fn fault_spans(events: &[Event]) -> Vec<FaultSpan> {
    let mut spans: Vec<FaultSpan> = Vec::new();
    for e in events {
        match &e.kind {
            EventKind::FaultInjected { fault, .. } => {
                spans.push(FaultSpan { name: fault.clone(), injected_s: e.t, rolled_back_s: None })
            }
            EventKind::FaultRolledBack { fault, .. } => {
                if let Some(open) = spans.iter_mut().rev().find(|s| &s.name == fault && s.rolled_back_s.is_none()) {
                    open.rolled_back_s = Some(e.t);
                }
            }
            _ => {}
        }
    }
    spans
}

fn phase_at(phases: &[PhaseSpan], t: f64) -> usize {
    phases.iter().rposition(|p| p.start_s <= t).unwrap_or(0)
}

pub(super) fn second(row: &SecondRecord, phase: usize) -> Second {
    let mut s = Second::empty(row.t, phase);
    for (slot, e) in s.endpoints.iter_mut().zip(row.endpoints.iter().take(Endpoint::ALL.len())) {
        *slot = EndpointSecond { outcomes: e.outcomes, latency: e.latency.clone() };
    }
    s.fps_min = row.fps_min;
    s.fps_mean = row.fps_mean;
    s.memory_mb = row.memory_mb;
    s.disk_pct = row.disk_pct;
    s.cpu_pct = row.cpu_pct;
    s.queries = row.queries.clone();
    s.status = row.status.clone();
    s
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;
    use crate::record::{Outcome, Recorder};

    #[test]
    fn seconds_are_whole_gapless_and_in_their_phase() {
        let start = Instant::now();
        let rec = Recorder::new(start, &["a".into(), "b".into()]);
        let at = |s: f64| start + Duration::from_secs_f64(s);
        rec.enter_phase(0, at(0.0));
        rec.request(0, Endpoint::Status, at(0.5), at(0.5), at(0.52), Outcome::Ok);
        rec.enter_phase(1, at(2.0));
        rec.request(1, Endpoint::Status, at(3.2), at(3.2), at(3.3), Outcome::Unavailable);
        rec.fps(at(3.5), 60.0, None);
        rec.end_phase(at(4.4));
        rec.event(at(2.5), EventKind::FaultInjected { fault: "f".into(), detail: String::new() });
        rec.event(at(3.0), EventKind::FaultRolledBack { fault: "f".into(), detail: "1".into() });
        rec.event(at(3.1), EventKind::FaultRolledBack { fault: "f".into(), detail: "2".into() });
        let record = rec.finish();

        let spans = fault_spans(&record.events);
        assert_eq!(spans, [FaultSpan { name: "f".into(), injected_s: 2.5, rolled_back_s: Some(3.0) }]);
        let run = run_from_record(&record, &spans, Some(1024.0));
        assert_eq!(run.seconds.iter().map(|s| (s.t, s.phase)).collect::<Vec<_>>(), [(0, 0), (1, 0), (2, 1), (3, 1)]);
        assert_eq!(run.seconds[0].endpoints[Endpoint::Status.index()].outcomes[Outcome::Ok.index()], 1);
        let latency = run.seconds[3].endpoints[Endpoint::Status.index()].latency.expand();
        assert_eq!((latency.len(), latency.quantile(0.5).map(|us| us / 10_000)), (1, Some(10)), "100 ms");
        assert_eq!(run.seconds[3].fps_min, Some(60.0));
        assert_eq!(run.phases[1].end_s, 4.4);
        assert_eq!(run.memory_limit_mb, Some(1024.0));
    }
}
