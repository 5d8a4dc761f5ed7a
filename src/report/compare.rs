//! Baselines: a report judged against an earlier one of the same scenario, phase by phase and endpoint by
//! endpoint. Only like compares with like; anything else is a [`Mismatch`] that says why, never a silent pass.

use std::fmt::Write as _;

use super::{Percentiles, PhaseSummary, Report};
pub use crate::scenario::Tolerance;

/// Why two reports do not compare.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Mismatch {
    /// The reports are of differently named scenarios: their figures measure different things.
    #[error("different scenarios: baseline {baseline:?}, current {current:?}")]
    Scenario {
        /// The baseline's scenario name.
        baseline: String,
        /// The current report's scenario name.
        current: String,
    },
    /// A phase one report reached and the other did not (renamed, added, or cut short by an interruption).
    #[error("phase {phase:?} is in the {present} report only")]
    Phase {
        /// The phase's name.
        phase: String,
        /// `baseline` or `current`: the report that has it.
        present: &'static str,
    },
    /// An endpoint with requests in one report's phase and none in the other's (a changed `[load]` mix).
    #[error("phase {phase:?}: endpoint {endpoint} has requests in the {present} report only")]
    Endpoint {
        /// The phase's name.
        phase: String,
        /// The endpoint's path.
        endpoint: String,
        /// `baseline` or `current`: the report that has requests on it.
        present: &'static str,
    },
}

/// One figure of one endpoint (or `all`) in one phase, before and after.
#[derive(Debug, Clone, PartialEq)]
pub struct Delta {
    pub(crate) phase: String,
    /// An endpoint's path, `all` for the phase's total, or `telemetry` for FPS.
    pub(crate) endpoint: String,
    /// `p50_ms`, `p95_ms`, `p99_ms`, `error_rate_pct` or `fps_median`.
    pub(crate) metric: &'static str,
    pub(crate) baseline: f64,
    pub(crate) current: f64,
    /// The change exceeds its tolerance (only p95, error rate and FPS are gated; p50/p99 are shown for context).
    pub(crate) regressed: bool,
}

/// Every figure both reports have, regressed or not: per phase, each endpoint, then `all`, then telemetry FPS.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Comparison {
    pub(crate) deltas: Vec<Delta>,
}

impl Comparison {
    /// The figures past their tolerance: what fails `compare` and, with `run --baseline`, the run.
    pub fn regressions(&self) -> impl Iterator<Item = &Delta> {
        self.deltas.iter().filter(|d| d.regressed)
    }

    pub(crate) fn regressed(&self) -> bool {
        self.regressions().next().is_some()
    }

    /// The table `compare` prints (only the regressed rows with `regressions_only`), then one line per regression.
    pub fn render(&self, regressions_only: bool) -> String {
        let mut out = format!(
            "{:<14} {:<18} {:<15} {:>10} {:>10} {:>10}\n",
            "phase", "endpoint", "metric", "baseline", "current", "change"
        );
        for d in self.deltas.iter().filter(|d| d.regressed || !regressions_only) {
            let _ = writeln!(
                out,
                "{:<14} {:<18} {:<15} {:>10.2} {:>10.2} {:>+10.2}{}",
                d.phase,
                d.endpoint,
                d.metric,
                d.baseline,
                d.current,
                d.current - d.baseline,
                if d.regressed { "  REGRESSED" } else { "" }
            );
        }
        for d in self.regressions() {
            let _ = writeln!(out, "regression: {}", d.describe());
        }
        out
    }

    /// The same as a Markdown table, for a CI job summary or a PR comment: a headline, then the rows.
    pub fn render_markdown(&self, regressions_only: bool) -> String {
        let n = self.regressions().count();
        let mut out = if n == 0 {
            "**Baseline: no regression**\n\n".to_string()
        } else {
            format!("**Baseline: {n} regression{}**\n\n", if n == 1 { "" } else { "s" })
        };
        let rows: Vec<&Delta> = self.deltas.iter().filter(|d| d.regressed || !regressions_only).collect();
        if rows.is_empty() {
            return out;
        }
        out.push_str(
            "| phase | endpoint | metric | baseline | current | change | |\n|---|---|---|---:|---:|---:|---|\n",
        );
        for d in rows {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {:.2} | {:.2} | {:+.2} | {} |",
                super::markdown::cell(&d.phase),
                super::markdown::cell(&d.endpoint),
                d.metric,
                d.baseline,
                d.current,
                d.current - d.baseline,
                if d.regressed { "❌ regressed" } else { "" }
            );
        }
        out
    }
}

