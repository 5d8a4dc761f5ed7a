//! `[thresholds]`: the runbook's numbers in one table, each overridable by a scenario.
//!
//! The defaults are written once, in the `thresholds!` list below, beside the runbook section they come from; the
//! macro derives both the file's all-optional override table ([`Thresholds`]) and the resolved values the judge reads
//! ([`Limits`]), so the two cannot drift. Where the runbook is vague the doc comment records the decision taken.
//! Parsing and range checks live here; judging a run against them does not.

use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::check::Checker;
use super::locate::KeyPath;

macro_rules! thresholds {
    ($( $(#[$meta:meta])* $name:ident: $ty:ty = $default:expr, $check:ident; )*) => {
        /// Overrides of the runbook's default thresholds; every field is optional.
        #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
        #[serde(deny_unknown_fields)]
        pub struct Thresholds {
            $( $(#[$meta])* #[serde(default, skip_serializing_if = "Option::is_none")]
               pub $name: Option<$ty>, )*
        }

        /// Thresholds resolved: the scenario's overrides over the runbook defaults (serializable, so a report can
        /// show the numbers it was judged by).
        #[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
        pub struct Limits {
            $( $(#[$meta])* pub $name: $ty, )*
        }

        impl Thresholds {
            /// The values the judge uses: each override, or the runbook default.
            pub fn resolve(&self) -> Limits {
                Limits { $( $name: self.$name.unwrap_or($default), )* }
            }

            fn check_ranges(&self, c: &mut Checker, at: &KeyPath) {
                $( if let Some(v) = self.$name { $check(c, &at.key(stringify!($name)), v); } )*
            }
        }
    };
}

thresholds! {
    /// Healthy: error rate below this, in percent of requests. Runbook Incident 2, verification "Expected: < 0.01
    /// (1%)". Also where Incident 2's P2 band starts. Default 1.
    error_rate_pct: f64 = 1.0, pct;
    /// Incident 2 is P1 above this error rate, in percent. Runbook Incident 2, symptoms "0.05 (5% error rate)".
    /// Default 5.
    error_p1_pct: f64 = 5.0, pct;
    /// Incident 1 (P0) when at least this percent of requests fail to connect, reset or time out and `/status` is
    /// unreachable. The runbook says "all requests timeout"; decision: "nearly all" = 95 %, so a few requests that
    /// slip through a restart do not hide an outage. Default 95.
    unresponsive_pct: f64 = 95.0, pct;
    /// Healthy: p95 latency below this, in ms. Runbook Incident 3, verification 2 "Expected: < 0.2 (200ms)".
    /// Default 200.
    p95_ms: f64 = 200.0, ms;
    /// Healthy: mean `/status` latency below this, in ms. Runbook Incident 3, verification 1 "Expected: < 100ms".
    /// Default 100.
    status_avg_ms: f64 = 100.0, ms;
    /// Incident 3 is P2 when p95 exceeds this, in ms. Runbook Incident 3 severity; its P2 examples also name
    /// 300-500 ms: decision, P2 starts at 500 ms and p95 between `p95_ms` and this is a P3 finding. Default 500.
    slow_p2_ms: f64 = 500.0, ms;
    /// Incident 3 is P1 when p95 exceeds this, in ms. Runbook Incident 3 severity "> 1 s". Default 1000.
    slow_p1_ms: f64 = 1000.0, ms;
    /// FPS is "stable at 90" (runbook Incident 3, verification 4) when the 5th percentile of samples is at least
    /// this. Decision: 85, the simulator's and the bridge's own alert level. Default 85.
    fps_p5: f64 = 85.0, fps;
    /// ... and the median is at least this. Decision: 88 (2 % under the 90 Hz target). Default 88.
    fps_median: f64 = 88.0, fps;
    /// Disk usage above this percent is a warning. Runbook Incident 7, verification "Expected: < 80% used".
    /// Default 80.
    disk_warn_pct: f64 = 80.0, pct;
    /// Incident 7 is P2 above this disk usage, in percent. Runbook Incident 7 "P2 - Medium (if > 85%)". Default 85.
    disk_p2_pct: f64 = 85.0, pct;
    /// Incident 7 is P1 above this disk usage, in percent. Runbook Incident 7 "P1 - High (if > 95%)". Default 95.
    disk_p1_pct: f64 = 95.0, pct;
    /// Incident 6 (P2) when resident memory grows faster than this, in MB per minute, sustained over a phase.
    /// The runbook gives no number; decision: 10 MB/min. Default 10.
    memory_growth_mb_per_min: f64 = 10.0, positive;
    /// Memory limit the leak is projected against, in MB; 0 = the host's total memory. Runbook Incident 6. Default 0.
    memory_limit_mb: u64 = 0, any;
    /// Incident 6 escalates to P1 when the projected time to reach `memory_limit_mb` is shorter than this.
    /// Decision: 1 hour (the runbook's P1 response time). Default "1h".
    #[serde(with = "humantime_serde")]
    #[schemars(with = "String")]
    memory_exhaust_p1: Duration = Duration::from_secs(3600), duration;
    /// Length of the sliding windows every rule is judged on (issue 5). Default "5s".
    #[serde(with = "humantime_serde")]
    #[schemars(with = "String")]
    window: Duration = Duration::from_secs(5), duration;
    /// A rule fires only after this many consecutive windows break it, so one slow request never pages anyone.
    /// Default 1 (a 5 s window already smooths single requests; raise it for noisy targets).
    consecutive_windows: u32 = 1, count;
    /// Recovered = this many consecutive healthy windows after a rollback (runbook verification "Monitor for 5-10
    /// minutes", scaled to a drill). Default 2.
    recovery_windows: u32 = 2, count;
}

fn pct(c: &mut Checker, at: &KeyPath, v: f64) {
    c.check(v.is_finite() && v > 0.0 && v <= 100.0, at, || {
        format!("{v} is not a percentage; use a number in (0, 100]")
    });
}

fn ms(c: &mut Checker, at: &KeyPath, v: f64) {
    c.check(v.is_finite() && v > 0.0, at, || format!("{v} ms is not a latency; use a number of milliseconds > 0"));
}

fn fps(c: &mut Checker, at: &KeyPath, v: f64) {
    c.check(v.is_finite() && v > 0.0 && v <= 1000.0, at, || {
        format!("{v} is not a frame rate; use a number in (0, 1000]")
    });
}

fn positive(c: &mut Checker, at: &KeyPath, v: f64) {
    c.check(v.is_finite() && v > 0.0, at, || format!("{v} must be a number > 0"));
}

fn any(_: &mut Checker, _: &KeyPath, _: u64) {}

fn duration(c: &mut Checker, at: &KeyPath, v: Duration) {
    c.check(!v.is_zero(), at, || "must be longer than 0; write e.g. \"5s\"".to_owned());
}

fn count(c: &mut Checker, at: &KeyPath, v: u32) {
    c.check(v >= 1, at, || "must be at least 1".to_owned());
}

impl Thresholds {
    /// Range checks per value, then the orderings the bands rely on (checked on the resolved values, so overriding
    /// one end of a band cannot silently cross the default at the other end).
    pub(super) fn check(&self, c: &mut Checker, at: &KeyPath) {
        self.check_ranges(c, at);
        let l = self.resolve();
        let bands: [(&str, f64, &str, f64); 5] = [
            ("error_rate_pct", l.error_rate_pct, "error_p1_pct", l.error_p1_pct),
            ("p95_ms", l.p95_ms, "slow_p2_ms", l.slow_p2_ms),
            ("slow_p2_ms", l.slow_p2_ms, "slow_p1_ms", l.slow_p1_ms),
            ("disk_warn_pct", l.disk_warn_pct, "disk_p2_pct", l.disk_p2_pct),
            ("disk_p2_pct", l.disk_p2_pct, "disk_p1_pct", l.disk_p1_pct),
        ];
        for (low, lv, high, hv) in bands {
            c.check(lv < hv, &at.key(high), || format!("{high} ({hv}) must be greater than {low} ({lv})"));
        }
        c.check(l.fps_p5 <= l.fps_median, &at.key("fps_p5"), || {
            format!("fps_p5 ({}) must not exceed fps_median ({})", l.fps_p5, l.fps_median)
        });
    }
}
