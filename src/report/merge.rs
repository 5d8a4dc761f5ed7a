//! Shard reports merged exactly, then judged: the histograms add, the counters sum (checked, never wrapped), per-second
//! rows line up by their second (shards share a start time via `run --start-at`), so the merged percentiles are those
//! one machine recording every sample would have reported. The shards' own verdicts are dropped and the merged record
//! is judged by the same pure judge, with the thresholds and `[expect]` the reports carry, and its outcome decided as
//! a run's is.
//!
//! Only the shards of one drill merge: the same scenario (by hash), the same endpoints and histogram bounds, each
//! shard once, none missing. Anything else is a [`MergeError`] that names the report, never a silent sum.

use sha2::Digest;

use super::{Report, RunStatus, decide, summarize};
use crate::api::Endpoint;
use crate::record::{EventKind, Hist, PhaseRecord, Record, SecondEndpoint, SecondRecord};

/// Why shard reports cannot be merged (`report N` counts from 0, in the order given).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MergeError {
    /// `merge` was given no report.
    #[error("nothing to merge")]
    Empty,
    /// A report's scenario hash differs from report 0's: a different (or edited) scenario, not a shard of this drill.
    #[error(
        "report {index} is of another scenario ({found:?}, hash {found_hash:.12}) than report 0 ({expected:?}, hash {expected_hash:.12}): only shards of one drill merge"
    )]
    Scenario {
        /// The offending report's position among those given.
        index: usize,
        /// Report 0's scenario name.
        expected: String,
        /// The offending report's scenario name (may equal `expected`: the hash is what differs).
        found: String,
        /// Report 0's scenario hash.
        expected_hash: String,
        /// The offending report's scenario hash.
        found_hash: String,
    },
    /// A report's phases (names, in order) differ from report 0's.
    #[error("report {index} has phases {found:?}, not {expected:?}")]
    Phases {
        /// The offending report's position among those given.
        index: usize,
        /// Report 0's phase names.
        expected: Vec<String>,
        /// The offending report's phase names.
        found: Vec<String>,
    },
    /// The same run given twice (equal `run_id`), which would double every count.
    #[error("reports {first} and {second} are the same report (run id {run_id}): each shard must be given once")]
    SameRun {
        /// Position of the first copy.
        first: usize,
        /// Position of the second copy.
        second: usize,
        /// The run id they share.
        run_id: String,
    },
    /// Two different runs that both claim the same shard index.
    #[error("reports {first} and {second} are both shard {index}/{count}: each shard must be given once")]
    SameShard {
        /// Position of the first report claiming the shard.
        first: usize,
        /// Position of the second report claiming it.
        second: usize,
        /// The shard index both claim (0-based).
        index: u32,
        /// `N` of their `--shard I/N`.
        count: u32,
    },
    /// Some shard indexes of the run were not given: a partial sum would pass for the whole load.
    #[error("shard {missing:?} of {count} missing: merge every shard of the run")]
    MissingShard {
        /// The 0-based shard indexes not given.
        missing: Vec<u32>,
        /// The shard count the reports share.
        count: u32,
    },
    /// A report's `--shard I/N` count differs from report 0's, or one is a shard and the other not.
    #[error("report {index} is {found}, report 0 is {expected}: shards of one run share --shard I/N")]
    ShardCount {
        /// The offending report's position among those given.
        index: usize,
        /// Report 0's shard, as `shard I/N` or `not a shard`.
        expected: String,
        /// The offending report's shard, described the same way.
        found: String,
    },
    /// A report has requests on other endpoints than report 0, or records another number of endpoint slots.
    #[error(
        "report {index} has requests on {found}, report 0 on {expected}: different endpoint sets (a different [load] mix?)"
    )]
    Endpoints {
        /// The offending report's position among those given.
        index: usize,
        /// Report 0's endpoints with requests (and its slot count when unusual).
        expected: String,
        /// The offending report's, described the same way.
        found: String,
    },
    /// A histogram with other bounds or precision than report 0's: it cannot be added exactly.
    #[error(
        "report {index}: {what} histogram has bounds {found}, report 0 {expected}: written by an incompatible build"
    )]
    Bounds {
        /// The offending report's position among those given.
        index: usize,
        /// Which histogram, by phase or second and kind (latency, service time, FPS).
        what: String,
        /// Report 0's bounds and significant digits.
        expected: String,
        /// The offending histogram's bounds and significant digits.
        found: String,
    },
    /// A count that would pass `u64::MAX` when added: only a corrupt or hostile report holds such numbers.
    #[error("report {index}: {what} overflows when added; the counts are corrupt")]
    Overflow {
        /// The offending report's position among those given.
        index: usize,
        /// Which counter or histogram.
        what: String,
    },
}

