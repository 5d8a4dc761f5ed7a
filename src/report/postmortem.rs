//! `postmortem.md`: the runbook's post-mortem template ("Post-Incident Review"), with everything a measurement can
//! say filled in (timeline, root cause from the faults injected, impact from the measured figures) and the parts
//! only a person can write left as marked prompts, so a game day's review starts from facts, not from memory.

use std::fmt::Write as _;
use std::io::Write;

use chrono::{DateTime, Duration};

use super::Report;
use super::markdown::cell;
use super::timeline::{describe, fault_windows, judged};
use super::words::at;
use crate::record::{EventKind, Hist};

/// What marks a part only a person can write; reviewers search for it.
pub const PROMPT: &str = "✍️ TO BE WRITTEN BY A PERSON:";

fn prompt(what: &str) -> String {
    format!("\n> {PROMPT} {what}\n")
}

/// Timeline rows `(t, text)` in time order: the faults and probe-visible changes from the event log, and the
/// verdict's detections, severity changes and recoveries.
fn timeline(report: &Report) -> Vec<(f64, String)> {
    let mut rows: Vec<(f64, String)> = report
        .record
        .events
        .iter()
        .filter(|e| {
            matches!(
                e.kind,
                EventKind::FaultInjected { .. }
                    | EventKind::FaultRolledBack { .. }
                    | EventKind::FaultFailed { .. }
                    | EventKind::ServiceStateChanged { .. }
                    | EventKind::StatusReachable { .. }
                    | EventKind::FirstError { .. }
            )
        })
        .map(|e| (e.t, describe(&e.kind)))
        .collect();
    rows.extend(judged(report.verdict.as_ref()));
    // The host of every probe series, from the start: the detections below may be judged on what it measured.
    let mut hosts: std::collections::BTreeMap<&str, Vec<&str>> = std::collections::BTreeMap::new();
    for (series, host) in &report.record.probe_hosts {
        hosts.entry(host).or_default().push(series);
    }
    for (host, series) in hosts {
        rows.push((0.0, format!("probe samples of {} measured on host {host}", series.join(", "))));
    }
    rows.sort_by(|a, b| a.0.total_cmp(&b.0));
    rows
}

/// The measured impact over `[from, to)`: requests, errors, p95 (from the per-second histograms, merged exactly).
fn impact(report: &Report, from: f64, to: f64) -> (u64, u64, Option<f64>) {
    let mut hist = Hist::coarse();
    let (mut requests, mut errors) = (0, 0);
    for s in report.record.seconds.iter().filter(|s| f64::from(s.t) + 1.0 > from && f64::from(s.t) < to) {
        for e in &s.endpoints {
            requests += e.count;
            errors += e.errors;
            hist.add(&e.latency.expand());
        }
    }
    (requests, errors, hist.quantile(0.95).map(|us| us as f64 / 1000.0))
}

