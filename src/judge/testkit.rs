//! Hand-made runs for the judge's unit tests: a second is built by chaining what happened in it, a run by listing
//! its phases with a generator for their seconds.

use crate::api::{Endpoint, ServiceState};
use crate::record::{Hist, Outcome};

use super::input::{FaultSpan, PhaseSpan, Run, Second};
use super::stats::{self, Stats};
use crate::record::StatusSample;
use crate::runbook::Profile;

pub fn sec(t: u32) -> Second {
    Second::empty(t, 0)
}

/// A healthy second: 100 requests at 20 ms (the default mix 4:1:2:2, rounded), a fast ready `/status`, 90 FPS,
/// disk half full.
pub fn healthy(t: u32) -> Second {
    sec(t)
        .ok(Endpoint::Status, 44, 20.0)
        .ok(Endpoint::SceneLoad, 12, 20.0)
        .ok(Endpoint::DebugEvaluate, 22, 20.0)
        .ok(Endpoint::LspCompletion, 22, 20.0)
        .probe(true, 10.0)
        .fps(90.0, 90.0)
        .disk(50.0)
}

/// A second in which the API is dead: every request refused, `/status` unreachable.
pub fn dead(t: u32) -> Second {
    let mut s = sec(t).probe(false, 0.0);
    for ep in Endpoint::ALL {
        s = s.req(ep, Outcome::ConnectRefused, 25, 0.5);
    }
    s
}

pub trait SecondExt: Sized {
    fn req(self, ep: Endpoint, outcome: Outcome, n: u64, latency_ms: f64) -> Self;
    fn ok(self, ep: Endpoint, n: u64, latency_ms: f64) -> Self {
        self.req(ep, Outcome::Ok, n, latency_ms)
    }
    /// Turn `n` of the ok requests on `ep` into `outcome` (same latency).
    fn fail(self, ep: Endpoint, outcome: Outcome, n: u64) -> Self;
    fn probe(self, reachable: bool, latency_ms: f64) -> Self;
    fn dap(self, state: ServiceState) -> Self;
    fn fps(self, min: f64, mean: f64) -> Self;
    fn mem(self, mb: f64) -> Self;
    fn disk(self, pct: f64) -> Self;
}

impl SecondExt for Second {
    fn req(mut self, ep: Endpoint, outcome: Outcome, n: u64, latency_ms: f64) -> Self {
        let e = &mut self.endpoints[ep.index()];
        e.outcomes[outcome.index()] += n;
        if n > 0 {
            // At the per-phase precision, so boundary tests sit on exact values whatever the record keeps.
            let mut h = Hist::new();
            h.add(&e.latency.expand());
            h.0.saturating_record_n(((latency_ms * 1000.0) as u64).max(1), n);
            e.latency = h.compact();
        }
        self
    }

    fn fail(mut self, ep: Endpoint, outcome: Outcome, n: u64) -> Self {
        let o = &mut self.endpoints[ep.index()].outcomes;
        assert!(o[Outcome::Ok.index()] >= n, "not enough ok requests on {ep} to fail {n}");
        o[Outcome::Ok.index()] -= n;
        o[outcome.index()] += n;
        self
    }

    fn probe(mut self, reachable: bool, latency_ms: f64) -> Self {
        let connected = reachable.then_some(ServiceState::Connected);
        self.status = Some(StatusSample {
            reachable,
            latency_ms,
            overall_ready: reachable.then_some(true),
            dap: connected,
            lsp: connected,
        });
        self
    }

    fn dap(mut self, state: ServiceState) -> Self {
        let s = self.status.as_mut().expect("probe first");
        s.dap = Some(state);
        s.overall_ready = Some(state == ServiceState::Connected);
        self
    }

    fn fps(mut self, min: f64, mean: f64) -> Self {
        self.fps_min = Some(min);
        self.fps_mean = Some(mean);
        self
    }

    fn mem(mut self, mb: f64) -> Self {
        self.memory_mb = Some(mb);
        self
    }

    fn disk(mut self, pct: f64) -> Self {
        self.disk_pct = Some(pct);
        self
    }
}

/// The aggregate of `secs` as the judge builds it, with the default profile.
pub fn stats(secs: &[Second]) -> Stats {
    let p = Profile::default();
    Stats::of(secs.iter().map(|s| (s, stats::is_down(s, &p))))
}

/// A run built phase by phase; each phase's seconds come from a generator of `t`.
#[derive(Default)]
pub struct Timeline {
    run: Run,
}

pub fn timeline() -> Timeline {
    Timeline::default()
}

impl Timeline {
    pub fn phase(mut self, name: &str, secs: u32, gen_sec: impl Fn(u32) -> Second) -> Self {
        let start = self.run.seconds.len() as u32;
        let index = self.run.phases.len();
        for t in start..start + secs {
            let mut s = gen_sec(t);
            s.t = t;
            s.phase = index;
            self.run.seconds.push(s);
        }
        self.run.phases.push(PhaseSpan {
            name: name.into(),
            start_s: f64::from(start),
            end_s: f64::from(start + secs),
        });
        self
    }

    pub fn fault(mut self, name: &str, injected_s: f64, rolled_back_s: Option<f64>) -> Self {
        self.run.faults.push(FaultSpan { name: name.into(), injected_s, rolled_back_s });
        self
    }

    pub fn memory_limit(mut self, mb: f64) -> Self {
        self.run.memory_limit_mb = Some(mb);
        self
    }

    pub fn build(self) -> Run {
        self.run
    }
}