/// Combine two optional readings with `f`, keeping whichever exists when only one does.
fn either(a: Option<f64>, b: Option<f64>, f: fn(f64, f64) -> f64) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(f(a, b)),
        (a, b) => a.or(b),
    }
}

/// Adds with the report index and what is added, for the error.
struct Adder {
    index: usize,
}

impl Adder {
    fn count(&self, into: &mut u64, n: u64, what: &str) -> Result<(), MergeError> {
        *into = into.checked_add(n).ok_or_else(|| MergeError::Overflow { index: self.index, what: what.into() })?;
        Ok(())
    }

    fn counts(&self, into: &mut [u64], from: &[u64], what: &str) -> Result<(), MergeError> {
        into.iter_mut().zip(from).try_for_each(|(a, &b)| self.count(a, b, what))
    }

    fn hist(&self, into: &mut Hist, from: &Hist, what: &str) -> Result<(), MergeError> {
        let bounds = |h: &Hist| format!("{}..{} at {} digits", h.0.low(), h.0.high(), h.0.sigfig());
        if bounds(into) != bounds(from) {
            let (expected, found) = (bounds(into), bounds(from));
            return Err(MergeError::Bounds { index: self.index, what: what.into(), expected, found });
        }
        let overflow = || MergeError::Overflow { index: self.index, what: format!("{what} histogram") };
        into.len().checked_add(from.len()).ok_or_else(overflow)?;
        into.0.add(&from.0).map_err(|_| overflow())
    }

    fn phase(&self, into: &mut PhaseRecord, p: &PhaseRecord) -> Result<(), MergeError> {
        for (e, (a, b)) in into.endpoints.iter_mut().zip(&p.endpoints).enumerate() {
            let what = format!("phase {:?} endpoint {}", p.name, endpoint_name(e));
            self.hist(&mut a.latency, &b.latency, &format!("{what} latency"))?;
            self.hist(&mut a.service, &b.service, &format!("{what} service time"))?;
            self.counts(&mut a.outcomes, &b.outcomes, &format!("{what} outcomes"))?;
        }
        self.hist(&mut into.fps, &p.fps, &format!("phase {:?} FPS", p.name))?;
        self.count(&mut into.late, p.late, "late")?;
        self.count(&mut into.dropped, p.dropped, "dropped")?;
        into.started = either(into.started, p.started, f64::min);
        into.ended = either(into.ended, p.ended, f64::max);
        Ok(())
    }

    /// Rows of one second from several shards, in one: requests summed and histograms added. Every shard watches
    /// the same target, so FPS is averaged, the lowest FPS kept, and memory and disk take the highest (the worst).
    fn second(&self, into: &mut Row, s: &SecondRecord) -> Result<(), MergeError> {
        for (e, ((a, b), h)) in into.rec.endpoints.iter_mut().zip(&s.endpoints).zip(into.hists.iter_mut()).enumerate() {
            let what = format!("second {} endpoint {}", s.t, endpoint_name(e));
            self.count(&mut a.count, b.count, &what)?;
            self.count(&mut a.errors, b.errors, &what)?;
            self.counts(&mut a.outcomes, &b.outcomes, &what)?;
            self.hist(h, &b.latency.expand(), &what)?;
        }
        into.rec.fps_min = either(into.rec.fps_min, s.fps_min, f64::min);
        if let Some(m) = s.fps_mean {
            into.fps_readings += 1;
            let mean = into.rec.fps_mean.unwrap_or(0.0);
            into.rec.fps_mean = Some(mean + (m - mean) / f64::from(into.fps_readings));
        }
        into.rec.memory_mb = either(into.rec.memory_mb, s.memory_mb, f64::max);
        into.rec.disk_pct = either(into.rec.disk_pct, s.disk_pct, f64::max);
        into.rec.cpu_pct = either(into.rec.cpu_pct, s.cpu_pct, f64::max);
        into.rec.status = into.rec.status.take().or_else(|| s.status.clone());
        Ok(())
    }
}

