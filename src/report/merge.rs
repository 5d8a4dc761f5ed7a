//! Shard reports merged exactly: the histograms add, the counters sum, per-second rows line up by their second
//! (shards share a start time via `run --start-at`), so the merged percentiles are those one machine recording
//! every sample would have reported. The verdict is not merged: it is judged again on the merged record.

use std::collections::BTreeMap;

use super::{Report, RunStatus, summarize};
use crate::record::{Hist, PhaseRecord, Record, SecondEndpoint, SecondRecord};

/// Why shard reports cannot be merged.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MergeError {
    #[error("nothing to merge")]
    Empty,
    #[error("report {index} is of scenario {found:?}, not {expected:?}")]
    Scenario { index: usize, expected: String, found: String },
    #[error("report {index} has phases {found:?}, not {expected:?}")]
    Phases { index: usize, expected: Vec<String>, found: Vec<String> },
}

/// The per-second rows' precision (2 significant digits), as the recorder keeps them.
const SECOND_SIGFIG: u8 = 2;

/// Combine two optional readings with `f`, keeping whichever exists when only one does.
fn either(a: Option<f64>, b: Option<f64>, f: fn(f64, f64) -> f64) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(f(a, b)),
        (a, b) => a.or(b),
    }
}

fn add_phase(into: &mut PhaseRecord, p: &PhaseRecord) {
    for (a, b) in into.endpoints.iter_mut().zip(&p.endpoints) {
        a.add(b);
    }
    into.fps.add(&p.fps);
    // Saturating: counts read from a report are not trusted to be small (fuzzing found u64::MAX ones).
    into.late = into.late.saturating_add(p.late);
    into.dropped = into.dropped.saturating_add(p.dropped);
    into.started = either(into.started, p.started, f64::min);
    into.ended = either(into.ended, p.ended, f64::max);
}

/// Rows of one second from several shards, in one: requests summed and histograms added. Every shard watches the
/// same target, so FPS is averaged, the lowest FPS kept, and memory and disk take the highest reading (the worst).
fn add_second(into: &mut SecondRecord, hists: &mut [Hist], s: &SecondRecord, shards: &mut u32) {
    for ((a, b), h) in into.endpoints.iter_mut().zip(&s.endpoints).zip(hists.iter_mut()) {
        a.count = a.count.saturating_add(b.count);
        a.errors = a.errors.saturating_add(b.errors);
        for (x, y) in a.outcomes.iter_mut().zip(b.outcomes) {
            *x = x.saturating_add(y);
        }
        h.add(&b.latency.expand(SECOND_SIGFIG));
    }
    into.fps_min = either(into.fps_min, s.fps_min, f64::min);
    if let Some(m) = s.fps_mean {
        *shards += 1;
        into.fps_mean = Some(into.fps_mean.unwrap_or(0.0) + (m - into.fps_mean.unwrap_or(0.0)) / f64::from(*shards));
    }
    into.memory_mb = either(into.memory_mb, s.memory_mb, f64::max);
    into.disk_pct = either(into.disk_pct, s.disk_pct, f64::max);
    into.status = into.status.take().or_else(|| s.status.clone());
}

fn merge_seconds(reports: &[Report]) -> Vec<SecondRecord> {
    let mut rows: BTreeMap<u32, (SecondRecord, Vec<Hist>, u32)> = BTreeMap::new();
    for s in reports.iter().flat_map(|r| &r.record.seconds) {
        let (row, hists, shards) = rows.entry(s.t).or_insert_with(|| {
            let mut empty = s.clone();
            empty.endpoints = vec![SecondEndpoint::default(); s.endpoints.len()];
            (empty.fps_min, empty.fps_mean, empty.memory_mb, empty.disk_pct, empty.status) =
                (None, None, None, None, None);
            (empty, vec![Hist::with_sigfig(SECOND_SIGFIG); s.endpoints.len()], 0)
        });
        add_second(row, hists, s, shards);
    }
    rows.into_values()
        .map(|(mut row, hists, _)| {
            for (e, h) in row.endpoints.iter_mut().zip(&hists) {
                e.summarize(h);
            }
            row
        })
        .collect()
}

/// Merge the reports of one scenario's shards. The result has no verdict and no expectations: judge it again.
pub fn merge(reports: &[Report]) -> Result<Report, MergeError> {
    let first = reports.first().ok_or(MergeError::Empty)?;
    let names = |r: &Report| r.record.phases.iter().map(|p| p.name.clone()).collect::<Vec<_>>();
    for (index, r) in reports.iter().enumerate() {
        if r.scenario.name != first.scenario.name {
            let (expected, found) = (first.scenario.name.clone(), r.scenario.name.clone());
            return Err(MergeError::Scenario { index, expected, found });
        }
        if names(r) != names(first) {
            return Err(MergeError::Phases { index, expected: names(first), found: names(r) });
        }
    }
    let mut phases = first.record.phases.clone();
    for r in &reports[1..] {
        for (a, b) in phases.iter_mut().zip(&r.record.phases) {
            add_phase(a, b);
        }
    }
    let mut events: Vec<_> = reports.iter().flat_map(|r| r.record.events.iter().cloned()).collect();
    events.sort_by(|a, b| a.t.total_cmp(&b.t));
    let record = Record { phases, seconds: merge_seconds(reports), events };
    let interrupted = reports.iter().any(|r| r.status == RunStatus::Interrupted);
    Ok(Report {
        // RFC 3339 in UTC as `run` writes it: the earliest sorts first.
        started_at: reports.iter().map(|r| r.started_at.clone()).min().unwrap_or_default(),
        duration_s: reports.iter().map(|r| r.duration_s).fold(0.0, f64::max),
        status: if interrupted { RunStatus::Interrupted } else { RunStatus::Completed },
        phases: summarize(&record),
        verdict: None,
        expectations: Vec::new(),
        record,
        ..first.clone()
    })
}
