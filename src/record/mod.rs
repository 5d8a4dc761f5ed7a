//! Everything a run measures, per phase and per second, in constant memory however long the run.
//!
//! Load, telemetry and probes write through one cloneable [`Recorder`]; at the end [`Recorder::finish`] hands back a
//! plain [`Record`] that the report serializes and the judge reads. Nothing here grows per request: requests land in
//! histograms and fixed counters; only per-second rows and events grow, with time.
//!
//! # Memory, measured by the sizes of the structures (not estimated per request)
//! | what | precision | size | how many |
//! |---|---|---|---|
//! | per (phase, endpoint): intended-time latency + service time | 3 sigfig, 1 µs..1 h | 2 × 184 KiB dense | phases × 4 |
//! | per (second, endpoint) while live ([`LIVE_SECONDS`]) | 2 sigfig | 26 KiB dense | 12 × 4, recycled |
//! | per (second, endpoint) once compacted | 2 sigfig, V2 bytes | ~10-400 B + 150 B of counters | seconds × 4 |
//! | events | | ~100 B each | a few per phase, per state change |
//!
//! So a one-hour run of 4 phases holds about 1.5 MiB + 1.2 MiB + 3600 × 4 × ~0.5 KiB ≈ 10 MiB, however many requests
//! it sent. Everything is mergeable exactly (histograms add, counters sum), which is what shard merges rely on.
//!
//! The lock is held for a handful of histogram increments per request (see `benches/record.rs` for the figure);
//! everything that can be computed outside it (durations, the second) is.

mod events;
mod hist;
mod outcome;
mod second;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

pub use events::{Event, EventKind};
pub use hist::{CompactHist, Hist};
pub use outcome::Outcome;
pub use second::{LIVE_SECONDS, SecondEndpoint, SecondRecord};

use second::Seconds;

use crate::api::{Endpoint, ServiceState};

/// Latency and outcomes of one endpoint in one phase (or one second).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct EndpointRecord {
    /// Latency from the intended send time, µs: what a user waiting on a schedule sees (no coordinated omission).
    pub latency: Hist,
    /// Latency from the actual send, µs: what the service took once it was asked.
    pub service: Hist,
    /// Requests by outcome, indexed by [`Outcome::index`].
    pub outcomes: [u64; Outcome::COUNT],
}

impl EndpointRecord {
    /// Requests of every outcome, saturating rather than wrapping on a hostile report.
    pub fn count(&self) -> u64 {
        self.outcomes.iter().fold(0, |a, b| a.saturating_add(*b))
    }

    /// Requests with any outcome but `ok`: what error rates are made of.
    pub fn errors(&self) -> u64 {
        self.count().saturating_sub(self.outcomes[Outcome::Ok.index()])
    }

    /// Add another record's histograms and counts exactly (endpoints into a phase total, shards into one run).
    pub fn add(&mut self, other: &EndpointRecord) {
        self.latency.add(&other.latency);
        self.service.add(&other.service);
        // Saturating: counts read from a report are not trusted to be small (fuzzing found u64::MAX ones).
        for (a, b) in self.outcomes.iter_mut().zip(other.outcomes) {
            *a = a.saturating_add(b);
        }
    }
}

/// Everything measured in one phase of the timeline, in the order the scenario lists them: requests are attributed
/// by their intended send time, FPS samples by when they arrived.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PhaseRecord {
    /// The phase's name from the scenario's timeline.
    pub name: String,
    /// Seconds since the run started; null for a phase the run never reached.
    pub started: Option<f64>,
    /// Seconds since the run started (an interrupted run ends its current phase at the interruption); null for a
    /// phase the run never reached.
    pub ended: Option<f64>,
    /// Indexed by [`Endpoint::index`].
    pub endpoints: Vec<EndpointRecord>,
    /// Telemetry FPS samples, stored ×100 so the histogram keeps two decimals.
    pub fps: Hist,
    /// Open model: arrivals sent later than 1 ms after their intended time (the generator fell behind).
    pub late: u64,
    /// Open model: arrivals never sent because `max_in_flight` requests were outstanding.
    pub dropped: u64,
}

/// What one `/status` probe saw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct StatusSample {
    /// An HTTP answer of any status arrived within the probe's timeout (a 401 or 503 is reachable).
    pub reachable: bool,
    /// From sending the request on a fresh connection to the whole body read, ms; up to the probe's timeout when
    /// unanswered.
    pub latency_ms: f64,
    /// `/status`'s `overall_ready`; null when there was no parsable status body (unreachable, non-2xx, garbage).
    pub overall_ready: Option<bool>,
    /// The debug adapter's state, decoded with the scenario's state mapping; null without a status body or for a
    /// number the mapping does not know.
    pub dap: Option<ServiceState>,
    /// The language server's state, decoded as `dap` is.
    pub lsp: Option<ServiceState>,
}