fn endpoint_name(i: usize) -> String {
    Endpoint::ALL.get(i).map_or_else(|| format!("#{i}"), |e| e.path().to_string())
}

/// A merged second being built.
struct Row {
    rec: SecondRecord,
    hists: Vec<Hist>,
    fps_readings: u32,
}

impl Row {
    /// An empty row for `first`'s second, its shape taken from it.
    fn new(first: &SecondRecord) -> Self {
        let mut rec = first.clone();
        rec.endpoints = vec![SecondEndpoint::default(); first.endpoints.len()];
        (rec.fps_min, rec.fps_mean, rec.memory_mb, rec.disk_pct, rec.cpu_pct, rec.status) =
            (None, None, None, None, None, None);
        Row { rec, hists: vec![Hist::coarse(); first.endpoints.len()], fps_readings: 0 }
    }

    fn finish(mut self) -> SecondRecord {
        for (e, h) in self.rec.endpoints.iter_mut().zip(&self.hists) {
            e.summarize(h);
        }
        self.rec
    }
}

/// Every report's seconds merged by time. They are taken in time order, one merged second at a time, so only the row
/// being built holds dense histograms: merging hours of seconds costs their compact bytes, not a dense histogram
/// per second (about 100 KiB each, gigabytes for a long run).
fn merge_seconds(reports: &[&Report]) -> Result<Vec<SecondRecord>, MergeError> {
    let mut all: Vec<(u32, usize, &SecondRecord)> = reports
        .iter()
        .enumerate()
        .flat_map(|(index, r)| r.record.seconds.iter().map(move |s| (s.t, index, s)))
        .collect();
    all.sort_by_key(|&(t, index, _)| (t, index));
    let mut merged = Vec::new();
    let mut row: Option<Row> = None;
    for (t, index, s) in all {
        if let Some(done) = row.take_if(|r| r.rec.t != t) {
            merged.push(done.finish());
        }
        Adder { index }.second(row.get_or_insert_with(|| Row::new(s)), s)?;
    }
    merged.extend(row.map(Row::finish));
    Ok(merged)
}

/// The endpoints a report sent requests to, and how many endpoint slots its record has.
fn endpoints(r: &Report) -> String {
    let slots = r.record.phases.first().map_or(0, |p| p.endpoints.len());
    let used: Vec<String> = (0..slots)
        .filter(|&i| r.record.phases.iter().any(|p| p.endpoints.get(i).is_some_and(|e| e.count() > 0)))
        .map(endpoint_name)
        .collect();
    let widths =
        r.record.phases.iter().map(|p| p.endpoints.len()).chain(r.record.seconds.iter().map(|s| s.endpoints.len()));
    let shape =
        if widths.clone().all(|w| w == Endpoint::ALL.len()) { String::new() } else { format!(" (of {slots} slots)") };
    format!("[{}]{shape}", used.join(", "))
}

/// Each report once, each shard once, none missing.
fn check_shards(reports: &[Report]) -> Result<(), MergeError> {
    for (second, r) in reports.iter().enumerate() {
        if let Some(first) = reports[..second].iter().position(|q| q.run_id == r.run_id && !r.run_id.is_empty()) {
            return Err(MergeError::SameRun { first, second, run_id: r.run_id.clone() });
        }
    }
    let describe =
        |r: &Report| r.shard.map_or_else(|| "not a shard".to_string(), |s| format!("shard {}/{}", s.index, s.count));
    let first = &reports[0];
    for (index, r) in reports.iter().enumerate() {
        if r.shard.map(|s| s.count) != first.shard.map(|s| s.count) {
            return Err(MergeError::ShardCount { index, expected: describe(first), found: describe(r) });
        }
        let same = reports[..index].iter().position(|q| q.shard.is_some() && q.shard == r.shard);
        if let (Some(first), Some(s)) = (same, r.shard) {
            return Err(MergeError::SameShard { first, second: index, index: s.index, count: s.count });
        }
    }
    if let Some(count) = first.shard.map(|s| s.count) {
        let missing: Vec<u32> =
            (0..count).filter(|i| !reports.iter().any(|r| r.shard.is_some_and(|s| s.index == *i))).collect();
        if !missing.is_empty() {
            return Err(MergeError::MissingShard { missing, count });
        }
    }
    Ok(())
}

