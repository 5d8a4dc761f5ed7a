//! The few phrases every human-facing format shares (the headline, how a number is printed), so the HTML page, the
//! job summary and the post-mortem never word one verdict three ways.

use super::{Percentiles, Report, RunStatus};
use crate::judge::{Check, CheckState};

/// The run passed: it completed, and every expectation held (without `[expect]`, every phase check that measured
/// something passed).
pub fn passed(report: &Report) -> bool {
    let judged_ok = if report.expectations.is_empty() {
        report.verdict.as_ref().is_none_or(|v| !v.phases.iter().flat_map(|p| &p.checks).any(Check::failed))
    } else {
        report.expectations.iter().all(|e| e.passed)
    };
    report.status == RunStatus::Completed && judged_ok
}

/// "PASS" or "FAIL", then what the verdict saw: `FAIL: high_error_rate P1`, `PASS: no incident`.
pub fn headline(report: &Report) -> String {
    let verdict = match &report.verdict {
        None if report.status == RunStatus::Interrupted => "interrupted, not judged".to_string(),
        None => "not judged".to_string(),
        Some(v) => {
            let seen: Vec<String> = v.seen().iter().map(|(i, s)| format!("{i} {s}")).collect();
            if seen.is_empty() { "no incident".into() } else { seen.join(", ") }
        }
    };
    let word = match (passed(report), &report.verdict) {
        (false, _) => "FAIL",
        (true, None) if report.expectations.is_empty() => "COMPLETED",
        (true, _) => "PASS",
    };
    format!("{word}: {verdict}")
}

/// Milliseconds with one decimal, `-` when there were no samples.
pub fn ms(p: Option<Percentiles>, f: fn(&Percentiles) -> f64) -> String {
    p.map_or_else(|| "-".into(), |p| format!("{:.1}", f(&p)))
}

/// `-` for nothing, else two decimals.
pub fn num(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{v:.2}"))
}

/// A check as one phrase: `p95_ms 250.1 < 200 fail`.
pub fn check(c: &Check) -> String {
    let state = match c.state {
        CheckState::Pass => "pass",
        CheckState::Fail => "FAIL",
        CheckState::NoData => "no data",
    };
    format!("{} {} {} {} {state}", c.name, num(c.measured), c.cmp.symbol(), c.threshold)
}

/// Seconds since the run started, as the timelines print them.
pub fn at(t: f64) -> String {
    format!("T+{t:.1}s")
}
