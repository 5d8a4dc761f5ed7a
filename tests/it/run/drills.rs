//! Driving a drill end to end and reading what it recorded, for the shipped drills (`shipped.rs`), which also prove
//! that the expectations gate the exit code and that a drill whose faults do nothing fails.

use serde_json::Value;

use super::{read_report, run, write_scenario};

/// Run a scenario; returns the exit code, stdout and the report.
pub(super) fn drive(scenario: &str) -> (Option<i32>, String, Value) {
    drive_with(scenario, &[])
}

/// [`drive`] with these environment variables (a token, say).
pub(super) fn drive_with(scenario: &str, envs: &[(&str, &str)]) -> (Option<i32>, String, Value) {
    let dir = tempfile::tempdir().unwrap();
    let path = write_scenario(dir.path(), scenario);
    let out = dir.path().join("out");
    let o = run(&["run", path.to_str().unwrap(), "--quiet", "--out", out.to_str().unwrap()], envs);
    let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
    eprintln!("stdout:\n{stdout}\nstderr:\n{}", String::from_utf8_lossy(&o.stderr));
    (o.status.code(), stdout, read_report(&out))
}

pub(super) fn events<'a>(report: &'a Value, kind: &str) -> Vec<&'a Value> {
    report["record"]["events"].as_array().unwrap().iter().filter(|e| e["event"] == kind).collect()
}
