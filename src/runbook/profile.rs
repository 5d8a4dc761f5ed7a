//! The runbook's numbers, in one place: every threshold the judge uses, its default and where it comes from.
//!
//! The `profile!` list below is the only list of them. It derives the resolved [`Profile`] the judge reads (and a
//! report prints, so it shows the numbers it was judged by) and the scenario's `[thresholds]` table, [`Thresholds`],
//! which may override any of them by the same name. Every entry cites the section of `RUNBOOK_INCIDENT_RESPONSE.md`
//! it comes from; where the runbook is vague or contradicts itself, the doc comment records the decision taken.
//! Shares are in percent and latencies in milliseconds, as the runbook writes them.

use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Incident;

macro_rules! profile {
    ($( $(#[$meta:meta])* $name:ident: $ty:ty = $default:expr, $check:ident; )*) => {
        /// The thresholds a run is judged by: the runbook's defaults under a scenario's overrides.
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
        #[serde(default, deny_unknown_fields)]
        pub struct Profile {
            $( $(#[$meta])* pub $name: $ty, )*
        }

        impl Default for Profile {
            fn default() -> Self {
                Self { $( $name: $default, )* }
            }
        }

        /// `[thresholds]`: overrides of the runbook's default thresholds; every field is optional.
        #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
        #[serde(deny_unknown_fields)]
        pub struct Thresholds {
            $( $(#[$meta])* #[serde(default, skip_serializing_if = "Option::is_none")]
               pub $name: Option<$ty>, )*
        }

        impl Thresholds {
            /// The profile a run is judged by: each override, or the runbook default.
            pub fn resolve(&self) -> Profile {
                let d = Profile::default();
                Profile { $( $name: self.$name.unwrap_or(d.$name), )* }
            }
        }

        impl Profile {
            fn range_problems(&self, out: &mut Vec<Problem>) {
                $( if let Err(message) = $check(self.$name) {
                    out.push(Problem { key: stringify!($name), message });
                } )*
            }
        }
    };
}

profile! {
    /// Length of the sliding windows every rule is judged on, whole seconds. The runbook's queries use
    /// `rate(...[5m])`; a drill lasts a minute, so 5 s: long enough for a p95 over a few hundred requests, short
    /// enough to detect in seconds. Default "5s".
    #[serde(with = "humantime_serde")]
    #[schemars(with = "String")]
    window: Duration = Duration::from_secs(5), whole_seconds;
    /// Windows slide by this much, so detection is resolved to the second. Default "1s".
    #[serde(with = "humantime_serde")]
    #[schemars(with = "String")]
    step: Duration = Duration::from_secs(1), whole_seconds;
    /// Incidents 2-7 fire only after this many consecutive windows break them, so one slow request never pages
    /// anyone. Default 1 (a 5 s window already smooths single requests; raise it for noisy targets).
    consecutive_windows: u32 = 1, count;
    /// Incident 1 fires after this many: a dead API is unambiguous and P0 ("Immediately page on-call engineer").
    /// Default 1.
    consecutive_windows_unresponsive: u32 = 1, count;
    /// Recovered = this many consecutive healthy windows after a rollback (runbook verification "Monitor for 5-10
    /// minutes", scaled to a drill). Default 2.
    recovery_windows: u32 = 2, count;
    /// A rate rule (Incidents 2, 4, 5) needs at least this many requests in its denominator; fewer is no evidence.
    /// Default 5.
    min_requests: u32 = 5, count;

    /// Incident 1 (P0), "All requests timeout". Decision: a second is down when at least this percent of its
    /// requests got no HTTP answer (refused, reset, closed, timed out) and no `/status` probe in it was answered;
    /// "nearly all" = 95 %, so requests that slip through a restart do not hide an outage. Default 95.
    unresponsive_pct: f64 = 95.0, pct;

    /// Healthy: error rate below this, in percent of requests. Runbook Incident 2, verification "Expected: < 0.01
    /// (1%)"; also where severity P2 "Error rate 1-5%" starts (1 % itself is not healthy, so it is P2). Default 1.
    error_rate_pct: f64 = 1.0, pct;
    /// Incident 2 is P1 above this error rate, in percent. Severity P1 "API error rate > 5%". Default 5.
    error_p1_pct: f64 = 5.0, pct;

    /// Healthy: p95 latency below this, in ms. Runbook Incident 3, verification 2 "Expected: < 0.2 (200ms)". The p95
    /// is over all endpoints, as the runbook's `histogram_quantile(0.95, ...)` is, of the latency from the intended
    /// send time. Default 200.
    p95_ms: f64 = 200.0, ms;
    /// Healthy: mean `/status` latency below this, in ms, from the `/status` probes as the runbook's curl loop.
    /// Runbook Incident 3, verification 1 "Expected: < 100ms". Default 100.
    status_avg_ms: f64 = 100.0, ms;
    /// Incident 3 is P3 when p95 exceeds this, in ms (kept between `p95_ms` and `slow_p2_ms`). The P2 examples name
    /// "Response times 300-500ms", contradicting Incident 3's "> 500ms": decision, the incident's own line wins for
    /// P2 and 300-500 ms is the severity table's P3 "Minor performance issue". Default 300.
    slow_p3_ms: f64 = 300.0, ms;
    /// Incident 3 is P2 when p95 exceeds this, in ms. Runbook Incident 3 "P2 - Medium (if > 500ms)". Default 500.
    slow_p2_ms: f64 = 500.0, ms;
    /// Incident 3 is P1 when p95 exceeds this, in ms. Severity P1 "Response times > 1 second". Default 1000.
    slow_p1_ms: f64 = 1000.0, ms;
    /// FPS is "stable at 90" (runbook Incident 3, verification 4) when the 5th percentile of the per-second minimum
    /// FPS is at least this. Decision: 85, the contract's own alert level. Default 85.
    fps_p5: f64 = 85.0, fps;
    /// ... and the median of the per-second mean FPS is at least this. Decision: 88 (2 % under the 90 Hz target).
    /// Default 88.
    fps_median: f64 = 88.0, fps;
    /// Incident 3 step 4, "Expected FPS: 90. If FPS < 90, Godot is struggling" (RUNBOOK_INCIDENT_RESPONSE.md lines
    /// 787-788): a median FPS below this is added to a slow-responses finding as evidence. Default 90.
    fps_target: f64 = 90.0, fps;
    /// Incident 3 from FPS alone, P2: the median of a window's per-second mean FPS below this. The contract's alert
    /// "FPS dropped below 85" (spacetime-api.md line 70; "alerts at ... FPS < 85", line 79): the service pages at it,
    /// so for this VR service it is a performance incident whether or not HTTP latency moved, and P2 is the runbook's
    /// "Performance degraded but functional" (line 105). Default 85.
    fps_alert: f64 = 85.0, fps;
    /// ... P1 below this: half the 90 FPS target (line 787), the runbook's P1 "Significant performance degradation"
    /// (line 78). Default 45.
    fps_p1: f64 = 45.0, fps;
    /// FPS must be below `fps_alert` for this many consecutive windows before it is an incident, so one frame hitch
    /// (a GC pause, a scene load) never pages anyone. Default 2.
    fps_windows: u32 = 2, count;

    /// Incident 4 is P1 "if all auth failing". Decision: "all" = at least this percent of requests got 401.
    /// Default 95.
    auth_all_pct: f64 = 95.0, pct;
    /// Incident 4 is P2 "if intermittent". Decision: intermittent = at least this percent of 401s (the healthy error
    /// budget; below it is noise). Default 1.
    auth_some_pct: f64 = 1.0, pct;

    /// Incident 5 is P1 "if all scenes fail". Decision: "all" = at least this percent of answered `/scene/load`
    /// requests failed. Default 95.
    scene_all_pct: f64 = 95.0, pct;
    /// Incident 5 is P2 "if specific scenes". The judge does not see which scene a request loaded, so decision: more
    /// than this percent of scene loads failing (one bad scene among a few is far above it). Default 5.
    scene_some_pct: f64 = 5.0, pct;

    /// Incident 6 (P2), "Memory usage continuously growing": resident memory growing faster than this, MB per
    /// minute, fitted by least squares. The runbook gives no number (its example, 0.7 GB/h, is about 11.7 MB/min);
    /// decision: 10. Default 10.
    memory_growth_mb_per_min: f64 = 10.0, positive;
    /// The growth is fitted over the trailing window of this length. Default "30s".
    #[serde(with = "humantime_serde")]
    #[schemars(with = "String")]
    leak_window: Duration = Duration::from_secs(30), whole_seconds;
    /// ... from at least this many resident-memory samples. Default 10.
    leak_min_points: u32 = 10, count;
    /// ... and counts when the fit explains at least this share of the variance (R²), so noise and one-off steps are
    /// not leaks. Default 0.8.
    leak_min_r2: f64 = 0.8, share;
    /// Memory limit the leak is projected against, in MB; 0 = the host's memory as the run measured it. Runbook
    /// Incident 6. Default 0.
    memory_limit_mb: f64 = 0.0, non_negative;
    /// Incident 6 escalates to P1 "if OOM imminent". Decision: imminent = the fitted growth reaches the memory limit
    /// sooner than this (the runbook's P1 response time). Default "1h".
    #[serde(with = "humantime_serde")]
    #[schemars(with = "String")]
    memory_exhaust_p1: Duration = Duration::from_secs(3600), non_zero;

    /// Healthy: disk usage below this, in percent; above it a P3 warning. Runbook Incident 7, verification "Expected:
    /// < 80% used", and prevention "Add disk space alerts (at 80%, 85%, 90%)". Default 80.
    disk_warn_pct: f64 = 80.0, pct;
    /// Incident 7 is P2 above this disk usage, in percent. Runbook Incident 7 "P2 - Medium (if > 85%)". Default 85.
    disk_p2_pct: f64 = 85.0, pct;
    /// Incident 7 is P1 above this disk usage, in percent. Runbook Incident 7 "P1 - High (if > 95%)". Default 95.
    disk_p1_pct: f64 = 95.0, pct;

    /// Healthy: CPU use below this, in percent (of one core for a process, of all cores for a host), on every
    /// sample. Runbook Incident 2 verification step 4 "Resource usage normal ... Expected: CPU < 50%". Judged only
    /// when a CPU probe ran. Default 50.
    cpu_pct: f64 = 50.0, pct;
}

/// A threshold that cannot be judged by: its name and what is wrong, with the fix.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub(crate) key: &'static str,
    pub(crate) message: String,
}

impl Profile {
    /// Every value out of its range, then every band whose ends cross (checked on resolved values, so overriding
    /// one end of a band cannot silently cross the default at the other end).
    pub fn problems(&self) -> Vec<Problem> {
        let mut out = Vec::new();
        self.range_problems(&mut out);
        let bands = [
            ("error_rate_pct", self.error_rate_pct, "error_p1_pct", self.error_p1_pct),
            ("p95_ms", self.p95_ms, "slow_p2_ms", self.slow_p2_ms),
            ("slow_p2_ms", self.slow_p2_ms, "slow_p1_ms", self.slow_p1_ms),
            ("auth_some_pct", self.auth_some_pct, "auth_all_pct", self.auth_all_pct),
            ("scene_some_pct", self.scene_some_pct, "scene_all_pct", self.scene_all_pct),
            ("disk_warn_pct", self.disk_warn_pct, "disk_p2_pct", self.disk_p2_pct),
            ("disk_p2_pct", self.disk_p2_pct, "disk_p1_pct", self.disk_p1_pct),
            ("fps_p1", self.fps_p1, "fps_alert", self.fps_alert),
        ];
        for (low, lv, high, hv) in bands {
            if lv >= hv {
                out.push(Problem { key: high, message: format!("{high} ({hv}) must be greater than {low} ({lv})") });
            }
        }
        if self.fps_p5 > self.fps_median {
            let message = format!("fps_p5 ({}) must not exceed fps_median ({})", self.fps_p5, self.fps_median);
            out.push(Problem { key: "fps_p5", message });
        }
        out
    }

    /// How many consecutive windows `incident` must hold before it counts (at least one).
    pub fn consecutive(&self, incident: Incident) -> usize {
        let n = match incident {
            Incident::ApiUnresponsive => self.consecutive_windows_unresponsive,
            _ => self.consecutive_windows,
        };
        n.max(1) as usize
    }

    /// The P3 latency band's floor, kept inside the healthy..P2 band when either end is overridden.
    pub fn slow_p3_ms(&self) -> f64 {
        self.slow_p3_ms.clamp(self.p95_ms, self.slow_p2_ms)
    }

    /// The memory a leak is projected against: the override, else what the run measured.
    pub fn memory_limit_mb(&self, measured: Option<f64>) -> Option<f64> {
        if self.memory_limit_mb > 0.0 { Some(self.memory_limit_mb) } else { measured }
    }
}

/// Whole seconds of a window-like duration (at least 1).
pub fn seconds(d: Duration) -> usize {
    (d.as_secs() as usize).max(1)
}

fn pct(v: f64) -> Result<(), String> {
    ok(v.is_finite() && v > 0.0 && v <= 100.0, || format!("{v} is not a percentage; use a number in (0, 100]"))
}

fn ms(v: f64) -> Result<(), String> {
    ok(v.is_finite() && v > 0.0, || format!("{v} ms is not a latency; use a number of milliseconds > 0"))
}

fn fps(v: f64) -> Result<(), String> {
    ok(v.is_finite() && v > 0.0 && v <= 1000.0, || format!("{v} is not a frame rate; use a number in (0, 1000]"))
}

fn positive(v: f64) -> Result<(), String> {
    ok(v.is_finite() && v > 0.0, || format!("{v} must be a number > 0"))
}

fn non_negative(v: f64) -> Result<(), String> {
    ok(v.is_finite() && v >= 0.0, || format!("{v} must be a number, 0 or more"))
}

fn share(v: f64) -> Result<(), String> {
    ok((0.0..=1.0).contains(&v), || format!("{v} is not a share; use a number in [0, 1]"))
}

fn count(v: u32) -> Result<(), String> {
    ok(v >= 1, || "must be at least 1".to_owned())
}

fn non_zero(v: Duration) -> Result<(), String> {
    ok(!v.is_zero(), || "must be longer than 0; write e.g. \"1h\"".to_owned())
}

fn whole_seconds(v: Duration) -> Result<(), String> {
    ok(v.as_secs() >= 1 && v.subsec_nanos() == 0, || {
        "must be a whole number of seconds, 1 or more; write e.g. \"5s\"".to_owned()
    })
}

fn ok(holds: bool, message: impl FnOnce() -> String) -> Result<(), String> {
    if holds { Ok(()) } else { Err(message()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partial_override_keeps_the_other_defaults() {
        let t: Thresholds = toml::from_str("p95_ms = 150.0\nconsecutive_windows = 3\nwindow = \"10s\"").unwrap();
        let p = t.resolve();
        assert_eq!(p.p95_ms, 150.0);
        assert_eq!(seconds(p.window), 10);
        assert_eq!(p.consecutive(Incident::SlowResponses), 3);
        assert_eq!(p.consecutive(Incident::ApiUnresponsive), 1);
        assert_eq!(p.error_p1_pct, Profile::default().error_p1_pct);
        assert!(p.problems().is_empty());
    }

    #[test]
    fn unknown_fields_are_errors() {
        assert!(toml::from_str::<Thresholds>("p95 = 1.0").is_err());
        assert!(toml::from_str::<Profile>("p95 = 1.0").is_err());
    }

    #[test]
    fn the_defaults_are_consistent_and_bad_values_are_named() {
        assert_eq!(Profile::default().problems(), vec![]);
        let t: Thresholds = toml::from_str("error_rate_pct = 150\ndisk_p2_pct = 70\nwindow = \"1500ms\"").unwrap();
        let keys: Vec<&str> = t.resolve().problems().iter().map(|p| p.key).collect();
        assert_eq!(keys, ["window", "error_rate_pct", "error_p1_pct", "disk_p2_pct"]);
    }

    #[test]
    fn the_p3_band_stays_inside_healthy_to_p2() {
        let p = Profile { p95_ms: 400.0, ..Profile::default() };
        assert_eq!(p.slow_p3_ms(), 400.0);
        assert_eq!(Profile::default().memory_limit_mb(Some(512.0)), Some(512.0));
        assert_eq!(Profile { memory_limit_mb: 64.0, ..Profile::default() }.memory_limit_mb(Some(512.0)), Some(64.0));
    }
}
