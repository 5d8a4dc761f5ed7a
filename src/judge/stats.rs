//! Aggregate statistics of a span of seconds (a window, a phase): what every rule and check reads.
//!
//! Histograms are merged exactly ([`Hist::add`]), so a window's p95 is the p95 of every request in it. Seconds in
//! which the API was down are set apart here, once, because every request-based rule must not see them: they belong
//! to Incident 1 (see [`super::rules`] for the precedence).

use std::collections::BTreeMap;

use crate::api::{Endpoint, ServiceState};
use crate::record::{Hist, Outcome};

use super::input::Second;
use crate::record::StatusSample;
use crate::runbook::Profile;

/// Outcomes and latency of one endpoint over a span.
#[derive(Debug, Clone, Default)]
pub struct EndpointAgg {
    pub outcomes: [u64; Outcome::COUNT],
    pub latency: Hist,
}

impl EndpointAgg {
    pub fn count(&self) -> u64 {
        self.outcomes.iter().sum()
    }

    pub fn of(&self, o: Outcome) -> u64 {
        self.outcomes[o.index()]
    }
}

/// What the `/status` probes of a span saw.
#[derive(Debug, Clone, Default)]
pub struct ProbeAgg {
    pub probes: u32,
    pub reachable: u32,
    /// Sum of the latencies of reachable probes, ms.
    pub latency_sum_ms: f64,
    /// Probes that reported `overall_ready`, and how many of them said true.
    pub ready_known: u32,
    pub ready_true: u32,
    /// Probes whose DAP / LSP was reported in a state other than connected, with the last such state.
    pub dap_down: (u32, Option<ServiceState>),
    pub lsp_down: (u32, Option<ServiceState>),
}

impl ProbeAgg {
    fn add(&mut self, p: &StatusSample) {
        self.probes += 1;
        if p.reachable {
            self.reachable += 1;
            self.latency_sum_ms += p.latency_ms;
        }
        if let Some(ready) = p.overall_ready {
            self.ready_known += 1;
            self.ready_true += u32::from(ready);
        }
        for (agg, state) in [(&mut self.dap_down, p.dap), (&mut self.lsp_down, p.lsp)] {
            if let Some(s) = state.filter(|s| *s != ServiceState::Connected) {
                agg.0 += 1;
                agg.1 = Some(s);
            }
        }
    }

    pub fn avg_latency_ms(&self) -> Option<f64> {
        (self.reachable > 0).then(|| self.latency_sum_ms / f64::from(self.reachable))
    }
}

/// One span's aggregate.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    /// Seconds in which the API was down (Incident 1); their requests are not in `endpoints` or `latency`.
    pub down_seconds: u32,
    /// Requests of the seconds that were not down, indexed by [`Endpoint::index`].
    pub endpoints: [EndpointAgg; Endpoint::ALL.len()],
    /// All endpoints' latency merged, seconds that were not down.
    pub latency: Hist,
    /// Requests of the down seconds by outcome, all endpoints together.
    pub down_outcomes: [u64; Outcome::COUNT],
    /// Timed-out requests, down seconds included.
    pub timeouts: u64,
    pub probes: ProbeAgg,
    pub fps_min: Vec<f64>,
    pub fps_mean: Vec<f64>,
    pub disk_max: Option<f64>,
    pub cpu_max: Option<f64>,
    /// `(t, MB)` resident-memory samples.
    pub memory: Vec<(f64, f64)>,
    /// Prometheus query answers by query name.
    pub queries: BTreeMap<String, Vec<f64>>,
}

impl Stats {
    /// Aggregate seconds, each with whether it was down (see [`is_down`]).
    pub fn of<'a>(seconds: impl IntoIterator<Item = (&'a Second, bool)>) -> Self {
        let mut s = Stats::default();
        for (sec, is_down) in seconds {
            for e in &sec.endpoints {
                s.timeouts += e.outcomes[Outcome::Timeout.index()];
            }
            if is_down {
                s.down_seconds += 1;
                for e in &sec.endpoints {
                    for (a, b) in s.down_outcomes.iter_mut().zip(e.outcomes) {
                        *a += b;
                    }
                }
            } else {
                for (agg, e) in s.endpoints.iter_mut().zip(&sec.endpoints) {
                    agg.latency.add(&e.latency.expand());
                    for (a, b) in agg.outcomes.iter_mut().zip(e.outcomes) {
                        *a += b;
                    }
                }
            }
            if let Some(p) = &sec.status {
                s.probes.add(p);
            }
            s.fps_min.extend(sec.fps_min);
            s.fps_mean.extend(sec.fps_mean);
            s.disk_max = max_opt(s.disk_max, sec.disk_pct);
            s.cpu_max = max_opt(s.cpu_max, sec.cpu_pct);
            s.memory.extend(sec.memory_mb.map(|mb| (f64::from(sec.t), mb)));
            for (name, v) in &sec.queries {
                s.queries.entry(name.clone()).or_default().push(*v);
            }
        }
        for e in &s.endpoints {
            s.latency.add(&e.latency);
        }
        s
    }

    /// Requests in seconds that were not down.
    pub fn requests(&self) -> u64 {
        self.endpoints.iter().map(EndpointAgg::count).sum()
    }

    /// Requests of every endpoint with outcome `o`, seconds that were not down.
    pub fn total(&self, o: Outcome) -> u64 {
        self.endpoints.iter().map(|e| e.of(o)).sum()
    }

    /// Every request and every error, down seconds included: what the verification step's error rate counts.
    pub fn all_requests_and_errors(&self) -> (u64, u64) {
        let down: u64 = self.down_outcomes.iter().sum();
        let all = self.requests() + down;
        (all, all - self.total(Outcome::Ok) - self.down_outcomes[Outcome::Ok.index()])
    }

    /// p95 over all endpoints, ms.
    pub fn p95_ms(&self) -> Option<f64> {
        self.latency.quantile(0.95).map(us_to_ms)
    }
}