/// Everything that must be equal across reports before any number is added.
fn check_alike(reports: &[Report]) -> Result<(), MergeError> {
    let first = &reports[0];
    let names = |r: &Report| r.record.phases.iter().map(|p| p.name.clone()).collect::<Vec<_>>();
    for (index, r) in reports.iter().enumerate() {
        if r.scenario.hash != first.scenario.hash {
            return Err(MergeError::Scenario {
                index,
                expected: first.scenario.name.clone(),
                found: r.scenario.name.clone(),
                expected_hash: first.scenario.hash.clone(),
                found_hash: r.scenario.hash.clone(),
            });
        }
        if names(r) != names(first) {
            return Err(MergeError::Phases { index, expected: names(first), found: names(r) });
        }
        if endpoints(r) != endpoints(first) {
            return Err(MergeError::Endpoints { index, expected: endpoints(first), found: endpoints(r) });
        }
    }
    check_shards(reports)
}

/// One event log from the shards': the run's lifecycle (started, phases, ended), which every shard logs, is kept once.
fn merge_events(reports: &[&Report]) -> Vec<crate::record::Event> {
    let mut events: Vec<_> = reports.iter().flat_map(|r| r.record.events.iter().cloned()).collect();
    events.sort_by(|a, b| a.t.total_cmp(&b.t));
    let mut lifecycle: Vec<EventKind> = Vec::new();
    events.retain(|e| match &e.kind {
        EventKind::RunStarted { .. }
        | EventKind::PhaseStarted { .. }
        | EventKind::PhaseEnded { .. }
        | EventKind::RunEnded { .. } => {
            let new = !lifecycle.contains(&e.kind);
            if new {
                lifecycle.push(e.kind.clone());
            }
            new
        }
        _ => true,
    });
    events
}

/// Merge the reports of one drill's shards, judge the merged record, and decide its outcome.
pub fn merge(reports: &[Report]) -> Result<Report, MergeError> {
    if reports.is_empty() {
        return Err(MergeError::Empty);
    }
    check_alike(reports)?;
    // Shard 0 ran the faults, so its scenario as run is the drill's.
    let mut order: Vec<&Report> = reports.iter().collect();
    order.sort_by_key(|r| r.shard.map_or(0, |s| s.index));
    let base = order[0];
    let mut phases = base.record.phases.clone();
    for (index, r) in reports.iter().enumerate().filter(|(_, r)| !std::ptr::eq(*r, base)) {
        for (a, b) in phases.iter_mut().zip(&r.record.phases) {
            Adder { index }.phase(a, b)?;
        }
    }
    let probe_hosts = order.iter().flat_map(|r| r.record.probe_hosts.clone()).collect();
    let record = Record { phases, seconds: merge_seconds(&order)?, events: merge_events(&order), probe_hosts };
    let interrupted = reports.iter().any(|r| r.status == RunStatus::Interrupted);
    let status = if interrupted { RunStatus::Interrupted } else { RunStatus::Completed };
    let judged =
        (status == RunStatus::Completed).then(|| crate::judge::judge_record(&record, &base.scenario.file, None));
    let (verdict, expectations) = judged.map_or((None, Vec::new()), |(v, e)| (Some(v), e));
    let mut ids: Vec<&str> = reports.iter().map(|r| r.run_id.as_str()).collect();
    ids.sort_unstable();
    let run_id = sha2::Sha256::digest(ids.join(",")).iter().take(16).map(|b| format!("{b:02x}")).collect();
    let errors = reports
        .iter()
        .flat_map(|r| {
            let from =
                r.shard.map_or_else(|| format!("run {}", r.run_id), |s| format!("shard {}/{}", s.index, s.count));
            r.errors.iter().map(move |e| format!("{from}: {e}"))
        })
        .collect();
    let mut merged = Report {
        // RFC 3339 in UTC as `run` writes it: the earliest sorts first.
        started_at: reports.iter().map(|r| r.started_at.clone()).min().unwrap_or_default(),
        duration_s: reports.iter().map(|r| r.duration_s).fold(0.0, f64::max),
        status,
        errors,
        run_id,
        shard: None,
        baseline: None,
        phases: summarize(&record),
        verdict,
        expectations,
        record,
        ..base.clone()
    };
    merged.outcome = decide(&merged);
    Ok(merged)
}
