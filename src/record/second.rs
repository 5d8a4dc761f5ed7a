//! The per-second series: one small row per second of the run, whatever the request rate.
//!
//! A row's latency histogram stays dense (2 significant digits, 26 KiB per endpoint) only while the second can still
//! receive samples: requests are filed under the second of their *intended* time but recorded when they finish, up
//! to a timeout later. [`LIVE_SECONDS`] rows stay dense; older ones are compacted to their V2 bytes (a few hundred
//! bytes) and their dense histograms are recycled for new rows. A straggler for a compacted second (a request slower
//! than the live window) is still counted exactly, on a slow path that expands, records and compacts again.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::hist::{CompactHist, Hist};
use super::outcome::Outcome;
use crate::api::Endpoint;

/// Seconds kept dense: covers the default 10 s request timeout plus the second being filled.
pub const LIVE_SECONDS: usize = 12;

type Dense = Box<[Hist; Endpoint::ALL.len()]>;

/// One endpoint in one second.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SecondEndpoint {
    /// Requests intended in this second (all outcomes).
    pub count: u64,
    /// Of `count`, requests with any outcome but `ok`.
    pub errors: u64,
    /// Indexed by [`Outcome::index`].
    pub outcomes: [u64; Outcome::COUNT],
    /// Intended-time latency percentiles in ms, for readers of the JSON; `None` without samples.
    pub p50_ms: Option<f64>,
    /// As `p50_ms`, 95th percentile: the figure the runbook's latency thresholds are checked against, per second.
    pub p95_ms: Option<f64>,
    /// As `p50_ms`, 99th percentile.
    pub p99_ms: Option<f64>,
    /// Intended-time latency, µs, 2 significant digits (base64 V2), the exact source of the figures above.
    pub latency: CompactHist,
}

impl SecondEndpoint {
    /// Fill the percentiles and the compact histogram from `h` (also used when merging shard rows).
    pub fn summarize(&mut self, h: &Hist) {
        let ms = |q| h.quantile(q).map(|us| us as f64 / 1000.0);
        (self.p50_ms, self.p95_ms, self.p99_ms) = (ms(0.50), ms(0.95), ms(0.99));
        self.latency = h.compact();
    }
}

/// One second of the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SecondRecord {
    /// Seconds since the run started (this row covers `[t, t+1)`).
    pub t: u32,
    /// Index into `record.phases` of the phase current when the row's first sample was recorded (a second that
    /// straddles a phase change is listed under one phase only).
    pub phase: usize,
    /// Indexed by [`Endpoint::index`].
    pub endpoints: Vec<SecondEndpoint>,
    /// Lowest telemetry FPS sample in this second; null when no sample arrived (no telemetry, or a gap).
    pub fps_min: Option<f64>,
    /// Mean of this second's telemetry FPS samples; null when none arrived.
    pub fps_mean: Option<f64>,
    /// Resident memory of the target, MB: the memory probe's reading if there is one, else the figure telemetry
    /// reported; null when neither measured this second.
    pub memory_mb: Option<f64>,
    /// Disk use, percent of the filesystem the disk probe watches; null when not probed this second.
    pub disk_pct: Option<f64>,
    /// CPU use of the target's process (percent of one core) or host (percent of all cores), when probed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_pct: Option<f64>,
    /// The last `/status` probe taken in this second; null when none was (probes run on a cadence, often slower
    /// than one a second).
    pub status: Option<super::StatusSample>,
    /// `[probe] queries` answered by Prometheus in this second, by query name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub queries: BTreeMap<String, f64>,
    /// Probe samples that failed in this second, by probe (`prometheus/<query name>`): an unreachable Prometheus or a
    /// PromQL error is counted here and the run goes on.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub probe_failures: BTreeMap<String, u32>,
}

/// A row as the recorder keeps it: the public fields plus the dense histograms while live.
pub(super) struct Row {
    pub rec: SecondRecord,
    pub fps_sum_n: (f64, u32),
    dense: Option<Dense>,
}

impl Row {
    /// The public view, percentiles filled in from the dense histograms if the row is still live.
    pub fn snapshot(&self) -> SecondRecord {
        let mut rec = self.rec.clone();
        if let Some(d) = &self.dense {
            for (e, h) in rec.endpoints.iter_mut().zip(d.iter()) {
                e.summarize(h);
            }
        }
        rec
    }

    pub fn fps(&mut self, fps: f64) {
        self.rec.fps_min = Some(self.rec.fps_min.map_or(fps, |m| m.min(fps)));
        self.fps_sum_n.0 += fps;
        self.fps_sum_n.1 += 1;
        self.rec.fps_mean = Some(self.fps_sum_n.0 / f64::from(self.fps_sum_n.1));
    }
}

/// The series, plus a free list of dense histograms so a steady run allocates nothing per second after warm-up.
#[derive(Default)]
pub(super) struct Seconds {
    rows: Vec<Row>,
    spare: Vec<Dense>,
}

