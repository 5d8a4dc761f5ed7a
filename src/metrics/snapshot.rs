//! What a scrape or a push sends: the run's live state read into plain metric families, in one place, so the
//! OpenMetrics text and the remote-write protobuf say the same thing.
//!
//! Label sets are bounded by the scenario, never by traffic: phases and faults as declared, the four endpoints,
//! the fourteen outcome kinds, the runbook's seven incidents. Nothing is labelled per request or per URL.

use std::sync::Arc;
use std::time::Instant;

use crate::api::{Endpoint, ServiceState};
use crate::judge::{self, Incident, Profile};
use crate::record::{Outcome, Recorder};

use super::buckets::{self, Buckets};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Scalar(f64),
    Histogram(Buckets),
}

pub type Labels = Vec<(&'static str, String)>;

#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub labels: Labels,
    pub value: Value,
}

/// One metric: its name (counters without `_total`, which the encoders add), help text, type and series.
#[derive(Debug, Clone, PartialEq)]
pub struct Family {
    pub name: &'static str,
    pub help: &'static str,
    pub kind: Kind,
    pub series: Vec<Series>,
}

impl Family {
    fn new(name: &'static str, kind: Kind, help: &'static str) -> Self {
        Self { name, help, kind, series: Vec::new() }
    }

    fn push(&mut self, labels: Labels, value: f64) {
        self.series.push(Series { labels, value: Value::Scalar(value) });
    }
}

