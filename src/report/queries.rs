//! The Prometheus probe's named queries (`[probe] queries`) as the human-facing reports show them: each query's
//! answers over time (the HTML page draws them as a chart, in `charts`) and per phase their median and max with the
//! failed asks (the Markdown summary's table, here). Prepared once from the record, so the two formats cannot
//! disagree about a query.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use super::Report;
use super::markdown::cell;
use crate::scenario::Query;

/// One named query across the run.
pub(super) struct QuerySeries {
    pub name: String,
    /// The healthy side of its check, when it has one: `("<", 0.2)` for `below = 0.2`.
    pub bound: Option<(&'static str, f64)>,
    /// `(seconds since start, answer)`, one per second that had an answer.
    pub points: Vec<(f64, f64)>,
    /// Per phase the run reached, by name.
    pub phases: Vec<(String, PhaseAnswers)>,
}

/// A query's answers within one phase.
pub(super) struct PhaseAnswers {
    pub median: Option<f64>,
    pub max: Option<f64>,
    pub answers: usize,
    /// Asks that failed (Prometheus unreachable, a PromQL error), counted by the probe.
    pub failed: u64,
}

/// Every query the scenario declares or the record holds (a merged or re-rendered report may carry answers for a
/// query its scenario text no longer has), in name order.
pub(super) fn prepare(report: &Report) -> Vec<QuerySeries> {
    let declared = &report.scenario.file.probe.queries;
    let seconds = &report.record.seconds;
    let names: BTreeSet<&String> = declared.keys().chain(seconds.iter().flat_map(|s| s.queries.keys())).collect();
    names
        .into_iter()
        .map(|name| {
            let bound = declared.get(name).map(Query::spec).and_then(|q| match (q.below, q.above) {
                (Some(b), _) => Some(("<", b)),
                (None, Some(a)) => Some((">", a)),
                (None, None) => None,
            });
            let points = seconds.iter().filter_map(|s| Some((f64::from(s.t), *s.queries.get(name)?))).collect();
            let probe = format!("prometheus/{name}");
            let phases = report
                .record
                .phases
                .iter()
                .enumerate()
                .filter(|(_, p)| p.started.is_some())
                .map(|(i, p)| {
                    let mine = seconds.iter().filter(|s| s.phase == i);
                    let mut values: Vec<f64> = mine.clone().filter_map(|s| s.queries.get(name).copied()).collect();
                    values.sort_by(f64::total_cmp);
                    let failed = mine.filter_map(|s| s.probe_failures.get(&probe)).map(|&n| u64::from(n)).sum();
                    let answers = PhaseAnswers {
                        median: median(&values),
                        max: values.last().copied(),
                        answers: values.len(),
                        failed,
                    };
                    (p.name.clone(), answers)
                })
                .collect();
            QuerySeries { name: name.clone(), bound, points, phases }
        })
        .collect()
}

/// The median of sorted values (the mean of the middle two for an even count).
fn median(sorted: &[f64]) -> Option<f64> {
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
    }
}

/// Four significant digits, so 0.01234 s and 1234 req/s both read well; `-` for no answer.
fn value(v: Option<f64>) -> String {
    match v {
        None => "-".into(),
        Some(v) if v == 0.0 || !v.is_finite() => format!("{v}"),
        Some(v) => {
            let decimals = (3 - v.abs().log10().floor() as i32).clamp(0, 6) as usize;
            format!("{v:.decimals$}")
        }
    }
}

/// The Markdown table of `phase`'s query answers, empty when the run asked no query.
pub(super) fn markdown_table(queries: &[QuerySeries], phase: &str) -> String {
    let mut m = String::new();
    for q in queries {
        let Some((_, a)) = q.phases.iter().find(|(name, _)| name == phase) else { continue };
        if m.is_empty() {
            m.push_str("| Prometheus query | median | max | answers | failed asks | healthy |\n");
            m.push_str("|---|---:|---:|---:|---:|---|\n");
        }
        let healthy = q.bound.map_or_else(|| "-".into(), |(cmp, v)| format!("{cmp} {v}"));
        let _ = writeln!(
            m,
            "| {} | {} | {} | {} | {} | {healthy} |",
            cell(&q.name),
            value(a.median),
            value(a.max),
            a.answers,
            a.failed
        );
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_and_values_read_well() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[1.0, 2.0, 7.0]), Some(2.0));
        assert_eq!(median(&[1.0, 2.0, 4.0, 7.0]), Some(3.0));
        assert_eq!(value(Some(0.012346)), "0.01235");
        assert_eq!(value(Some(0.2)), "0.2000");
        assert_eq!(value(Some(1234.56)), "1235");
        assert_eq!(value(Some(0.0)), "0");
        assert_eq!(value(None), "-");
    }
}
