//! Readable figures (ms, percent, req/s) derived from the record's histograms and counters, per phase and endpoint.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::api::Endpoint;
use crate::record::{EndpointRecord, Hist, Outcome, PhaseRecord, Record};

/// Latency percentiles in ms, read from the exact histogram (3 significant digits, so within 0.1 %); the object is
/// null where there were no requests, never zeros.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Percentiles {
    /// Median, ms.
    pub p50: f64,
    /// 95th percentile, ms: the latency figure `compare` and `run --baseline` gate.
    pub p95: f64,
    /// 99th percentile, ms.
    pub p99: f64,
    /// The slowest request, ms (a request past the 1 h bound counts as 1 h).
    pub max: f64,
}

impl Percentiles {
    /// From a µs histogram, in ms; `None` when it is empty.
    pub fn from_us(h: &Hist) -> Option<Self> {
        let ms = |q| h.quantile(q).map(|v| v as f64 / 1000.0);
        Some(Self { p50: ms(0.50)?, p95: ms(0.95)?, p99: ms(0.99)?, max: ms(1.0)? })
    }
}

/// One endpoint's figures in one phase; listed only for endpoints that had requests in it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct EndpointSummary {
    /// Which of the four API endpoints.
    pub endpoint: Endpoint,
    /// Requests intended in this phase, whatever their outcome (arrivals dropped unsent are not among them).
    pub requests: u64,
    /// Of `requests`, those with any outcome but `ok` (timeouts and refused connections included).
    pub errors: u64,
    /// `errors` as a percentage of `requests` (0 to 100; 0 without requests): with the p95, what `compare` gates.
    pub error_rate_pct: f64,
    /// From the intended send time (what a user on a schedule waits).
    pub latency_ms: Option<Percentiles>,
    /// From the actual send (what the service took).
    pub service_ms: Option<Percentiles>,
    /// Non-zero outcome counts by label.
    pub outcomes: BTreeMap<String, u64>,
}

/// Telemetry frame rate over one phase, from every FPS sample the stream sent in it (to two decimals).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FpsSummary {
    /// How many FPS messages arrived in the phase.
    pub samples: u64,
    /// 5th percentile, FPS: the phase's low, robust to one stray frame.
    pub p5: f64,
    /// Median, FPS: the FPS figure `compare` and `run --baseline` gate.
    pub median: f64,
    /// Lowest sample, FPS.
    pub min: f64,
}

/// One phase's headline figures, derived from `record.phases` (which holds the exact histograms they come from).
/// Only phases the run reached are listed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PhaseSummary {
    /// The phase's name from the scenario's timeline.
    pub name: String,
    /// Seconds from the phase's start to its end (shorter than planned when the run was interrupted in it).
    pub duration_s: f64,
    /// Requests intended in this phase, all endpoints, whatever their outcome.
    pub requests: u64,
    /// `requests` / `duration_s`, requests per second; 0 for a phase of no duration.
    pub rate: f64,
    /// Of `requests`, those with any outcome but `ok`.
    pub errors: u64,
    /// `errors` as a percentage of `requests` (0 to 100; 0 without requests).
    pub error_rate_pct: f64,
    /// Open model: arrivals sent more than 1 ms after their intended time (the generator fell behind); always 0 for
    /// the closed model.
    pub late: u64,
    /// Open model: arrivals never sent because `max_in_flight` requests were outstanding; always 0 for the closed
    /// model.
    pub dropped: u64,
    /// Latency from each request's intended send time (what a user on a schedule waits, coordinated omission
    /// included), all endpoints; null without requests.
    pub latency_ms: Option<Percentiles>,
    /// Latency from each request's actual send (what the service took once asked), all endpoints; null without
    /// requests.
    pub service_ms: Option<Percentiles>,
    /// Null when no telemetry FPS sample arrived in the phase (no telemetry URL, or the stream was down throughout).
    pub fps: Option<FpsSummary>,
    /// Per endpoint, only those with requests in this phase, in the API's endpoint order.
    pub endpoints: Vec<EndpointSummary>,
}

fn pct(part: u64, whole: u64) -> f64 {
    if whole == 0 { 0.0 } else { part as f64 * 100.0 / whole as f64 }
}

fn endpoint_summary(endpoint: Endpoint, e: &EndpointRecord) -> EndpointSummary {
    let outcomes = Outcome::ALL
        .iter()
        .filter(|o| e.outcomes[o.index()] > 0)
        .map(|o| (o.label().to_owned(), e.outcomes[o.index()]))
        .collect();
    EndpointSummary {
        endpoint,
        requests: e.count(),
        errors: e.errors(),
        error_rate_pct: pct(e.errors(), e.count()),
        latency_ms: Percentiles::from_us(&e.latency),
        service_ms: Percentiles::from_us(&e.service),
        outcomes,
    }
}

fn phase_summary(p: &PhaseRecord) -> PhaseSummary {
    let mut all = EndpointRecord::default();
    for e in &p.endpoints {
        all.add(e);
    }
    let duration_s = match (p.started, p.ended) {
        (Some(a), Some(b)) => (b - a).max(0.0),
        _ => 0.0,
    };
    let fps = (!p.fps.is_empty()).then(|| FpsSummary {
        samples: p.fps.len(),
        p5: p.fps.quantile(0.05).unwrap_or(0) as f64 / 100.0,
        median: p.fps.quantile(0.5).unwrap_or(0) as f64 / 100.0,
        min: p.fps.quantile(0.0).unwrap_or(0) as f64 / 100.0,
    });
    PhaseSummary {
        name: p.name.clone(),
        duration_s,
        requests: all.count(),
        rate: if duration_s > 0.0 { all.count() as f64 / duration_s } else { 0.0 },
        errors: all.errors(),
        error_rate_pct: pct(all.errors(), all.count()),
        late: p.late,
        dropped: p.dropped,
        latency_ms: Percentiles::from_us(&all.latency),
        service_ms: Percentiles::from_us(&all.service),
        fps,
        endpoints: Endpoint::ALL
            .iter()
            .zip(&p.endpoints)
            .filter(|(_, e)| e.count() > 0)
            .map(|(&ep, e)| endpoint_summary(ep, e))
            .collect(),
    }
}

/// One summary per phase the run reached.
pub fn summarize(record: &Record) -> Vec<PhaseSummary> {
    record.phases.iter().filter(|p| p.started.is_some()).map(phase_summary).collect()
}
