//! `report.html`: one self-contained page for a browser after a staging run or a game day. Everything is inline
//! (CSS, SVG charts); it loads nothing from the network, so it opens the same from a CI artifact or an email.

use std::fmt::Write as _;
use std::io::Write;

use super::words::{self, at, ms};
use super::{EndpointSummary, Percentiles, PhaseSummary, Report, charts, timeline};
use crate::judge::{FaultVerdict, PhaseVerdict, Verdict};

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1100px}\
table{border-collapse:collapse;margin:8px 0 16px}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}\
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}.pass{color:#1a7f37}.fail{color:#cf222e;\
font-weight:bold}.verdict{font-size:1.6em;padding:10px 14px;border-radius:6px;background:#f6f8fa}\
pre{background:#f6f8fa;padding:10px;overflow:auto}figure{margin:0 0 12px}.nodata{color:#777}";

/// HTML-escape text for element content and attribute values.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn mark(ok: bool) -> &'static str {
    if ok { "<span class=pass>pass</span>" } else { "<span class=fail>FAIL</span>" }
}

/// Write the page; a pure function of the report, so `report --format html` on a saved `report.json` gives the page
/// the run wrote.
pub fn render_html(report: &Report, w: &mut dyn Write) -> anyhow::Result<()> {
    let mut h = String::new();
    let name = esc(&report.scenario.name);
    let _ = write!(
        h,
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>{name} — spacetime-drill</title>\
         <meta name=spacetime-drill-run content=\"{}\"><style>{STYLE}</style></head><body><h1>{name}</h1><p>{}started {} · {:.1} s · target {}{} · {} {}</p>",
        esc(&report.run_id),
        report.scenario.file.description.as_deref().map(|d| format!("{} · ", esc(d))).unwrap_or_default(),
        esc(&report.started_at),
        report.duration_s,
        esc(&report.target.url),
        if report.target.embedded { " (embedded simulator)" } else { "" },
        esc(&report.tool.name),
        esc(&report.tool.version),
    );
    let cls = if report.outcome.conclusion.ok() { "pass" } else { "fail" };
    let _ = write!(h, "<p class=\"verdict {cls}\" id=verdict>{}</p>", esc(&words::headline(report)));
    if report.target.insecure {
        let _ = write!(h, "<p class=\"verdict fail\">{}</p>", esc(super::INSECURE));
    }
    if !report.outcome.reasons.is_empty() {
        h.push_str("<ul id=reasons>");
        for r in &report.outcome.reasons {
            let _ = write!(h, "<li>{}</li>", esc(r));
        }
        h.push_str("</ul>");
    }
    if let Some(v) = &report.verdict {
        verdict(&mut h, v);
    }
    expectations(&mut h, report);
    h.push_str("<h2>Phases</h2>");
    for p in &report.phases {
        let pv = report.verdict.as_ref().and_then(|v| v.phases.iter().find(|v| v.name == p.name));
        phase(&mut h, p, pv);
    }
    h.push_str("<h2>Over time</h2>");
    for (title, svg) in charts::render_charts(report)? {
        match svg {
            Some(svg) => {
                let _ = write!(h, "<figure aria-label=\"{}\">{svg}</figure>", esc(&title));
            }
            None => {
                let _ = write!(h, "<p class=nodata>{}: no samples in this run</p>", esc(&title));
            }
        }
    }
    events(&mut h, report);
    let (lang, text) = match toml::to_string_pretty(&report.scenario.file) {
        Ok(t) => ("TOML", t),
        Err(_) => ("JSON", serde_json::to_string_pretty(&report.scenario.file)?),
    };
    let _ = write!(
        h,
        "<h2>Scenario as run</h2><p>{} ({lang})</p><pre>{}</pre></body></html>",
        esc(&report.scenario.path.display().to_string()),
        esc(&text)
    );
    w.write_all(h.as_bytes())?;
    Ok(())
}

fn verdict(h: &mut String, v: &Verdict) {
    let seen = v.seen();
    h.push_str("<h2>Verdict</h2><table><tr><th>incident</th><th>worst severity</th></tr>");
    if seen.is_empty() {
        h.push_str("<tr><td>none</td><td>-</td></tr>");
    }
    for (i, s) in seen {
        let _ = write!(h, "<tr><td>{i}</td><td>{s}</td></tr>");
    }
    h.push_str("</table>");
    if v.faults.is_empty() {
        return;
    }
    h.push_str(
        "<table><tr><th>fault</th><th>injected</th><th>rolled back</th><th>detected</th><th>time to detect</th>\
         <th>time to recover</th></tr>",
    );
    for f in &v.faults {
        fault_row(h, f);
    }
    h.push_str("</table>");
}

fn fault_row(h: &mut String, f: &FaultVerdict) {
    let detected: Vec<String> = f.detections.iter().map(|d| format!("{} {}", d.incident, d.severity)).collect();
    let ttd = f.detections.first().map(|d| format!("{:.1} s", d.after_s)).unwrap_or_else(|| "not detected".into());
    let ttr = f.time_to_recover().map(|t| format!("{t:.1} s")).unwrap_or_else(|| "did not recover".into());
    let _ = write!(
        h,
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{ttd}</td><td>{ttr}</td></tr>",
        esc(&f.name),
        at(f.injected_s),
        f.rolled_back_s.map_or_else(|| "held to the end".into(), at),
        esc(&detected.join(", ")),
    );
}

fn expectations(h: &mut String, report: &Report) {
    if report.expectations.is_empty() {
        return;
    }
    h.push_str(
        "<h2>Expectations</h2><table><tr><th>expectation</th><th>result</th><th>measured</th><th>wanted</th></tr>",
    );
    for e in &report.expectations {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&e.name),
            mark(e.passed),
            esc(&e.measured),
            esc(&e.wanted)
        );
    }
    h.push_str("</table>");
}

