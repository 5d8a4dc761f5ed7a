//! The adapter from a recorded run ([`Record`]) to the judge's plain-data [`Run`]: the only place that knows both.
//!
//! It keeps the judge pure (no recorder types, no `/proc`): the caller measures the memory limit, and the fault
//! spans are read back from the event log, where the run wrote every injection and rollback with its time.

use crate::api::Endpoint;
use crate::record::{Event, EventKind, Record, SecondRecord};
use crate::scenario::{Probe, ScenarioFile};

use super::Cmp;
use super::expect::{CheckResult, expectations};
use super::input::{EndpointSecond, FaultSpan, PhaseSpan, QueryCheck, Run, Second, StatusProbe};
use super::{Verdict, judge};

/// Judge `record` with the scenario's `[thresholds]` and `[expect]` (without one, `healthy`), and add the verdict's
/// detections, recoveries and severity changes to its event log, kept in time order. The one way a record is judged:
/// `run` calls it on what it recorded, `merge` on the shards' records added up. `memory_limit_mb` is the host's
/// memory for a local target.
pub fn judge_record(
    record: &mut Record,
    file: &ScenarioFile,
    memory_limit_mb: Option<f64>,
) -> (Verdict, Vec<CheckResult>) {
    let spans = fault_spans(&record.events);
    let mut run = run_from_record(record, &spans, memory_limit_mb);
    run.queries = query_checks(&file.probe);
    let verdict = judge(&run, &file.thresholds.resolve());
    let expectations = expectations(file.expect.as_ref(), &verdict);
    record.events.extend(verdict.events());
    record.events.sort_by(|a, b| a.t.total_cmp(&b.t));
    (verdict, expectations)
}

/// The queries with a threshold, as the judge's checks (validate has checked the incident names).
fn query_checks(probe: &Probe) -> Vec<QueryCheck> {
    probe
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

/// The per-second rows keep 2 significant digits (see `record::second`); expanding at that precision is exact.
const SECOND_SIGFIG: u8 = 2;

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
        *slot = EndpointSecond { outcomes: e.outcomes, latency: e.latency.expand(SECOND_SIGFIG) };
    }
    s.fps_min = row.fps_min;
    s.fps_mean = row.fps_mean;
    s.memory_mb = row.memory_mb;
    s.disk_pct = row.disk_pct;
    s.cpu_pct = row.cpu_pct;
    s.queries = row.queries.clone();
    s.status = row.status.as_ref().map(|p| StatusProbe {
        reachable: p.reachable,
        latency_ms: p.latency_ms,
        overall_ready: p.overall_ready,
        dap: p.dap,
        lsp: p.lsp,
    });
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
        let latency = &run.seconds[3].endpoints[Endpoint::Status.index()].latency;
        assert_eq!((latency.len(), latency.quantile(0.5).map(|us| us / 10_000)), (1, Some(10)), "100 ms");
        assert_eq!(run.seconds[3].fps_min, Some(60.0));
        assert_eq!(run.phases[1].end_s, 4.4);
        assert_eq!(run.memory_limit_mb, Some(1024.0));
    }
}