/// The whole measured run, as plain data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Record {
    /// One per phase of the scenario's timeline, reached or not, in timeline order: what summaries and the verdict
    /// are computed from.
    pub phases: Vec<PhaseRecord>,
    /// One row per second from the first measurement to the last, with no gap: the time series charts and the
    /// verdict's detection and recovery times are read from.
    pub seconds: Vec<SecondRecord>,
    /// What happened when, sorted by time (in `report.json`, the verdict's own events are listed here too).
    pub events: Vec<Event>,
    /// The `[[host]]` each probe series was measured on, by series (`memory_mb`, `disk_pct`, `cpu_pct`); a series
    /// not named here was measured from the harness's machine.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub probe_hosts: BTreeMap<String, String>,
}

struct State {
    phases: Vec<PhaseRecord>,
    seconds: Seconds,
    events: Vec<Event>,
    probe_hosts: BTreeMap<String, String>,
    /// (endpoint, outcome) pairs already logged as `FirstError`: a fixed table, no hashing on the hot path.
    first_errors: [[bool; Outcome::COUNT]; Endpoint::ALL.len()],
}

/// The run's shared, thread-safe recorder. Cheap to clone.
#[derive(Clone)]
pub struct Recorder {
    start: Instant,
    phase: Arc<AtomicUsize>,
    state: Arc<Mutex<State>>,
}

fn endpoints() -> Vec<EndpointRecord> {
    vec![EndpointRecord::default(); Endpoint::ALL.len()]
}

impl Recorder {
    /// A recorder for a run that started at `start` (every `t` counts from it), with one empty record per phase.
    pub fn new(start: Instant, phase_names: &[String]) -> Self {
        let phases = phase_names
            .iter()
            .map(|name| PhaseRecord {
                name: name.clone(),
                started: None,
                ended: None,
                endpoints: endpoints(),
                fps: Hist::new(),
                late: 0,
                dropped: 0,
            })
            .collect();
        let state = State {
            phases,
            seconds: Seconds::default(),
            events: Vec::new(),
            probe_hosts: BTreeMap::new(),
            first_errors: [[false; Outcome::COUNT]; Endpoint::ALL.len()],
        };
        Self { start, phase: Arc::new(AtomicUsize::new(0)), state: Arc::new(Mutex::new(state)) }
    }

    /// The whole second since the run started that `at` falls in: the per-second row it belongs to.
    fn second_of(&self, at: Instant) -> u32 {
        at.saturating_duration_since(self.start).as_secs() as u32
    }

    /// Seconds since the run started.
    pub fn elapsed(&self, at: Instant) -> f64 {
        at.saturating_duration_since(self.start).as_secs_f64()
    }

    /// The phase a request starting now belongs to: requests are attributed by their intended start, never by when
    /// they finish, so a request stalled by a fault counts against the fault phase.
    pub fn phase(&self) -> usize {
        self.phase.load(Ordering::Relaxed)
    }

    /// Move to phase `index`, ending the current one (if started) at the same instant, so phases never overlap.
    pub fn enter_phase(&self, index: usize, at: Instant) {
        let t = self.elapsed(at);
        let mut s = self.state.lock();
        let prev = self.phase.swap(index, Ordering::Relaxed);
        if s.phases[prev].started.is_some() && s.phases[prev].ended.is_none() {
            s.phases[prev].ended = Some(t);
            let phase = s.phases[prev].name.clone();
            s.events.push(Event { t, kind: EventKind::PhaseEnded { phase } });
        }
        s.phases[index].started = Some(t);
        let phase = s.phases[index].name.clone();
        s.events.push(Event { t, kind: EventKind::PhaseStarted { phase } });
    }

    /// Close the current phase (end of run or interruption).
    pub fn end_phase(&self, at: Instant) {
        let t = self.elapsed(at);
        let mut s = self.state.lock();
        let i = self.phase();
        if s.phases[i].started.is_some() && s.phases[i].ended.is_none() {
            s.phases[i].ended = Some(t);
            let phase = s.phases[i].name.clone();
            s.events.push(Event { t, kind: EventKind::PhaseEnded { phase } });
        }
    }

    /// One request. `intended` is when the schedule wanted it sent, `sent` when it was, `done` when the whole
    /// response (body included) was read or the request failed.
    pub fn request(
        &self,
        phase: usize,
        endpoint: Endpoint,
        intended: Instant,
        sent: Instant,
        done: Instant,
        outcome: Outcome,
    ) {
        let latency = done.saturating_duration_since(intended).as_micros() as u64;
        let service = done.saturating_duration_since(sent).as_micros() as u64;
        let t = intended.saturating_duration_since(self.start).as_secs() as u32;
        let mut guard = self.state.lock();
        let s = &mut *guard;
        let e = &mut s.phases[phase].endpoints[endpoint.index()];
        e.latency.record(latency);
        e.service.record(service);
        e.outcomes[outcome.index()] += 1;
        s.seconds.request(t, phase, endpoint, latency, outcome);
        if outcome.is_error() && !std::mem::replace(&mut s.first_errors[endpoint.index()][outcome.index()], true) {
            s.events.push(Event {
                t: self.elapsed(done),
                kind: EventKind::FirstError { endpoint, outcome: outcome.label().into() },
            });
        }
    }