/// Write `postmortem.md`: times are run-relative, with the UTC clock time beside them when `started_at` parses;
/// what only a person can write is marked with [`PROMPT`].
pub fn render_postmortem(report: &Report, w: &mut dyn Write) -> anyhow::Result<()> {
    let start = DateTime::parse_from_rfc3339(&report.started_at).ok();
    let clock = |t: f64| {
        let wall = start
            .and_then(|s| s.checked_add_signed(Duration::try_milliseconds((t * 1000.0) as i64)?))
            .map(|s| format!(" ({} UTC)", s.format("%H:%M:%S")));
        format!("{}{}", at(t), wall.unwrap_or_default())
    };
    let v = report.verdict.as_ref();
    let seen: Vec<String> = v.map(|v| v.seen().iter().map(|(i, _)| i.to_string()).collect()).unwrap_or_default();
    let faults = fault_windows(&report.record);
    let detected = v.and_then(|v| v.faults.iter().flat_map(|f| &f.detections).map(|d| d.at_s).reduce(f64::min));
    let recovered =
        v.and_then(|v| v.faults.iter().filter_map(|f| f.recovery.as_ref()).map(|r| r.at_s).reduce(f64::max));
    let end = report.duration_s;
    let (from, to) = match (faults.first(), faults.iter().map(|f| f.to.unwrap_or(end)).reduce(f64::max)) {
        (Some(first), Some(last)) => (first.from, recovered.unwrap_or(last).max(last)),
        _ => (0.0, end),
    };

    let mut m = String::new();
    let _ = writeln!(m, "<!-- spacetime-drill run {} -->", report.run_id);
    let _ = writeln!(m, "# Incident Post-Mortem\n");
    let _ = writeln!(m, "**Drill outcome:** {}  ", cell(&super::words::headline(report)));
    let title = if seen.is_empty() { "no runbook incident seen".to_string() } else { seen.join(", ") };
    let _ = writeln!(m, "**Incident:** {} (drill `{}`)  ", cell(&title), cell(&report.scenario.name));
    if report.target.insecure {
        let _ = writeln!(m, "**{}**  ", super::INSECURE);
    }
    let _ = writeln!(
        m,
        "**Date:** {}  ",
        start.map_or_else(|| report.started_at.clone(), |s| s.format("%Y-%m-%d").to_string())
    );
    let duration = match (detected, recovered) {
        (Some(d), Some(r)) => format!("{:.1} s from detection ({}) to recovery ({})", r - d, at(d), at(r)),
        (Some(d), None) => format!("detected at {}, not recovered before the run ended", at(d)),
        _ => "no detection".into(),
    };
    let _ = writeln!(m, "**Duration:** {duration}  ");
    let _ = writeln!(m, "**Severity:** {}  ", v.and_then(|v| v.worst).map_or_else(|| "none".into(), |s| s.to_string()));
    let _ = writeln!(m, "**Responders:** {PROMPT} who took part in the drill\n");

    let _ = writeln!(m, "## Summary\n");
    let injected: Vec<String> = faults.iter().map(|f| format!("`{}` at {}", f.name, at(f.from))).collect();
    let _ = writeln!(
        m,
        "Drill `{}` injected {}. The harness saw: {}. {}.",
        report.scenario.name,
        if injected.is_empty() { "no fault".into() } else { injected.join(", ") },
        title,
        duration
    );
    m.push_str(&prompt("two or three sentences in your own words: what users would have seen and how it ended."));

    let _ = writeln!(m, "\n## Timeline\n\n| Time | Event |\n|------|-------|");
    for (t, text) in timeline(report) {
        let _ = writeln!(m, "| {} | {} |", clock(t), cell(&text));
    }

    let _ = writeln!(m, "\n## Root Cause\n");
    for e in &report.record.events {
        if let EventKind::FaultInjected { fault, detail } = &e.kind {
            let _ = writeln!(m, "- Injected fault `{fault}` at {}: {detail}", at(e.t));
        }
    }
    m.push_str(&prompt("how the injected fault maps to a real-world cause, and why the service reacted as it did."));

    let (requests, errors, p95) = impact(report, from, to);
    let rate = if requests == 0 { 0.0 } else { errors as f64 * 100.0 / requests as f64 };
    let _ = writeln!(
        m,
        "\n## Impact\n\nMeasured from {} to {}:\n\n\
         - **User Impact:** error rate {rate:.2} % ({errors} of {requests} requests failed), p95 latency {}\n\
         - **Duration:** {:.1} s\n- **Affected Users:** {errors} requests affected\n\
         - **Data Loss:** {PROMPT} yes/no, details\n- **Revenue Impact:** {PROMPT} if applicable",
        at(from),
        at(to),
        p95.map_or_else(|| "not measured".into(), |p| format!("{p:.1} ms")),
        to - from,
    );

    let _ = writeln!(m, "\n## What Went Well\n");
    m.push_str(&prompt("what worked during the response: tools, alerts, decisions."));
    let _ = writeln!(m, "\n## What Went Wrong\n");
    for e in &report.errors {
        let _ = writeln!(m, "- Harness error: {}", cell(e));
    }
    for e in report.expectations.iter().filter(|e| !e.passed) {
        let _ = writeln!(m, "- Expectation `{}` broken: measured {}, wanted {}", e.name, e.measured, e.wanted);
    }
    m.push_str(&prompt("issues, delays, gaps in monitoring or documentation."));
    let _ = writeln!(
        m,
        "\n## Action Items\n\n| Action | Owner | Due Date | Status |\n|--------|-------|----------|--------|"
    );
    let _ = writeln!(m, "| {PROMPT} action | owner | date | Open |\n");
    let _ = writeln!(m, "## Lessons Learned\n");
    m.push_str(&prompt("key takeaways, process and technical improvements."));
    let _ = writeln!(m, "\n## Prevention\n");
    m.push_str(&prompt("steps taken to prevent recurrence."));
    w.write_all(m.as_bytes())?;
    Ok(())
}