fn cells(p: Option<Percentiles>) -> String {
    let f: [fn(&Percentiles) -> f64; 4] = [|p| p.p50, |p| p.p95, |p| p.p99, |p| p.max];
    f.iter().map(|f| format!("<td>{}</td>", ms(p, *f))).collect()
}

fn endpoint_row(
    h: &mut String,
    label: &str,
    requests: u64,
    error_pct: f64,
    lat: Option<Percentiles>,
    svc: Option<Percentiles>,
) {
    let _ = write!(
        h,
        "<tr><td>{}</td><td>{requests}</td><td>{error_pct:.2}</td>{}{}</tr>",
        esc(label),
        cells(lat),
        cells(svc)
    );
}

fn phase(h: &mut String, p: &PhaseSummary, pv: Option<&PhaseVerdict>) {
    let fps = p.fps.map_or_else(|| "-".into(), |f| format!("p5 {:.1} / median {:.1}", f.p5, f.median));
    let _ = write!(
        h,
        "<h3>{}</h3><p>{:.1} s · {:.1} req/s · late {} · dropped {} · FPS {fps}</p>\
         <table><tr><th rowspan=2>endpoint</th><th rowspan=2>count</th><th rowspan=2>error %</th>\
         <th colspan=4>latency from intended send, ms</th><th colspan=4>service time, ms</th></tr>\
         <tr><th>p50</th><th>p95</th><th>p99</th><th>max</th><th>p50</th><th>p95</th><th>p99</th><th>max</th></tr>",
        esc(&p.name),
        p.duration_s,
        p.rate,
        p.late,
        p.dropped
    );
    for EndpointSummary { endpoint, requests, error_rate_pct, latency_ms, service_ms, .. } in &p.endpoints {
        endpoint_row(h, endpoint.path(), *requests, *error_rate_pct, *latency_ms, *service_ms);
    }
    endpoint_row(h, "all", p.requests, p.error_rate_pct, p.latency_ms, p.service_ms);
    h.push_str("</table>");
    if let Some(pv) = pv {
        let _ = write!(h, "<p>Runbook checks from {}:</p><ul>", at(pv.checks_from_s));
        for c in &pv.checks {
            let _ = write!(h, "<li>{}</li>", esc(&words::check(c)));
        }
        for f in &pv.incidents {
            let ev: Vec<String> = f.evidence.iter().map(ToString::to_string).collect();
            let _ = write!(h, "<li class=fail>{} {}: {}</li>", f.incident, f.severity, esc(&ev.join("; ")));
        }
        h.push_str("</ul>");
    }
}

fn events(h: &mut String, report: &Report) {
    h.push_str("<h2>Event timeline</h2><table><tr><th>time</th><th>event</th></tr>");
    for (t, text) in timeline::entries(&report.record, report.verdict.as_ref()) {
        let _ = write!(h, "<tr><td>{}</td><td>{}</td></tr>", at(t), esc(&text));
    }
    h.push_str("</table>");
}
