//! After the run: the runbook verdict, the scenario's expectations, the events they add to the log, the stdout
//! summary a person reads, and the exit code CI reads.

use std::fmt::Write;

use crate::judge::{self, CheckResult, Verdict};
use crate::record::Record;
use crate::scenario::Scenario;

/// Judge `record` against the scenario and add the verdict's detections, recoveries and severity changes to its
/// event log (kept in time order). `memory_limit_mb` is the host's memory for a local target.
pub fn judge(scenario: &Scenario, record: &mut Record, memory_limit_mb: Option<f64>) -> (Verdict, Vec<CheckResult>) {
    let spans = judge::fault_spans(&record.events);
    let mut run = judge::run_from_record(record, &spans, memory_limit_mb);
    run.queries = crate::probe::prometheus::checks(&scenario.file.probe);
    let verdict = judge::judge(&run, &scenario.file.thresholds.resolve());
    let expectations = scenario.file.expect.as_ref().map(|e| judge::check(e, &verdict)).unwrap_or_default();
    record.events.extend(verdict.events());
    record.events.sort_by(|a, b| a.t.total_cmp(&b.t));
    (verdict, expectations)
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