    /// An open-model arrival sent more than 1 ms after its intended time.
    pub(crate) fn late(&self, phase: usize) {
        self.state.lock().phases[phase].late += 1;
    }

    /// An open-model arrival never sent because `max_in_flight` requests were outstanding.
    pub(crate) fn dropped(&self, phase: usize, intended: Instant, endpoint: Endpoint) {
        let _ = (intended, endpoint);
        self.state.lock().phases[phase].dropped += 1;
    }

    /// One telemetry `fps` sample.
    pub fn fps(&self, at: Instant, fps: f64, memory_mb: Option<f64>) {
        let t = self.second_of(at);
        let phase = self.phase();
        let mut s = self.state.lock();
        s.phases[phase].fps.record((fps.max(0.0) * 100.0).round() as u64);
        let row = s.seconds.row(t, phase);
        row.fps(fps);
        if memory_mb.is_some() && row.rec.memory_mb.is_none() {
            row.rec.memory_mb = memory_mb;
        }
    }

    /// Resident memory of the target as measured on the host (preferred over telemetry's figure).
    pub fn memory(&self, at: Instant, mb: f64) {
        let t = self.second_of(at);
        let phase = self.phase();
        self.state.lock().seconds.row(t, phase).rec.memory_mb = Some(mb);
    }

    /// Disk use, percent of the filesystem the disk probe watches.
    pub fn disk(&self, at: Instant, pct: f64) {
        let t = self.second_of(at);
        let phase = self.phase();
        self.state.lock().seconds.row(t, phase).rec.disk_pct = Some(pct);
    }

    /// CPU use as the cpu probe measured it: percent of one core for a process, of all cores for a host.
    pub(crate) fn cpu(&self, at: Instant, pct: f64) {
        let t = self.second_of(at);
        let phase = self.phase();
        self.state.lock().seconds.row(t, phase).rec.cpu_pct = Some(pct);
    }

    /// Samples of `series` (a [`SecondRecord`] field) are measured on `host`.
    pub fn probe_host(&self, series: &str, host: &str) {
        self.state.lock().probe_hosts.insert(series.to_owned(), host.to_owned());
    }

    /// One `/status` probe; a second keeps the last sample taken in it.
    pub fn status(&self, at: Instant, sample: StatusSample) {
        let t = self.second_of(at);
        let phase = self.phase();
        self.state.lock().seconds.row(t, phase).rec.status = Some(sample);
    }

    /// One named Prometheus query's answer (`[probe] queries`).
    pub fn query(&self, at: Instant, name: &str, value: f64) {
        let t = self.second_of(at);
        let phase = self.phase();
        self.state.lock().seconds.row(t, phase).rec.queries.insert(name.to_owned(), value);
    }

    /// A probe sample that could not be taken (`probe` names it, e.g. `prometheus/service_p95_s`).
    pub fn probe_failed(&self, at: Instant, probe: &str) {
        let t = self.second_of(at);
        let phase = self.phase();
        *self.state.lock().seconds.row(t, phase).rec.probe_failures.entry(probe.to_owned()).or_default() += 1;
    }

    /// Log an event at `at`; events may arrive out of order across tasks and are sorted by [`Recorder::finish`].
    pub fn event(&self, at: Instant, kind: EventKind) {
        let t = self.elapsed(at);
        self.state.lock().events.push(Event { t, kind });
    }

    /// A snapshot of the last complete second, for live progress.
    pub fn last_second(&self) -> Option<SecondRecord> {
        self.state.lock().seconds.last_complete()
    }

    /// The last `n` rows of the per-second series (the one being filled included), for live metrics.
    pub fn recent_seconds(&self, n: usize) -> Vec<SecondRecord> {
        self.state.lock().seconds.recent(n)
    }

    /// `(t, MB)` resident-memory samples of the last `n` seconds: the leak fit's trailing window, without the cost of
    /// summarizing those rows' histograms.
    pub fn recent_memory(&self, n: usize) -> Vec<(f64, f64)> {
        self.state.lock().seconds.recent_memory(n)
    }

    /// Read the per-phase records in place, under the recording lock: `f` must be short (live metrics read the
    /// histograms here instead of the hot path counting into a second set of buckets).
    pub fn with_phases<R>(&self, f: impl FnOnce(&[PhaseRecord]) -> R) -> R {
        f(&self.state.lock().phases)
    }

    /// A copy of everything so far, events sorted by time: at the end of a run, the record the judge and reports
    /// read (tests also call it mid-run).
    pub fn finish(&self) -> Record {
        let s = self.state.lock();
        let mut events = s.events.clone();
        events.sort_by(|a, b| a.t.total_cmp(&b.t));
        Record { phases: s.phases.clone(), seconds: s.seconds.snapshot(), events, probe_hosts: s.probe_hosts.clone() }
    }
}