impl Seconds {
    /// The row for second `t`, created (with any missing rows before it) on first use.
    pub fn row(&mut self, t: u32, phase: usize) -> &mut Row {
        let idx = self.index(t, phase);
        &mut self.rows[idx]
    }

    fn index(&mut self, t: u32, phase: usize) -> usize {
        let base = self.rows.first().map_or(t, |r| r.rec.t);
        // A sample older than the first row: fold it into the first row rather than reorder history.
        let idx = t.saturating_sub(base) as usize;
        while self.rows.len() <= idx {
            let t = base + self.rows.len() as u32;
            self.rows.push(Row {
                rec: SecondRecord {
                    t,
                    phase,
                    endpoints: vec![SecondEndpoint::default(); Endpoint::ALL.len()],
                    fps_min: None,
                    fps_mean: None,
                    memory_mb: None,
                    disk_pct: None,
                    cpu_pct: None,
                    status: None,
                    queries: BTreeMap::new(),
                    probe_failures: BTreeMap::new(),
                },
                fps_sum_n: (0.0, 0),
                dense: None,
            });
            if let Some(old) = self.rows.len().checked_sub(LIVE_SECONDS + 1) {
                self.compact(old);
            }
        }
        idx
    }

    /// Count one request in second `t` (its intended second).
    pub fn request(&mut self, t: u32, phase: usize, endpoint: Endpoint, latency_us: u64, outcome: Outcome) {
        let idx = self.index(t, phase);
        let live = idx + LIVE_SECONDS >= self.rows.len();
        let Seconds { rows, spare } = self;
        let row = &mut rows[idx];
        let i = endpoint.index();
        let e = &mut row.rec.endpoints[i];
        e.count += 1;
        e.errors += u64::from(outcome.is_error());
        e.outcomes[outcome.index()] += 1;
        if live {
            let dense = row.dense.get_or_insert_with(|| spare.pop().unwrap_or_else(new_dense));
            dense[i].record(latency_us);
        } else {
            // The slow path: a straggler for a second already compacted.
            let mut h = e.latency.expand();
            h.record(latency_us);
            e.summarize(&h);
        }
    }

    fn compact(&mut self, idx: usize) {
        let row = &mut self.rows[idx];
        if let Some(mut d) = row.dense.take() {
            for (e, h) in row.rec.endpoints.iter_mut().zip(d.iter_mut()) {
                e.summarize(h);
                h.clear();
            }
            self.spare.push(d);
        }
    }

    pub fn last_complete(&self) -> Option<SecondRecord> {
        let n = self.rows.len();
        (n >= 2).then(|| self.rows[n - 2].snapshot())
    }

    pub fn recent(&self, n: usize) -> Vec<SecondRecord> {
        self.rows[self.rows.len().saturating_sub(n)..].iter().map(Row::snapshot).collect()
    }

    pub fn recent_memory(&self, n: usize) -> Vec<(f64, f64)> {
        let rows = &self.rows[self.rows.len().saturating_sub(n)..];
        rows.iter().filter_map(|r| r.rec.memory_mb.map(|mb| (f64::from(r.rec.t), mb))).collect()
    }

    pub fn snapshot(&self) -> Vec<SecondRecord> {
        self.rows.iter().map(Row::snapshot).collect()
    }

    /// Rows currently holding dense histograms (for the memory test).
    #[cfg(test)]
    fn dense_rows(&self) -> usize {
        self.rows.iter().filter(|r| r.dense.is_some()).count()
    }
}

fn new_dense() -> Dense {
    Box::new(std::array::from_fn(|_| Hist::coarse()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_seconds_are_compacted_and_stragglers_still_count() {
        let mut s = Seconds::default();
        for t in 0..100u32 {
            for i in 0..50 {
                s.request(t, 0, Endpoint::Status, 1_000 + i * 10, Outcome::Ok);
            }
        }
        assert_eq!(s.dense_rows(), LIVE_SECONDS);
        assert!(s.spare.len() <= 1, "dense histograms are recycled, not piled up: {}", s.spare.len());
        // A request from second 3 finishing now (a 97 s straggler).
        s.request(3, 0, Endpoint::Status, 900_000, Outcome::Timeout);
        let rows = s.snapshot();
        assert_eq!(rows.len(), 100);
        let e = &rows[3].endpoints[Endpoint::Status.index()];
        assert_eq!((e.count, e.errors), (51, 1));
        assert_eq!(e.latency.expand().len(), 51);
        assert!(e.p99_ms.unwrap() > 800.0);
        let live = &rows[99].endpoints[Endpoint::Status.index()];
        assert_eq!(live.count, 50);
        assert!((live.p50_ms.unwrap() - 1.25).abs() < 0.02, "{:?}", live.p50_ms);
        assert!(rows.iter().all(|r| r.endpoints[0].latency.size() < 600));
    }
}
