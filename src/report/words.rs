//! The few phrases every human-facing format shares (the headline, how a number is printed), so the HTML page, the
//! job summary and the post-mortem never word one verdict three ways.

use super::{Percentiles, Report};
use crate::judge::{Check, CheckState};

/// The outcome's word, then what the verdict saw: `FAIL: high_error_rate P1`, `PASS: no incident`,
/// `OBSERVED: slow_responses P2`, `ERROR: no incident`, `INTERRUPTED: not judged`. Every format and the console
/// print this one line.
pub fn headline(report: &Report) -> String {
    let seen = match &report.verdict {
        None => "not judged".to_string(),
        Some(v) => {
            let seen: Vec<String> = v.seen().iter().map(|(i, s)| format!("{i} {s}")).collect();
            if seen.is_empty() { "no incident".into() } else { seen.join(", ") }
        }
    };
    format!("{}: {seen}", report.outcome.conclusion.word())
}

/// The headline and one indented line per reason, as the console prints them after a run or a merge.
pub fn headline_and_reasons(report: &Report) -> String {
    let mut out = format!("{}\n", headline(report));
    for r in &report.outcome.reasons {
        out.push_str(&format!("  - {r}\n"));
    }
    out
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
