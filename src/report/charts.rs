//! Charts over time as inline SVG, drawn by plotters: one per signal an on-call engineer watches, with the fault
//! windows shaded and labelled and the runbook's threshold drawn as a line, so "did it cross, and when" is visible
//! at a glance.

use plotters::prelude::*;

use super::timeline::{FaultWindow, fault_windows};
use super::{Report, queries};
use crate::api::Endpoint;
use crate::judge::Profile;
use crate::record::SecondRecord;

/// Line colours, none of them the red of fault windows and thresholds.
const PALETTE: [RGBColor; 5] = [
    RGBColor(31, 119, 180),
    RGBColor(44, 160, 44),
    RGBColor(255, 127, 14),
    RGBColor(148, 103, 189),
    RGBColor(23, 190, 207),
];

/// One line of a chart.
struct Series {
    name: String,
    points: Vec<(f64, f64)>,
}

/// One chart: what it shows and the threshold it is judged by, if any.
struct Spec {
    title: String,
    unit: &'static str,
    series: Vec<Series>,
    threshold: Option<f64>,
}

fn series(name: &str, seconds: &[SecondRecord], f: impl Fn(&SecondRecord) -> Option<f64>) -> Series {
    Series { name: name.into(), points: seconds.iter().filter_map(|s| Some((f64::from(s.t), f(s)?))).collect() }
}

fn totals(s: &SecondRecord) -> (u64, u64) {
    s.endpoints.iter().fold((0, 0), |(c, e), x| (c + x.count, e + x.errors))
}

fn specs(report: &Report) -> Vec<Spec> {
    let p = report.verdict.as_ref().map_or_else(Profile::default, |v| v.profile.clone());
    let secs = &report.record.seconds;
    // A probe series measured on a `[[host]]` says so in its legend.
    let on = |series: &str, name: &str| match report.record.probe_hosts.get(series) {
        Some(host) => format!("{name} on host {host}"),
        None => name.to_owned(),
    };
    let p95 = Endpoint::ALL
        .iter()
        .map(|&ep| series(ep.path(), secs, |s| s.endpoints.get(ep.index()).and_then(|e| e.p95_ms)))
        .filter(|s| !s.points.is_empty())
        .collect();
    let error_rate = |s: &SecondRecord| {
        let (count, errors) = totals(s);
        (count > 0).then(|| errors as f64 * 100.0 / count as f64)
    };
    let mut specs = vec![
        Spec { title: "p95 latency per endpoint".into(), unit: "ms", series: p95, threshold: Some(p.p95_ms) },
        Spec {
            title: "error rate".into(),
            unit: "% of requests",
            series: vec![series("all endpoints", secs, error_rate)],
            threshold: Some(p.error_rate_pct),
        },
        Spec {
            title: "requests per second".into(),
            unit: "req/s",
            series: vec![series("sent", secs, |s| Some(totals(s).0 as f64))],
            threshold: None,
        },
        Spec {
            title: "frames per second".into(),
            unit: "FPS",
            series: vec![series("mean", secs, |s| s.fps_mean), series("min", secs, |s| s.fps_min)],
            threshold: Some(p.fps_p5),
        },
        Spec {
            title: "resident memory".into(),
            unit: "MB",
            series: vec![series(&on("memory_mb", "target"), secs, |s| s.memory_mb)],
            threshold: None,
        },
        Spec {
            title: "disk usage".into(),
            unit: "% used",
            series: vec![series(&on("disk_pct", "target disk"), secs, |s| s.disk_pct)],
            threshold: Some(p.disk_warn_pct),
        },
        Spec {
            title: "CPU use".into(),
            unit: "%",
            series: vec![series(&on("cpu_pct", "target"), secs, |s| s.cpu_pct)],
            threshold: Some(p.cpu_pct),
        },
    ];
    // The Prometheus probe's queries, one chart each, their check's bound as the threshold.
    specs.extend(queries::prepare(report).into_iter().map(|q| Spec {
        title: format!("Prometheus query {}", q.name),
        unit: "answer",
        threshold: q.bound.map(|(_, v)| v),
        series: vec![Series { name: q.name, points: q.points }],
    }));
    specs
}

/// Every chart as `(title, svg)`; a signal with no samples (no telemetry, no disk probe) gives `None` for its svg.
pub fn render_charts(report: &Report) -> anyhow::Result<Vec<(String, Option<String>)>> {
    let faults = fault_windows(&report.record);
    let x_max = report.record.seconds.last().map_or(0.0, |s| f64::from(s.t) + 1.0).max(report.duration_s).max(1.0);
    specs(report)
        .into_iter()
        .map(|spec| {
            let empty = spec.series.iter().all(|s| s.points.is_empty());
            let svg = if empty { None } else { Some(draw(&spec, &faults, x_max)?) };
            Ok((spec.title, svg))
        })
        .collect()
}

fn draw(spec: &Spec, faults: &[FaultWindow], x_max: f64) -> anyhow::Result<String> {
    let fail = |e: &dyn std::fmt::Display| anyhow::anyhow!("chart {:?}: {e}", spec.title);
    let highest = spec.series.iter().flat_map(|s| &s.points).map(|p| p.1).chain(spec.threshold).fold(0.0, f64::max);
    // Scaled to the data, small ones too: a query answering in seconds (0.05 against a bound of 0.2) must not be a
    // flat line at the bottom of a 0-1 axis.
    let y_max = if highest > 0.0 { highest * 1.15 } else { 1.0 };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (960, 280)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| fail(&e))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(&spec.title, ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(32)
            .y_label_area_size(56)
            .build_cartesian_2d(0f64..x_max, 0f64..y_max)
            .map_err(|e| fail(&e))?;
        chart
            .configure_mesh()
            .x_desc("seconds since start")
            .y_desc(spec.unit)
            .light_line_style(WHITE.mix(0.0))
            .draw()
            .map_err(|e| fail(&e))?;
        let shade = RGBColor(220, 50, 47);
        for f in faults {
            let to = f.to.unwrap_or(x_max);
            chart
                .draw_series([Rectangle::new([(f.from, 0.0), (to, y_max)], shade.mix(0.12).filled())])
                .map_err(|e| fail(&e))?;
            let label = format!("fault: {}", f.name);
            chart
                .draw_series([Text::new(label, (f.from, y_max * 0.97), ("sans-serif", 13).into_font().color(&shade))])
                .map_err(|e| fail(&e))?;
        }
        for (i, s) in spec.series.iter().enumerate() {
            let color = PALETTE[i % PALETTE.len()];
            chart
                .draw_series(LineSeries::new(s.points.iter().copied(), color.stroke_width(2)))
                .map_err(|e| fail(&e))?
                .label(s.name.as_str())
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 16, y)], color.stroke_width(2)));
        }
        if let Some(t) = spec.threshold {
            chart
                .draw_series(LineSeries::new([(0.0, t), (x_max, t)], shade.stroke_width(1)))
                .map_err(|e| fail(&e))?
                .label(format!("threshold {t}"))
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 16, y)], shade));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .draw()
            .map_err(|e| fail(&e))?;
        root.present().map_err(|e| fail(&e))?;
    }
    Ok(svg)
}