impl Delta {
    /// `p95 of all in phase baseline went from 20.10 to 31.00`.
    pub fn describe(&self) -> String {
        let name = self.metric.trim_end_matches("_ms").trim_end_matches("_pct");
        format!(
            "{name} of {} in phase {} went from {:.2} to {:.2}",
            self.endpoint, self.phase, self.baseline, self.current
        )
    }
}

fn latency(out: &mut Vec<Delta>, row: (&str, &str), b: Option<Percentiles>, c: Option<Percentiles>, t: &Tolerance) {
    let (Some(b), Some(c)) = (b, c) else { return };
    let mut push = |metric, base: f64, cur: f64, regressed| {
        out.push(Delta { phase: row.0.into(), endpoint: row.1.into(), metric, baseline: base, current: cur, regressed })
    };
    push("p50_ms", b.p50, c.p50, false);
    let rise = c.p95 - b.p95;
    push("p95_ms", b.p95, c.p95, rise > b.p95 * t.p95_pct() / 100.0 && rise > t.p95_ms());
    push("p99_ms", b.p99, c.p99, false);
}

fn errors(out: &mut Vec<Delta>, row: (&str, &str), b: f64, c: f64, t: &Tolerance) {
    let regressed = c - b > t.error_points();
    out.push(Delta {
        phase: row.0.into(),
        endpoint: row.1.into(),
        metric: "error_rate_pct",
        baseline: b,
        current: c,
        regressed,
    });
}

fn phase(out: &mut Vec<Delta>, b: &PhaseSummary, c: &PhaseSummary, t: &Tolerance) -> Result<(), Mismatch> {
    for (x, y, present) in [(b, c, "baseline"), (c, b, "current")] {
        if let Some(e) = x.endpoints.iter().find(|e| !y.endpoints.iter().any(|f| f.endpoint == e.endpoint)) {
            let endpoint = e.endpoint.path().into();
            return Err(Mismatch::Endpoint { phase: b.name.clone(), endpoint, present });
        }
    }
    for be in &b.endpoints {
        let ce = c.endpoints.iter().find(|e| e.endpoint == be.endpoint).expect("checked above");
        let row = (b.name.as_str(), be.endpoint.path());
        latency(out, row, be.latency_ms, ce.latency_ms, t);
        errors(out, row, be.error_rate_pct, ce.error_rate_pct, t);
    }
    let row = (b.name.as_str(), "all");
    latency(out, row, b.latency_ms, c.latency_ms, t);
    errors(out, row, b.error_rate_pct, c.error_rate_pct, t);
    if let (Some(bf), Some(cf)) = (b.fps, c.fps) {
        let regressed = bf.median - cf.median > t.fps_drop();
        out.push(Delta {
            phase: b.name.clone(),
            endpoint: "telemetry".into(),
            metric: "fps_median",
            baseline: bf.median,
            current: cf.median,
            regressed,
        });
    }
    Ok(())
}

/// Compare `current` with `baseline`, phase by phase (matched by name) and endpoint by endpoint.
pub fn compare(baseline: &Report, current: &Report, tolerance: &Tolerance) -> Result<Comparison, Mismatch> {
    if baseline.scenario.name != current.scenario.name {
        let (baseline, current) = (baseline.scenario.name.clone(), current.scenario.name.clone());
        return Err(Mismatch::Scenario { baseline, current });
    }
    for (x, y, present) in [(baseline, current, "baseline"), (current, baseline, "current")] {
        if let Some(p) = x.phases.iter().find(|p| !y.phases.iter().any(|q| q.name == p.name)) {
            return Err(Mismatch::Phase { phase: p.name.clone(), present });
        }
    }
    let mut deltas = Vec::new();
    for b in &baseline.phases {
        let c = current.phases.iter().find(|c| c.name == b.name).expect("checked above");
        phase(&mut deltas, b, c, tolerance)?;
    }
    Ok(Comparison { deltas })
}
