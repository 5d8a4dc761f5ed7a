//! After the run: the runbook verdict, the scenario's expectations, the events they add to the log, the stdout
//! summary a person reads, and the exit code CI reads.
//!
//! Thresholds: the scenario's `[thresholds]` names ([`Limits`]) are the one list a user writes; [`profile`] maps
//! them onto the judge's [`Profile`] here and nowhere else. Judge parameters that have no scenario name
//! (`min_requests`, the auth and scene shares, the leak fit) keep the judge's defaults.

use std::fmt::Write;

use crate::judge::{self, CheckResult, Profile, Verdict};
use crate::record::Record;
use crate::scenario::{Limits, Scenario};

/// Judge `record` against the scenario and add the verdict's detections, recoveries and severity changes to its
/// event log (kept in time order). `memory_limit_mb` is the host's memory for a local target.
pub fn judge(scenario: &Scenario, record: &mut Record, memory_limit_mb: Option<f64>) -> (Verdict, Vec<CheckResult>) {
    let spans = judge::fault_spans(&record.events);
    let run = judge::run_from_record(record, &spans, memory_limit_mb);
    let verdict = judge::judge(&run, &profile(&scenario.file.thresholds.resolve()));
    let expectations = scenario.file.expect.as_ref().map(|e| judge::check(e, &verdict)).unwrap_or_default();
    record.events.extend(verdict.events());
    record.events.sort_by(|a, b| a.t.total_cmp(&b.t));
    (verdict, expectations)
}

/// The scenario's thresholds as the judge's profile.
pub fn profile(l: &Limits) -> Profile {
    let d = Profile::default();
    Profile {
        window_s: l.window.as_secs_f64().ceil().max(1.0) as u32,
        consecutive_windows: l.consecutive_windows,
        recovery_windows: l.recovery_windows,
        healthy_error_rate_pct: l.error_rate_pct,
        error_rate_p2_pct: l.error_rate_pct,
        error_rate_p1_pct: l.error_p1_pct,
        unresponsive_pct: l.unresponsive_pct,
        healthy_p95_ms: l.p95_ms,
        healthy_status_avg_ms: l.status_avg_ms,
        slow_p95_p2_ms: l.slow_p2_ms,
        slow_p95_p1_ms: l.slow_p1_ms,
        // The P3 band sits between healthy and P2; it must stay inside it when either end is overridden.
        slow_p95_p3_ms: d.slow_p95_p3_ms.clamp(l.p95_ms, l.slow_p2_ms),
        fps_p5_min: l.fps_p5,
        fps_median_min: l.fps_median,
        healthy_disk_pct: l.disk_warn_pct,
        disk_p3_pct: l.disk_warn_pct,
        disk_p2_pct: l.disk_p2_pct,
        disk_p1_pct: l.disk_p1_pct,
        leak_slope_mb_per_min: l.memory_growth_mb_per_min,
        memory_limit_mb: (l.memory_limit_mb > 0).then_some(l.memory_limit_mb as f64),
        leak_p1_hours: l.memory_exhaust_p1.as_secs_f64() / 3600.0,
        ..d
    }
}

/// This host's memory in MB (`MemTotal` in `/proc/meminfo`): what a leak in a local target would exhaust.
pub fn host_memory_mb() -> Option<f64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// One line per phase (what was seen and why it passed or failed), then one per expectation. Detections and
/// recoveries are told in the phase they happened in (`record` gives the phase times).
pub fn summary(verdict: &Verdict, expectations: &[CheckResult], record: &Record) -> String {
    let phase_at = |t: f64| record.phases.iter().rposition(|p| p.started.is_some_and(|s| s <= t));
    let mut out = String::new();
    for (i, p) in verdict.phases.iter().enumerate() {
        let detections: Vec<_> = verdict.faults.iter().flat_map(|f| &f.detections).collect();
        let mut parts: Vec<String> = p
            .incidents
            .iter()
            .map(|f| {
                let evidence: Vec<String> = f.evidence.iter().map(ToString::to_string).collect();
                let detected = detections
                    .iter()
                    .find(|d| d.incident == f.incident && phase_at(d.at_s) == Some(i))
                    .map(|d| format!(" detected in {:.1}s", d.after_s))
                    .unwrap_or_default();
                format!("{} {} ({}){detected}", f.incident, f.severity, evidence.join("; "))
            })
            .collect();
        let recoveries = verdict.faults.iter().filter_map(|f| f.recovery.as_ref().map(|r| (f, r)));
        for (f, r) in recoveries.filter(|(_, r)| phase_at(r.at_s) == Some(i)) {
            parts.push(format!("{} rolled back, healthy after {:.1}s", f.name, r.after_s));
        }
        let failed: Vec<String> = p
            .checks
            .iter()
            .filter(|c| c.failed())
            .map(|c| {
                format!("{} {:.1} (want {} {})", c.name, c.measured.unwrap_or(f64::NAN), c.cmp.symbol(), c.threshold)
            })
            .collect();
        if !failed.is_empty() {
            parts.push(format!("checks failed: {}", failed.join(", ")));
        }
        let head = if p.healthy { "healthy" } else { "NOT healthy" };
        let _ = writeln!(out, "{}: {head}{}{}", p.name, if parts.is_empty() { "" } else { ": " }, parts.join("; "));
    }
    for e in expectations {
        let verdict = if e.passed { "PASS" } else { "FAIL" };
        let _ = writeln!(out, "{verdict} {} = {} (measured {})", e.name, e.wanted, e.measured);
    }
    out
}
