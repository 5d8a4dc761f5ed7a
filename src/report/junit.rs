//! `junit.xml` for CI: one suite per run, one test case per phase × runbook check and per expectation, so a CI's
//! test view lists exactly which threshold broke where, with the measured value beside the threshold.

use std::io::Write;
use std::time::Duration;

use quick_junit::{NonSuccessKind, TestCase, TestCaseStatus, TestSuite};

use super::words;
use super::{Conclusion, Report};
use crate::judge::{Check, CheckState};

fn failed(message: String, description: String) -> TestCaseStatus {
    let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
    s.set_message(message).set_description(description);
    s
}

fn case(classname: &str, name: &str, status: TestCaseStatus) -> TestCase {
    let mut c = TestCase::new(name, status);
    c.set_classname(classname);
    c
}

fn check_case(phase: &str, c: &Check) -> TestCase {
    let measured = c.measured.map_or_else(|| "no data".into(), |m| format!("{m:.3}"));
    let status = match c.state {
        CheckState::Pass => TestCaseStatus::success(),
        CheckState::NoData => {
            let mut s = TestCaseStatus::skipped();
            s.set_message("nothing measured for this check in this phase");
            s
        }
        CheckState::Fail => failed(
            format!("{} measured {measured}, threshold {} {}", c.name, c.cmp.symbol(), c.threshold),
            format!("phase {phase}: {} = {measured}; healthy when {} {}", c.name, c.cmp.symbol(), c.threshold),
        ),
    };
    case(&format!("phase.{phase}"), &c.name, status)
}

/// The run's own case: its outcome, as a failure (failed) or an error (harness error, interrupted), with the
/// headline as message and the reasons as description, so a CI's test view agrees with the exit code.
fn outcome_case(report: &Report) -> TestCase {
    let kind = match report.outcome.conclusion {
        Conclusion::Passed | Conclusion::Observed => None,
        Conclusion::Failed => Some(NonSuccessKind::Failure),
        Conclusion::Error | Conclusion::Interrupted => Some(NonSuccessKind::Error),
    };
    let status = match kind {
        None => TestCaseStatus::success(),
        Some(kind) => {
            let mut s = TestCaseStatus::non_success(kind);
            s.set_message(words::headline(report)).set_description(report.outcome.reasons.join("\n"));
            s
        }
    };
    case("run", "outcome", status)
}

/// Write `junit.xml`: the checks' cases, then one `run/outcome` case carrying the report's outcome, so a CI's test
/// view fails exactly when the exit code does.
pub fn render_junit(report: &Report, w: &mut dyn Write) -> anyhow::Result<()> {
    let mut suite = TestSuite::new(report.scenario.name.as_str());
    // A corrupt or hostile duration (huge, negative, NaN) is left out rather than allowed to panic the conversion.
    if let Ok(time) = Duration::try_from_secs_f64(report.duration_s) {
        suite.set_time(time);
    }
    suite.add_property(("run_id", report.run_id.as_str()));
    if report.target.insecure {
        suite.add_property(("tls", super::INSECURE));
    }
    suite.add_property(("outcome", words::headline(report).as_str()));
    suite.add_test_case(outcome_case(report));
    for p in report.verdict.iter().flat_map(|v| &v.phases) {
        suite.add_test_cases(p.checks.iter().map(|c| check_case(&p.name, c)));
    }
    for e in &report.expectations {
        let status = if e.passed {
            TestCaseStatus::success()
        } else {
            failed(
                format!("{}: measured {}, wanted {}", e.name, e.measured, e.wanted),
                format!("expectation {} broken: measured {}; wanted {}", e.name, e.measured, e.wanted),
            )
        };
        suite.add_test_case(case("expect", &e.name, status));
    }
    let mut junit = quick_junit::Report::new("spacetime-drill");
    junit.add_test_suite(suite);
    junit.serialize(w)?;
    Ok(())
}
