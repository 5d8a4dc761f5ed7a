//! When each request is due and which endpoint it goes to: pure arithmetic, no clock, so it is unit-tested exactly.
//!
//! Arrival times are absolute offsets from the phase start (k-th arrival where the integrated rate reaches k), never
//! "previous + interval": a pacer that sleeps relative intervals drifts by every timer overshoot (goose's throttle
//! delivers ~10 % less than asked for that reason), while absolute deadlines catch up after any delay.

use std::time::Duration;

use crate::api::Endpoint;
use crate::scenario::Mix;

use super::plan::{PhasePlan, weights};

/// Arrival offsets of one phase, for a rate going linearly from `r0` to `r1` over the phase.
///
/// With rate `r(t) = r0 + (r1 - r0) t / T`, the arrivals so far are `N(t) = r0 t + a t²` with `a = (r1 - r0) / 2T`;
/// the k-th arrival is at the root of `a t² + r0 t - k = 0`, written `2k / (r0 + sqrt(r0² + 4ak))` so it stays exact
/// for a constant rate (`a = 0`) and for ramps down.
#[derive(Debug, Clone)]
pub struct Arrivals {
    r0: f64,
    a: f64,
    end: f64,
    k: u64,
}

impl Arrivals {
    /// The phase's arrival times, as offsets from its start; the iterator ends at the phase's end.
    pub fn new(phase: &PhasePlan) -> Self {
        let end = phase.duration.as_secs_f64();
        let a = if end > 0.0 { (phase.rate_end - phase.rate_start) / (2.0 * end) } else { 0.0 };
        Self { r0: phase.rate_start, a, end, k: 0 }
    }
}

impl Iterator for Arrivals {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        let k = self.k as f64;
        let disc = self.r0 * self.r0 + 4.0 * self.a * k;
        if disc < 0.0 {
            return None; // a ramp down that never reaches k arrivals
        }
        let t = 2.0 * k / (self.r0 + disc.sqrt());
        // 0/0 is the first arrival of a ramp from 0: it is due at the phase start.
        let t = if t.is_nan() { 0.0 } else { t };
        if t >= self.end || (self.r0 == 0.0 && self.a == 0.0) {
            return None;
        }
        self.k += 1;
        Some(Duration::from_secs_f64(t))
    }
}

/// Deterministic smooth weighted round robin (nginx's): weights 4:1:2:2 give the order S E L S S E L S E,
/// spreading each endpoint evenly rather than in bursts, with no RNG and no allocation per pick.
#[derive(Debug, Clone)]
pub struct Mixer {
    weights: [i64; Endpoint::ALL.len()],
    total: i64,
    current: [i64; Endpoint::ALL.len()],
}

impl Mixer {
    /// A mixer at the start of its cycle, so every run (and every engine) sends the same order.
    pub fn new(mix: &Mix) -> Self {
        let weights = weights(mix).map(i64::from);
        Self { weights, total: weights.iter().sum(), current: [0; Endpoint::ALL.len()] }
    }

    /// The endpoint of the next request; over a cycle of `sum(weights)` picks each comes up exactly its weight.
    pub fn next_endpoint(&mut self) -> Endpoint {
        let mut best = 0;
        for i in 0..Endpoint::ALL.len() {
            self.current[i] += self.weights[i];
            if self.current[i] > self.current[best] {
                best = i;
            }
        }
        self.current[best] -= self.total;
        Endpoint::ALL[best]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phase(secs: u64, r0: f64, r1: f64) -> PhasePlan {
        PhasePlan {
            name: "p".into(),
            duration: Duration::from_secs(secs),
            rate_start: r0,
            rate_end: r1,
            users: 1,
            mix: Mix::default(),
        }
    }

    #[test]
    fn constant_rate_is_evenly_spaced() {
        let v: Vec<_> = Arrivals::new(&phase(3, 100.0, 100.0)).collect();
        assert_eq!(v.len(), 300);
        assert_eq!(v[0], Duration::ZERO);
        assert!((v[150].as_secs_f64() - 1.5).abs() < 1e-9);
    }

    #[test]
    fn ramp_follows_the_integrated_rate() {
        let v: Vec<_> = Arrivals::new(&phase(4, 0.0, 200.0)).collect();
        assert_eq!(v.len(), 400);
        // N(t) = 25 t²: half the arrivals come after t = sqrt(8).
        assert!((v[200].as_secs_f64() - 8f64.sqrt()).abs() < 1e-9);
        assert!(v.windows(2).all(|w| w[0] < w[1]));
        let down: Vec<_> = Arrivals::new(&phase(4, 200.0, 0.0)).collect();
        assert_eq!(down.len(), 400);
    }

    #[test]
    fn zero_rate_sends_nothing() {
        assert_eq!(Arrivals::new(&phase(5, 0.0, 0.0)).count(), 0);
    }

    #[test]
    fn mixer_follows_weights_evenly() {
        let mix = Mix::default();
        let weights = weights(&mix);
        let mut m = Mixer::new(&mix);
        let picks: Vec<_> = (0..weights.iter().sum()).map(|_| m.next_endpoint()).collect();
        for (ep, w) in Endpoint::ALL.iter().zip(weights) {
            assert_eq!(picks.iter().filter(|p| *p == ep).count(), w as usize, "{ep}");
        }
        assert_ne!(picks[0], picks[1], "interleaved, not bursts: {picks:?}");
    }
}
