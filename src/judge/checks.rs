//! The runbook's verification steps as named checks on a span: what "the service recovered" means, measured.
//!
//! A check with nothing to measure (no telemetry, no disk probe) is `no_data`, never a failure: a staging target
//! without a telemetry URL must still be able to pass a gate on what it does measure.

use serde::{Deserialize, Serialize};

use super::finding::{Cmp, Evidence, Finding};
use super::input::QueryCheck;
use super::rules;
use super::stats::{self, Stats, pct, quantile};
use crate::runbook::Profile;

/// How a verification step came out; only `fail` makes a phase unhealthy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CheckState {
    /// The measured value satisfied the comparison.
    Pass,
    /// The measured value broke the comparison: the phase is not healthy.
    Fail,
    /// Nothing to measure (no telemetry URL, no disk probe, no request in the span): neither pass nor fail.
    NoData,
}

/// One verification step: `measured cmp threshold` must hold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Check {
    /// The step's name with its unit (`error_rate_pct`, `p95_ms`); also the JUnit test case's name.
    pub name: String,
    /// The value over the phase's checked span, in the unit the name says; `None` when there was nothing to measure.
    pub measured: Option<f64>,
    /// The runbook's number, or the scenario's `[thresholds]` override of it.
    pub threshold: f64,
    /// The relation `measured cmp threshold` that must hold for a pass.
    pub cmp: Cmp,
    /// Pass, fail, or no data when `measured` is `None`.
    pub state: CheckState,
}

impl Check {
    fn new(name: &str, measured: Option<f64>, cmp: Cmp, threshold: f64) -> Self {
        let state = match measured {
            None => CheckState::NoData,
            Some(m) if cmp.holds(m, threshold) => CheckState::Pass,
            Some(_) => CheckState::Fail,
        };
        Self { name: name.into(), measured, threshold, cmp, state }
    }

    pub(crate) fn failed(&self) -> bool {
        self.state == CheckState::Fail
    }
}

/// The verification steps, in the runbook's words:
/// - `service_responds`: Incident 1 step 1 "Service responds" — no second of the span was down;
/// - `error_rate_pct`: Incident 2 step 1 "Expected: < 0.01 (1%)" — every request, unanswered ones included;
/// - `p95_ms`: Incident 3 step 2 "Expected: < 0.2 (200ms)";
/// - `status_avg_ms`: Incident 3 step 1 "Expected: < 100ms", from the `/status` probes;
/// - `fps_p5`, `fps_median`: Incident 3 step 4 "FPS stable at 90" (see [`Profile::fps_p5`]);
/// - `overall_ready_pct`: Incidents 1, 4, 7 "jq .overall_ready ... Expected: true" — on every probe;
/// - `disk_pct`: Incident 7 step 1 "Expected: < 80% used", the highest reading;
/// - `memory_growth_mb_per_min`: Incident 6 step 1 "Memory should be stable" — fails only when the leak rule fires;
/// - `timeouts`: Incident 3 step 5 "No timeout errors ... Expected: 0";
/// - `cpu_pct`: Incident 2 step 4 "Expected: CPU < 50%", the highest reading; listed only when a CPU probe ran, so
///   the checks (and JUnit cases) of runs without one stay as they were.
pub fn verification(s: &Stats, p: &Profile) -> Vec<Check> {
    let (requests, errors) = s.all_requests_and_errors();
    let any_signal = requests > 0 || s.probes.probes > 0;
    let memory = stats::fit(&s.memory).filter(|_| s.memory.len() >= (p.leak_min_points as usize).max(2));
    let mut memory_check =
        Check::new("memory_growth_mb_per_min", memory.map(|f| f.slope * 60.0), Cmp::Le, p.memory_growth_mb_per_min);
    if memory_check.measured.is_some() {
        let leaking = rules::memory_leak(&s.memory, None, p).is_some();
        memory_check.state = if leaking { CheckState::Fail } else { CheckState::Pass };
    }
    vec![
        Check::new("service_responds", any_signal.then_some(f64::from(s.down_seconds)), Cmp::Eq, 0.0),
        Check::new("error_rate_pct", (requests > 0).then(|| pct(errors, requests)), Cmp::Lt, p.error_rate_pct),
        Check::new("p95_ms", s.p95_ms(), Cmp::Lt, p.p95_ms),
        Check::new("status_avg_ms", s.probes.avg_latency_ms(), Cmp::Lt, p.status_avg_ms),
        Check::new("fps_p5", quantile(&s.fps_min, 0.05), Cmp::Ge, p.fps_p5),
        Check::new("fps_median", quantile(&s.fps_mean, 0.5), Cmp::Ge, p.fps_median),
        Check::new(
            "overall_ready_pct",
            (s.probes.ready_known > 0).then(|| pct(s.probes.ready_true.into(), s.probes.ready_known.into())),
            Cmp::Ge,
            100.0,
        ),
        Check::new("disk_pct", s.disk_max, Cmp::Lt, p.disk_warn_pct),
        memory_check,
        Check::new("timeouts", any_signal.then_some(s.timeouts as f64), Cmp::Eq, 0.0),
    ]
    .into_iter()
    .chain(s.cpu_max.map(|cpu| Check::new("cpu_pct", Some(cpu), Cmp::Lt, p.cpu_pct)))
    .collect()
}

