//! The exported latency histograms' buckets, and the exact count of a recorded histogram in each.
//!
//! Between 5 ms and 2 s the bounds grow by a factor of 1.05, so `histogram_quantile` is within 5 % of the true
//! quantile there: the true value and Prometheus's linear interpolation both lie in the bucket holding the rank,
//! `(b, 1.05 b]`, so they differ by at most `0.05 b`, less than 5 % of the true value ([`BUCKET_ERROR`]). Below
//! 5 ms and above 2 s a few coarse bounds keep the series count down (134 buckets with `+Inf`): the runbook's thresholds
//! (100 ms to 1 s) sit in the fine range.
//!
//! The counts come from the run's own HDR histograms (3 significant digits), read when a scrape asks, so the hot
//! path records each request once; each HDR value counts in the bucket of its highest equivalent value, which can
//! move a sample across a bound only within 0.1 %.

use std::sync::LazyLock;

use crate::record::Hist;

/// Growth factor of the bounds between [`FINE_FROM_S`] and [`FINE_TO_S`].
pub const FACTOR: f64 = 1.05;
/// The largest relative error of a quantile read by `histogram_quantile` between [`FINE_FROM_S`] and [`FINE_TO_S`].
pub const BUCKET_ERROR: f64 = FACTOR - 1.0;
pub const FINE_FROM_S: f64 = 0.005;
pub const FINE_TO_S: f64 = 2.0;

/// Upper bounds in seconds, ascending; the `+Inf` bucket is implied after the last.
pub static BOUNDS: LazyLock<Vec<f64>> = LazyLock::new(|| {
    let mut b = vec![0.001, 0.002, 0.003, 0.004];
    // In whole µs (what the histograms record), each bound rounded down from the last one × 1.05, so no bucket is
    // wider than the factor promises.
    let (mut us, to_us) = ((FINE_FROM_S * 1e6) as u64, (FINE_TO_S * 1e6) as u64);
    b.push(FINE_FROM_S);
    while us < to_us {
        us = us * 105 / 100;
        b.push(us as f64 / 1e6);
    }
    b.extend([3.0, 5.0, 10.0, 30.0, 60.0]);
    b
});

/// A histogram in exported form: per-bucket counts (not cumulative; the last is `+Inf`), their sum in seconds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Buckets {
    pub counts: Vec<u64>,
    pub sum_s: f64,
}

impl Buckets {
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// `(upper bound, count)` pairs with `+Inf` last, as the OpenMetrics encoder takes them.
    pub fn pairs(&self) -> Vec<(f64, u64)> {
        BOUNDS.iter().copied().chain([f64::INFINITY]).zip(self.counts.iter().copied()).collect()
    }
}

/// Count a µs histogram into [`BOUNDS`]: one pass over its recorded values (ascending), so the cost is the number
/// of distinct values, not the number of samples.
pub fn of(h: &Hist) -> Buckets {
    let bounds_us: Vec<u64> = BOUNDS.iter().map(|s| (s * 1e6).round() as u64).collect();
    let mut counts = vec![0u64; bounds_us.len() + 1];
    let mut sum_us = 0.0;
    let mut i = 0;
    for v in h.0.iter_recorded() {
        let value = h.0.highest_equivalent(v.value_iterated_to());
        while i < bounds_us.len() && value > bounds_us[i] {
            i += 1;
        }
        counts[i] += v.count_at_value();
        sum_us += value as f64 * v.count_at_value() as f64;
    }
    Buckets { counts, sum_s: sum_us / 1e6 }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Prometheus's `histogram_quantile`, for the classic buckets: linear interpolation inside the bucket.
    fn histogram_quantile(q: f64, b: &Buckets) -> f64 {
        let rank = q * b.total() as f64;
        let (mut below, mut lower) = (0u64, 0.0);
        for (bound, n) in b.pairs() {
            if (below + n) as f64 >= rank {
                return lower + (bound - lower) * (rank - below as f64) / n as f64;
            }
            below += n;
            lower = bound;
        }
        unreachable!()
    }

    #[test]
    fn bounds_are_fine_enough_between_5ms_and_2s() {
        let fine: Vec<f64> =
            BOUNDS.iter().copied().filter(|&b| (FINE_FROM_S..=FINE_TO_S * FACTOR).contains(&b)).collect();
        assert!(fine.first() == Some(&FINE_FROM_S) && *fine.last().unwrap() >= FINE_TO_S);
        for w in fine.windows(2) {
            assert!(w[1] / w[0] <= FACTOR, "{} -> {}", w[0], w[1]);
        }
        assert!(BOUNDS.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(BOUNDS.len() + 1, 134);
    }

    #[test]
    fn quantiles_read_from_the_buckets_stay_within_the_bucket_error() {
        // Spread samples, a bimodal run (fast, then a fault), and values right on the bounds.
        let cases: [Vec<u64>; 3] = [
            (0..10_000u64).map(|i| 5_000 + i * 199).collect(),
            (0..10_000u64).map(|i| if i % 10 < 8 { 12_000 + i % 97 } else { 650_000 + i * 7 }).collect(),
            BOUNDS.iter().filter(|&&b| (FINE_FROM_S..=FINE_TO_S).contains(&b)).map(|b| (b * 1e6) as u64).collect(),
        ];
        for values in cases {
            let mut h = Hist::new();
            values.iter().for_each(|&v| h.record(v));
            let b = of(&h);
            assert_eq!(b.total(), h.len());
            for q in [0.5, 0.9, 0.95, 0.99] {
                let truth = h.quantile(q).unwrap() as f64 / 1e6;
                let read = histogram_quantile(q, &b);
                assert!((read - truth).abs() <= BUCKET_ERROR * truth + 1e-6, "q{q}: {read} vs {truth}");
            }
        }
    }
}
