//! Readable figures (ms, percent, req/s) derived from the record's histograms and counters, per phase and endpoint.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::api::Endpoint;
use crate::record::{EndpointRecord, Hist, Outcome, PhaseRecord, Record};

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Percentiles {
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

impl Percentiles {
    /// From a µs histogram, in ms; `None` when it is empty.
    pub fn from_us(h: &Hist) -> Option<Self> {
        let ms = |q| h.quantile(q).map(|v| v as f64 / 1000.0);
        Some(Self { p50: ms(0.50)?, p95: ms(0.95)?, p99: ms(0.99)?, max: ms(1.0)? })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct EndpointSummary {
    pub endpoint: Endpoint,
    pub requests: u64,
    pub errors: u64,
    pub error_rate_pct: f64,
    /// From the intended send time (what a user on a schedule waits).
    pub latency_ms: Option<Percentiles>,
    /// From the actual send (what the service took).
    pub service_ms: Option<Percentiles>,
    /// Non-zero outcome counts by label.
    pub outcomes: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FpsSummary {
    pub samples: u64,
    pub p5: f64,
    pub median: f64,
    pub min: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PhaseSummary {
    pub name: String,
    pub duration_s: f64,
    pub requests: u64,
    pub rate: f64,
    pub errors: u64,
    pub error_rate_pct: f64,
    pub late: u64,
    pub dropped: u64,
    pub latency_ms: Option<Percentiles>,
    pub service_ms: Option<Percentiles>,
    pub fps: Option<FpsSummary>,
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