/// One check per [`QueryCheck`], measured by the span's worst answer (the highest for `<`, the lowest for `>`).
pub fn queries(s: &Stats, queries: &[QueryCheck]) -> Vec<Check> {
    queries
        .iter()
        .map(|q| {
            let values = s.queries.get(&q.name).filter(|v| !v.is_empty());
            let high = matches!(q.cmp, Cmp::Lt | Cmp::Le);
            let worst = values.map(|v| {
                v.iter()
                    .copied()
                    .fold(if high { f64::MIN } else { f64::MAX }, |a, b| if high { a.max(b) } else { a.min(b) })
            });
            Check::new(&q.name, worst, q.cmp, q.threshold)
        })
        .collect()
}

/// Add each failed query check to the finding of its incident, as the evidence that broke.
pub fn cite(findings: &mut [Finding], checks: &[Check], queries: &[QueryCheck]) {
    for (c, q) in checks.iter().zip(queries).filter(|(c, _)| c.failed()) {
        let (Some(incident), Some(measured)) = (q.incident, c.measured) else { continue };
        if let Some(f) = findings.iter_mut().find(|f| f.incident == incident) {
            f.evidence.push(Evidence::broke(format!("prometheus {}", q.name), measured, q.cmp.negated(), q.threshold));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{Endpoint, ServiceState};
    use crate::judge::testkit::{SecondExt, dead, healthy, sec, stats};
    use crate::record::Outcome;

    fn state(secs: &[crate::judge::Second], name: &str) -> CheckState {
        let checks = verification(&stats(secs), &Profile::default());
        checks.into_iter().find(|c| c.name == name).unwrap().state
    }

    fn five(f: impl Fn(u32) -> crate::judge::Second) -> Vec<crate::judge::Second> {
        (0..5).map(f).collect()
    }

    #[test]
    fn a_healthy_span_passes_every_check_it_can_measure() {
        let checks = verification(&stats(&five(healthy)), &Profile::default());
        let failed: Vec<_> = checks.iter().filter(|c| c.state != CheckState::Pass).map(|c| &c.name).collect();
        assert_eq!(failed, ["memory_growth_mb_per_min"], "only memory lacks samples");
    }

    #[test]
    fn cpu_is_checked_only_when_a_cpu_probe_ran() {
        let cpu = |pct: Option<f64>| {
            let secs: Vec<_> = five(|t| crate::judge::Second { cpu_pct: pct, ..healthy(t) });
            verification(&stats(&secs), &Profile::default()).into_iter().find(|c| c.name == "cpu_pct").map(|c| c.state)
        };
        assert_eq!(cpu(None), None, "no CPU probe, no check");
        assert_eq!(cpu(Some(49.9)), Some(CheckState::Pass));
        assert_eq!(cpu(Some(50.0)), Some(CheckState::Fail));
    }

    #[test]
    fn each_check_fails_just_past_its_threshold() {
        type Gen = fn(u32) -> crate::judge::Second;
        let cases: [(&str, Gen, Gen); 8] = [
            ("service_responds", healthy, |t| if t == 2 { dead(t) } else { healthy(t) }),
            (
                "error_rate_pct",
                |t| healthy(t).fail(Endpoint::Status, Outcome::Unavailable, 0),
                |t| healthy(t).fail(Endpoint::Status, Outcome::Unavailable, 1),
            ),
            (
                "p95_ms",
                |t| sec(t).ok(Endpoint::Status, 100, 199.0).probe(true, 5.0),
                |t| sec(t).ok(Endpoint::Status, 100, 201.0).probe(true, 5.0),
            ),
            ("status_avg_ms", |t| healthy(t).probe(true, 99.0), |t| healthy(t).probe(true, 100.0)),
            ("fps_p5", |t| healthy(t).fps(85.0, 90.0), |t| healthy(t).fps(if t == 0 { 84.9 } else { 90.0 }, 90.0)),
            ("fps_median", |t| healthy(t).fps(85.0, 88.0), |t| healthy(t).fps(85.0, 87.9)),
            ("overall_ready_pct", healthy, |t| if t == 4 { healthy(t).dap(ServiceState::Error) } else { healthy(t) }),
            ("disk_pct", |t| healthy(t).disk(79.9), |t| healthy(t).disk(80.0)),
        ];
        for (name, pass, fail) in cases {
            assert_eq!(state(&five(pass), name), CheckState::Pass, "{name} should pass");
            assert_eq!(state(&five(fail), name), CheckState::Fail, "{name} should fail");
        }
    }

    #[test]
    fn timeouts_and_memory_checks() {
        let timed_out = |t| healthy(t).fail(Endpoint::LspCompletion, Outcome::Timeout, 1);
        assert_eq!(state(&five(timed_out), "timeouts"), CheckState::Fail);
        assert_eq!(stats(&five(timed_out)).timeouts, 5);
        let flat: Vec<_> = (0..12).map(|t| healthy(t).mem(1000.0)).collect();
        let growing: Vec<_> = (0..12).map(|t| healthy(t).mem(1000.0 + f64::from(t))).collect();
        assert_eq!(state(&flat, "memory_growth_mb_per_min"), CheckState::Pass);
        assert_eq!(state(&growing, "memory_growth_mb_per_min"), CheckState::Fail);
    }

    #[test]
    fn a_query_check_fails_on_its_worst_answer_and_cites_its_incident() {
        use crate::judge::{Finding, Incident, QueryCheck, Severity};
        let q = QueryCheck {
            name: "service_p95_s".into(),
            cmp: Cmp::Lt,
            threshold: 0.2,
            incident: Some(Incident::SlowResponses),
        };
        let with = |vals: &[f64]| {
            let secs: Vec<_> = vals
                .iter()
                .enumerate()
                .map(|(t, v)| {
                    let mut s = healthy(t as u32);
                    s.queries.insert("service_p95_s".into(), *v);
                    s
                })
                .collect();
            queries(&stats(&secs), std::slice::from_ref(&q))
        };
        assert_eq!(with(&[0.05, 0.19]).pop().unwrap().state, CheckState::Pass);
        let failed = with(&[0.05, 0.2, 0.1]).pop().unwrap();
        assert_eq!((failed.state, failed.measured), (CheckState::Fail, Some(0.2)), "the highest answer counts");
        assert_eq!(queries(&stats(&five(healthy)), std::slice::from_ref(&q))[0].state, CheckState::NoData);

        let slow = Finding { incident: Incident::SlowResponses, severity: Severity::P3, evidence: Vec::new() };
        let mut findings = vec![slow];
        cite(&mut findings, &[failed], &[q]);
        assert_eq!(findings[0].evidence[0].to_string(), "prometheus service_p95_s 0.2 >= 0.2");
    }

    #[test]
    fn nothing_measured_is_no_data_not_failure() {
        let checks = verification(&stats(&[sec(0)]), &Profile::default());
        assert!(checks.iter().all(|c| c.state == CheckState::NoData), "{checks:?}");
    }
}