pub fn us_to_ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

/// Requests that never got an HTTP answer.
pub fn unanswered(outcomes: &[u64; Outcome::COUNT]) -> u64 {
    Outcome::ALL.iter().filter(|o| o.is_unanswered()).map(|o| outcomes[o.index()]).sum()
}

/// Incident 1 at the resolution of one second: (nearly) all requests unanswered and `/status` not answering. A
/// second without a probe is judged by its requests alone; a second without requests by its probe alone.
pub fn is_down(sec: &Second, p: &Profile) -> bool {
    let total: u64 = sec.endpoints.iter().map(|e| e.outcomes.iter().sum::<u64>()).sum();
    let lost: u64 = sec.endpoints.iter().map(|e| unanswered(&e.outcomes)).sum();
    let status_unreachable = sec.status.as_ref().is_none_or(|s| !s.reachable);
    if total == 0 {
        return sec.status.as_ref().is_some_and(|s| !s.reachable);
    }
    status_unreachable && pct(lost, total) >= p.unresponsive_pct
}

pub fn pct(part: u64, whole: u64) -> f64 {
    if whole == 0 { 0.0 } else { part as f64 * 100.0 / whole as f64 }
}

fn max_opt(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

/// The nearest-rank `q` quantile of `values`; `None` when empty.
pub fn quantile(values: &[f64], q: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
    Some(v[rank - 1])
}

/// A least-squares line through `(t, y)` points.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fit {
    /// y units per second.
    pub slope: f64,
    /// Share of the variance the line explains, 0..=1 (0 for a flat series).
    pub r2: f64,
    /// The line's value at the last point.
    pub last: f64,
}

pub fn fit(points: &[(f64, f64)]) -> Option<Fit> {
    if points.len() < 2 {
        return None;
    }
    let n = points.len() as f64;
    let mt = points.iter().map(|p| p.0).sum::<f64>() / n;
    let my = points.iter().map(|p| p.1).sum::<f64>() / n;
    let stt: f64 = points.iter().map(|p| (p.0 - mt).powi(2)).sum();
    let sty: f64 = points.iter().map(|p| (p.0 - mt) * (p.1 - my)).sum();
    let syy: f64 = points.iter().map(|p| (p.1 - my).powi(2)).sum();
    if stt == 0.0 {
        return None;
    }
    let slope = sty / stt;
    let r2 = if syy == 0.0 { 0.0 } else { (sty * sty) / (stt * syy) };
    let t_last = points.iter().map(|p| p.0).fold(f64::MIN, f64::max);
    Some(Fit { slope, r2, last: my + slope * (t_last - mt) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantile_is_nearest_rank() {
        let v: Vec<f64> = (1..=20).map(f64::from).collect();
        assert_eq!(quantile(&v, 0.05), Some(1.0));
        assert_eq!(quantile(&v, 0.5), Some(10.0));
        assert_eq!(quantile(&[], 0.5), None);
    }

    #[test]
    fn fit_finds_slope_and_r2() {
        let line: Vec<(f64, f64)> = (0..10).map(|t| (f64::from(t), 100.0 + 2.0 * f64::from(t))).collect();
        let f = fit(&line).unwrap();
        assert!((f.slope - 2.0).abs() < 1e-9 && (f.r2 - 1.0).abs() < 1e-9 && (f.last - 118.0).abs() < 1e-9);
        let flat: Vec<(f64, f64)> = (0..10).map(|t| (f64::from(t), 100.0)).collect();
        assert_eq!(fit(&flat).unwrap().r2, 0.0);
    }
}
