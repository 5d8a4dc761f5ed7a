//! Drills end to end: a killed DAP is seen as the runbook's high error rate within seconds and recovered from, the
//! expectations gate the exit code, and a drill whose fault does nothing fails.

use serde_json::Value;

use super::{read_report, run, write_scenario};

/// Baseline, the fault held for 7 s, recovery; `kind` is the fault's table, `expect` the `[expect]` body.
fn drill(kind: &str, expect: &str) -> String {
    format!(
        r#"
[load]
rate = 100
[[phase]]
name = "baseline"
duration = "4s"
[[phase]]
name = "fault"
duration = "7s"
faults = ["f"]
[[phase]]
name = "recovery"
duration = "8s"
[[fault]]
name = "f"
{kind}
[expect]
{expect}
"#
    )
}

const KILL_DAP: &str = "[fault.kill_process]\nsim = \"dap\"\nsignal = \"KILL\"\nrestart = true";
const EXPECT: &str = "incident = \"high_error_rate\"\ndetect_within = \"6s\"\nrecover_within = \"8s\"";

/// Run a scenario; returns the exit code, stdout and the report.
pub(super) fn drive(scenario: &str) -> (Option<i32>, String, Value) {
    let dir = tempfile::tempdir().unwrap();
    let path = write_scenario(dir.path(), scenario);
    let out = dir.path().join("out");
    let o = run(&["run", path.to_str().unwrap(), "--quiet", "--out", out.to_str().unwrap()], &[]);
    let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
    eprintln!("stdout:\n{stdout}\nstderr:\n{}", String::from_utf8_lossy(&o.stderr));
    (o.status.code(), stdout, read_report(&out))
}

pub(super) fn events<'a>(report: &'a Value, kind: &str) -> Vec<&'a Value> {
    report["record"]["events"].as_array().unwrap().iter().filter(|e| e["event"] == kind).collect()
}

#[test]
fn killed_dap_is_a_high_error_rate_detected_and_recovered() {
    let _one = super::one_at_a_time();
    let (code, stdout, report) = drive(&drill(KILL_DAP, EXPECT));
    assert_eq!(code, Some(0), "every expectation holds");
    assert_eq!(events(&report, "fault_injected").len(), 1);
    let rolled_back = events(&report, "fault_rolled_back");
    assert!(rolled_back[0]["detail"].as_str().unwrap().contains("revived"), "{rolled_back:?}");
    let fault = &report["verdict"]["faults"][0];
    let detection = fault["detections"].as_array().unwrap().iter().find(|d| d["incident"] == "high_error_rate");
    let ttd = detection.expect("high_error_rate detected")["after_s"].as_f64().unwrap();
    eprintln!("time to detect a killed DAP: {ttd:.1} s");
    assert!(ttd <= 6.0, "detected after {ttd} s");
    assert!(fault["recovery"]["after_s"].as_f64().is_some(), "recovered: {fault}");
    assert!(!events(&report, "incident_detected").is_empty() && !events(&report, "recovered").is_empty());
    assert!(stdout.contains("PASS incident") && stdout.contains("detected in"), "{stdout}");
}

#[test]
fn a_wrong_expectation_fails_the_gate_with_exit_1() {
    let _one = super::one_at_a_time();
    let (code, stdout, report) = drive(&drill(KILL_DAP, "incident = \"api_unresponsive\""));
    assert_eq!(code, Some(1), "the DAP died, the API did not");
    assert_eq!(report["expectations"][0]["passed"], false);
    assert!(stdout.contains("FAIL incident"), "{stdout}");
}

#[test]
fn the_drill_fails_when_its_fault_does_nothing() {
    let _one = super::one_at_a_time();
    let (code, stdout, report) = drive(&drill("[fault.noop]", EXPECT));
    assert_eq!(code, Some(1), "a noop fault cannot produce the incident");
    assert_eq!(events(&report, "fault_injected").len(), 1, "the noop was injected all the same");
    assert!(stdout.contains("FAIL incident"), "{stdout}");
}
