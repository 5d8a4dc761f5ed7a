//! The judge's input: a plain-data view of one recorded run.
//!
//! Deliberately not the recorder's storage (live and compacted rows, gaps): the judge must stay a pure function of
//! numbers, testable on hand-made runs, and free to outlive changes to how the recorder stores them. What is one
//! measurement either way (a histogram, an outcome, a `/status` sample) is the recorder's own plain type. An adapter
//! from [`crate::record::Record`] fills these in.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::finding::Cmp;
use crate::api::Endpoint;
use crate::record::{CompactHist, Outcome, StatusSample};
use crate::runbook::Incident;

/// One recorded run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Run {
    /// Consecutive seconds in time order, one row per second with no gaps (the recorder fills gaps with empty rows),
    /// so a window of N rows is N seconds.
    pub seconds: Vec<Second>,
    /// The timeline's phases; [`Second::phase`] indexes this list.
    pub phases: Vec<PhaseSpan>,
    pub(crate) faults: Vec<FaultSpan>,
    /// The memory a leak would exhaust, in MB (the host's memory, measured by the harness because the judge may not
    /// read `/proc`); `None` = unknown. [`super::Profile::memory_limit_mb`] overrides it.
    pub memory_limit_mb: Option<f64>,
    /// `[probe] queries` with a threshold: named checks on every span, cited by their incident's findings.
    #[serde(default)]
    pub queries: Vec<QueryCheck>,
}

/// A Prometheus query judged as a verification check: `value cmp threshold` must hold on every sample of a span.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueryCheck {
    pub(crate) name: String,
    pub(crate) cmp: Cmp,
    pub(crate) threshold: f64,
    /// The incident whose findings cite the query when its check fails.
    pub incident: Option<Incident>,
}

/// A named span of the timeline, seconds since the run started.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhaseSpan {
    pub(crate) name: String,
    pub(crate) start_s: f64,
    pub(crate) end_s: f64,
}

/// When a fault was injected and rolled back, seconds since the run started; `rolled_back_s` is `None` when it was
/// held to the end of the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultSpan {
    pub(crate) name: String,
    pub(crate) injected_s: f64,
    pub(crate) rolled_back_s: Option<f64>,
}

/// One second of measurements, `[t, t+1)`; windows are merged from these.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Second {
    pub(crate) t: u32,
    /// Index into [`Run::phases`].
    pub phase: usize,
    /// Indexed by [`Endpoint::index`]. Requests count in the second they were *meant* to start, so a request stalled
    /// by a fault counts against the second the fault began.
    pub endpoints: [EndpointSecond; Endpoint::ALL.len()],
    /// Lowest and mean telemetry FPS sample in this second.
    pub fps_min: Option<f64>,
    pub(crate) fps_mean: Option<f64>,
    /// Resident memory of the target, MB.
    pub memory_mb: Option<f64>,
    /// Usage of the target's disk, percent.
    pub disk_pct: Option<f64>,
    /// CPU use of the target's process or host, percent.
    #[serde(default)]
    pub cpu_pct: Option<f64>,
    /// The `/status` probe taken in this second, if any.
    pub status: Option<StatusSample>,
    /// Prometheus query answers in this second, by query name.
    #[serde(default)]
    pub queries: BTreeMap<String, f64>,
}

impl Second {
    /// An empty second: no requests, no samples.
    pub fn empty(t: u32, phase: usize) -> Self {
        Self {
            t,
            phase,
            endpoints: Default::default(),
            fps_min: None,
            fps_mean: None,
            memory_mb: None,
            disk_pct: None,
            cpu_pct: None,
            status: None,
            queries: BTreeMap::new(),
        }
    }
}

/// One endpoint's requests in one second.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EndpointSecond {
    /// Requests by outcome, indexed by [`Outcome::index`].
    pub outcomes: [u64; Outcome::COUNT],
    /// Latency from the intended send time, µs, at rest as the record keeps it: a window expands the seconds it
    /// spans, so judging an hour holds an hour of compact bytes rather than a dense histogram per second (the
    /// judge once held about 740 KiB per second this way).
    pub latency: CompactHist,
}