/// Everything the exporter reads, attached once the run has its recorder and faults.
#[derive(Clone)]
pub struct Sources {
    pub(crate) rec: Recorder,
    pub(crate) scenario: String,
    pub(crate) phases: Vec<String>,
    /// Declared faults as `(name, kind)`.
    pub faults: Vec<(String, &'static str)>,
    /// The names of the faults held right now (the injector's own state, so a TTL rollback shows at once).
    pub held: Arc<dyn Fn() -> Vec<String> + Send + Sync>,
    pub(crate) profile: Profile,
}

/// The run's state now. `finished` is set once the run is over (load stopped, faults rolled back).
pub fn take(src: &Sources, shard: &str, finished: bool) -> Vec<Family> {
    let mut out = Vec::new();
    let mut info = Family::new("drill_run_info", Kind::Gauge, "The run being measured (always 1).");
    info.push(vec![("scenario", src.scenario.clone()), ("shard", shard.to_owned())], 1.0);
    out.push(info);
    let mut elapsed = Family::new("drill_run_elapsed_seconds", Kind::Gauge, "Seconds since the run started.");
    elapsed.push(vec![], src.rec.elapsed(Instant::now()));
    out.push(elapsed);
    let mut done = Family::new("drill_run_finished", Kind::Gauge, "1 once the run is over and its faults rolled back.");
    done.push(vec![], f64::from(u8::from(finished)));
    out.push(done);
    requests(src, &mut out);
    let current = src.rec.phase();
    let mut phase = Family::new("drill_phase", Kind::Gauge, "1 for the phase the timeline is in, 0 for the others.");
    for (i, name) in src.phases.iter().enumerate() {
        phase.push(vec![("phase", name.clone())], f64::from(u8::from(i == current && !finished)));
    }
    out.push(phase);
    let held = (src.held)();
    let mut faults = Family::new("drill_fault_active", Kind::Gauge, "1 while the fault is injected, else 0.");
    for (name, kind) in &src.faults {
        faults.push(
            vec![("fault", name.clone()), ("kind", (*kind).to_owned())],
            f64::from(u8::from(held.contains(name))),
        );
    }
    out.push(faults);
    latest(src, &mut out);
    out
}

/// Request counters, latency histograms and late/dropped arrivals per started phase, from the phases' histograms.
fn requests(src: &Sources, out: &mut Vec<Family>) {
    let mut count =
        Family::new("drill_requests", Kind::Counter, "Requests by phase (intended start), endpoint and outcome.");
    let mut latency = Family::new(
        "drill_request_duration_seconds",
        Kind::Histogram,
        "Latency from the intended send time (what a user on a schedule waits), by phase and endpoint.",
    );
    let mut service = Family::new(
        "drill_request_service_duration_seconds",
        Kind::Histogram,
        "Latency from the actual send (the service time), by phase and endpoint.",
    );
    let mut late =
        Family::new("drill_late_arrivals", Kind::Counter, "Arrivals sent over 1 ms after their intended time.");
    let mut dropped = Family::new(
        "drill_dropped_arrivals",
        Kind::Counter,
        "Arrivals never sent because max_in_flight were outstanding.",
    );
    src.rec.with_phases(|phases| {
        for p in phases.iter().filter(|p| p.started.is_some()) {
            let phase = || ("phase", p.name.clone());
            for (ep, e) in Endpoint::ALL.iter().zip(&p.endpoints) {
                let endpoint = || ("endpoint", ep.path().to_owned());
                for o in Outcome::ALL {
                    count.push(
                        vec![phase(), endpoint(), ("outcome", o.label().to_owned())],
                        e.outcomes[o.index()] as f64,
                    );
                }
                let hist = |h| Series { labels: vec![phase(), endpoint()], value: Value::Histogram(buckets::of(h)) };
                latency.series.push(hist(&e.latency));
                service.series.push(hist(&e.service));
            }
            late.push(vec![phase()], p.late as f64);
            dropped.push(vec![phase()], p.dropped as f64);
        }
    });
    out.extend([count, latency, service, late, dropped]);
}

/// FPS, probe state and the live window's incidents, from the latest complete seconds.
fn latest(src: &Sources, out: &mut Vec<Family>) {
    let p = &src.profile;
    let mut rows = src.rec.recent_seconds(judge::seconds(p.window) + 1);
    let mut memory = src.rec.recent_memory(judge::seconds(p.leak_window) + 1);
    // The second still being filled is not judged yet.
    rows.pop();
    memory.retain(|m| rows.last().is_some_and(|r| m.0 <= f64::from(r.t)));
    let last = rows.last();
    let mut fps = Family::new("drill_fps", Kind::Gauge, "Telemetry FPS of the last complete second (mean and min).");
    if let Some(r) = last {
        for (stat, v) in [("mean", r.fps_mean), ("min", r.fps_min)] {
            if let Some(v) = v {
                fps.push(vec![("stat", stat.to_owned())], v);
            }
        }
    }
    out.push(fps);
    status(rows.iter().rev().find_map(|r| r.status.as_ref()), out);
    let findings = judge::live_window(&rows, &memory, p);
    let mut active = Family::new(
        "drill_incident_active",
        Kind::Gauge,
        "1 when the rules find the incident in the latest 5 s window.",
    );
    let mut severity = Family::new(
        "drill_incident_severity",
        Kind::Gauge,
        "The runbook severity (0 = P0 ... 4 = P4) of an active incident.",
    );
    for i in Incident::ALL {
        let f = findings.iter().find(|f| f.incident == i);
        active.push(vec![("incident", i.name().to_owned())], f64::from(u8::from(f.is_some())));
        if let Some(f) = f {
            severity.push(vec![("incident", i.name().to_owned())], f.severity as u8 as f64);
        }
    }
    out.extend([active, severity]);
}

const STATES: [(ServiceState, &str); 6] = [
    (ServiceState::Disconnected, "disconnected"),
    (ServiceState::Initializing, "initializing"),
    (ServiceState::Connecting, "connecting"),
    (ServiceState::Connected, "connected"),
    (ServiceState::Error, "error"),
    (ServiceState::Reconnecting, "reconnecting"),
];

/// The latest `/status` probe: reachable, `overall_ready`, and the DAP/LSP state as a state set.
fn status(s: Option<&crate::record::StatusSample>, out: &mut Vec<Family>) {
    let mut reachable =
        Family::new("drill_status_reachable", Kind::Gauge, "1 when the latest /status probe was answered.");
    let mut ready = Family::new("drill_overall_ready", Kind::Gauge, "overall_ready of the latest /status probe.");
    let mut state =
        Family::new("drill_service_state", Kind::Gauge, "DAP and LSP state of the latest /status probe (1 = current).");
    if let Some(s) = s {
        reachable.push(vec![], f64::from(u8::from(s.reachable)));
        if let Some(r) = s.overall_ready {
            ready.push(vec![], f64::from(u8::from(r)));
        }
        for (service, current) in [("dap", s.dap), ("lsp", s.lsp)] {
            let Some(current) = current else { continue };
            for (st, name) in STATES {
                state.push(
                    vec![("service", service.to_owned()), ("state", name.to_owned())],
                    f64::from(u8::from(st == current)),
                );
            }
        }
    }
    out.extend([reachable, ready, state]);
}
