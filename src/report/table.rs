//! The per-phase table printed at the end of a run: the figures an engineer scans first.

use std::fmt::Write;

use super::{Percentiles, Report};

fn ms(p: Option<Percentiles>, f: fn(&Percentiles) -> f64) -> String {
    p.map_or_else(|| "-".into(), |p| format!("{:.1}", f(&p)))
}

/// The table as text, one row per phase reached, ending with a newline; `-` where a phase had no requests.
pub fn render_table(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<14} {:>7} {:>8} {:>7} {:>8} {:>8} {:>8} {:>9} {:>6} {:>6} {:>9}",
        "phase", "secs", "requests", "req/s", "errors%", "p50 ms", "p95 ms", "p99 ms", "late", "drop", "fps p5/md"
    );
    for p in &report.phases {
        let fps = p.fps.map_or_else(|| "-".into(), |f| format!("{:.0}/{:.0}", f.p5, f.median));
        let _ = writeln!(
            out,
            "{:<14} {:>7.1} {:>8} {:>7.0} {:>8.2} {:>8} {:>8} {:>9} {:>6} {:>6} {:>9}",
            p.name,
            p.duration_s,
            p.requests,
            p.rate,
            p.error_rate_pct,
            ms(p.latency_ms, |p| p.p50),
            ms(p.latency_ms, |p| p.p95),
            ms(p.latency_ms, |p| p.p99),
            p.late,
            p.dropped,
            fps
        );
        for e in &p.endpoints {
            let kinds: Vec<String> =
                e.outcomes.iter().filter(|(k, _)| k.as_str() != "ok").map(|(k, v)| format!("{k}:{v}")).collect();
            let _ = writeln!(
                out,
                "  {:<16} {:>13} {:>7} {:>8.2} {:>8} {:>8} {:>9}  {}",
                e.endpoint.path(),
                e.requests,
                "",
                e.error_rate_pct,
                ms(e.latency_ms, |p| p.p50),
                ms(e.latency_ms, |p| p.p95),
                ms(e.latency_ms, |p| p.p99),
                kinds.join(" ")
            );
        }
    }
    out
}
