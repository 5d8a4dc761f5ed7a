//! `summary.md`: the verdict and a table per phase, short enough for a GitHub job summary or a PR comment.

use std::fmt::Write as _;
use std::io::Write;

use super::Report;
use super::words::{self, ms};

/// Table cells must not break the table: pipes escaped, newlines flattened.
pub(super) fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// Write `summary.md`, headed by the same headline the console prints (and a comment carrying the run id, so a
/// tool updating a PR comment can tell runs apart).
pub fn render_summary(report: &Report, w: &mut dyn Write) -> anyhow::Result<()> {
    let mut m = String::new();
    let _ = writeln!(m, "<!-- spacetime-drill run {} -->", report.run_id);
    let _ = writeln!(m, "## spacetime-drill: {}\n", cell(&report.scenario.name));
    let _ = writeln!(m, "**{}**\n", words::headline(report));
    if report.target.insecure {
        let _ = writeln!(m, "**{}**\n", super::INSECURE);
    }
    for r in &report.outcome.reasons {
        let _ = writeln!(m, "- {}", cell(r));
    }
    if !report.outcome.reasons.is_empty() {
        m.push('\n');
    }
    let _ = writeln!(
        m,
        "{:.1} s against {}{}, started {}.\n",
        report.duration_s,
        report.target.url,
        if report.target.embedded { " (embedded simulator)" } else { "" },
        report.started_at
    );
    if let Some(v) = &report.verdict {
        for f in &v.faults {
            let ttd = f.detections.first().map_or_else(
                || "not detected".into(),
                |d| format!("{} {} detected in {:.1} s", d.incident, d.severity, d.after_s),
            );
            let ttr =
                f.time_to_recover().map_or_else(|| "did not recover".into(), |t| format!("recovered in {t:.1} s"));
            let _ = writeln!(m, "- fault `{}`: {ttd}; {ttr}", cell(&f.name));
        }
        if !v.faults.is_empty() {
            m.push('\n');
        }
    }
    if !report.expectations.is_empty() {
        m.push_str("| expectation | result | measured | wanted |\n|---|---|---|---|\n");
        for e in &report.expectations {
            let result = if e.passed { "✅ pass" } else { "❌ FAIL" };
            let _ = writeln!(m, "| {} | {result} | {} | {} |", cell(&e.name), cell(&e.measured), cell(&e.wanted));
        }
        m.push('\n');
    }
    let queries = super::queries::prepare(report);
    for p in &report.phases {
        let fps = p.fps.map_or_else(|| "-".into(), |f| format!("{:.1}", f.median));
        let _ = writeln!(
            m,
            "### {}\n\n{:.1} s, {:.1} req/s, median FPS {fps}\n\n\
             | endpoint | count | error % | p50 ms | p95 ms | p99 ms | max ms |\n|---|---:|---:|---:|---:|---:|---:|",
            cell(&p.name),
            p.duration_s,
            p.rate
        );
        let rows = p.endpoints.iter().map(|e| (e.endpoint.path(), e.requests, e.error_rate_pct, e.latency_ms));
        for (name, count, err, lat) in rows.chain([("all", p.requests, p.error_rate_pct, p.latency_ms)]) {
            let _ = writeln!(
                m,
                "| {name} | {count} | {err:.2} | {} | {} | {} | {} |",
                ms(lat, |p| p.p50),
                ms(lat, |p| p.p95),
                ms(lat, |p| p.p99),
                ms(lat, |p| p.max)
            );
        }
        let asked = super::queries::markdown_table(&queries, &p.name);
        if !asked.is_empty() {
            let _ = write!(m, "\n{asked}");
        }
        let failed: Vec<String> = report
            .verdict
            .iter()
            .flat_map(|v| &v.phases)
            .filter(|v| v.name == p.name)
            .flat_map(|v| v.checks.iter().filter(|c| c.failed()).map(words::check))
            .collect();
        if !failed.is_empty() {
            let _ = writeln!(m, "\nFailed checks: {}", cell(&failed.join("; ")));
        }
        m.push('\n');
    }
    w.write_all(m.as_bytes())?;
    Ok(())
}
