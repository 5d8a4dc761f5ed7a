//! `spacetime-drill run` end to end against the embedded simulator: counts, report shape, secrets, interruption;
//! faults and the verdict in `run/`. Every run gets its own crash journal, never the user's.

mod blocking;
mod drills;
mod gate;
mod guarantees;
mod pybridge;
mod shipped;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Runs whose verdict depends on FPS and latency take turns: two simulators under load on two cores would measure
/// each other rather than themselves.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

pub(crate) fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_spacetime-drill")
}

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// `spacetime-drill ARGS` with a private journal (a `SPACETIME_DRILL_JOURNAL` in `envs` wins).
fn run(args: &[&str], envs: &[(&str, &str)]) -> Output {
    let journal = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(bin());
    cmd.args(args).current_dir(env!("CARGO_MANIFEST_DIR"));
    cmd.env("SPACETIME_DRILL_JOURNAL", journal.path().join("journal.jsonl"));
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().expect("the binary runs")
}

fn read_report(dir: &Path) -> Value {
    let text = std::fs::read_to_string(dir.join("report.json")).expect("report.json written");
    serde_json::from_str(&text).expect("report.json is JSON")
}

fn write_scenario(dir: &Path, body: &str) -> PathBuf {
    let path = dir.join("s.toml");
    std::fs::write(&path, body).unwrap();
    path
}

#[test]
fn ci_gate_passes_a_healthy_simulator_with_rate_times_duration_requests() {
    let _one = one_at_a_time();
    let out = tempfile::tempdir().unwrap();
    let o = run(&["run", "scenarios/ci-gate.toml", "--quiet", "--out", out.path().to_str().unwrap()], &[]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "stdout: {stdout}\nstderr: {}", String::from_utf8_lossy(&o.stderr));
    assert!(stdout.contains("PASS healthy"), "{stdout}");
    let report = read_report(out.path());
    assert_eq!(report["schema_version"], 3);
    assert_eq!(report["outcome"]["conclusion"], "passed", "exit 0 is the report's outcome: {}", report["outcome"]);
    assert_eq!(report["status"], "completed");
    assert_eq!(report["target"]["embedded"], true);
    let scenario: toml::Table =
        toml::from_str(&std::fs::read_to_string(repo("scenarios/ci-gate.toml")).unwrap()).unwrap();
    let base_rate = scenario["load"]["rate"].as_float().or(scenario["load"]["rate"].as_integer().map(|r| r as f64));
    for (phase, summary) in scenario["phase"].as_array().unwrap().iter().zip(report["phases"].as_array().unwrap()) {
        let rate = phase.get("load").and_then(|l| l.get("rate")).and_then(|r| r.as_float()).or(base_rate).unwrap();
        let secs = humantime::parse_duration(phase["duration"].as_str().unwrap()).unwrap().as_secs_f64();
        let want = rate * secs;
        let got = summary["requests"].as_u64().unwrap() as f64;
        assert!((got - want).abs() <= want * 0.02, "phase {}: {got} requests, want {want} ± 2 %", phase["name"]);
        assert_eq!(summary["errors"], 0, "a healthy simulator answers everything: {summary}");
        let fps = summary["fps"]["median"].as_f64().expect("telemetry FPS recorded");
        assert!((85.0..=95.0).contains(&fps), "median FPS {fps}");
    }
}

#[test]
fn token_never_appears_in_output_or_report() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("jwt.secret");
    std::fs::write(&secret, "a-test-signing-secret-0123456789").unwrap();
    let minted = run(&["sim", "token", "--secret-file", secret.to_str().unwrap(), "--ttl", "1h"], &[]);
    assert!(minted.status.success());
    let token = String::from_utf8(minted.stdout).unwrap().trim().to_owned();
    assert!(token.len() > 20);

    let ports = dir.path().join("ports.json");
    let mut sim = Command::new(bin())
        .args(["sim", "--http-port", "0", "--telemetry-port", "0", "--dap-port", "0", "--lsp-port", "0"])
        .arg("--ports-file")
        .arg(&ports)
        .arg("--jwt-secret-file")
        .arg(&secret)
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let guard = KillOnDrop(&mut sim);
    let deadline = Instant::now() + Duration::from_secs(20);
    let ports: Value = loop {
        if let Ok(text) = std::fs::read_to_string(&ports) {
            break serde_json::from_str(&text).unwrap();
        }
        assert!(Instant::now() < deadline, "simulator did not start");
        std::thread::sleep(Duration::from_millis(50));
    };
    let scenario = write_scenario(
        dir.path(),
        &format!(
            r#"
[target]
url = "http://127.0.0.1:{}"
telemetry = "ws://127.0.0.1:{}"
token_env = "DRILL_TEST_TOKEN"
[load]
rate = 50
[expect]
incident = "any"   # about secrets, not the verdict
[[phase]]
name = "baseline"
duration = "2s"
"#,
            ports["http"], ports["telemetry"]
        ),
    );
    let out = dir.path().join("out");
    let o = run(&["run", scenario.to_str().unwrap(), "--out", out.to_str().unwrap()], &[("DRILL_TEST_TOKEN", &token)]);
    drop(guard);
    assert!(o.status.success(), "stderr: {}", String::from_utf8_lossy(&o.stderr));
    let report = std::fs::read_to_string(out.join("report.json")).unwrap();
    for (what, text) in [("stdout", String::from_utf8_lossy(&o.stdout)), ("stderr", String::from_utf8_lossy(&o.stderr))]
    {
        assert!(!text.contains(&token), "token leaked on {what}");
    }
    assert!(!report.contains(&token), "token leaked into the report");
    let report: Value = serde_json::from_str(&report).unwrap();
    assert_eq!(report["target"]["authenticated"], true);
    assert_eq!(report["phases"][0]["errors"], 0, "the token was sent and accepted: {}", report["phases"][0]);
}

#[test]
fn sigint_ends_the_run_and_reports_it_interrupted() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = write_scenario(
        dir.path(),
        r#"
[load]
rate = 50
[[phase]]
name = "long"
duration = "60s"
"#,
    );
    let out = dir.path().join("out");
    let mut child = Command::new(bin())
        .args(["run", scenario.to_str().unwrap(), "--quiet", "--out", out.to_str().unwrap()])
        .env("SPACETIME_DRILL_JOURNAL", dir.path().join("journal.jsonl"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(4));
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::Signal::SIGINT).unwrap();
    let started = Instant::now();
    let status = child.wait().unwrap();
    assert!(started.elapsed() < Duration::from_secs(20), "the run did not stop promptly");
    assert_eq!(status.code(), Some(2), "an interrupted run was not judged, whatever it measured");
    let report = read_report(&out);
    assert_eq!(report["status"], "interrupted");
    let requests = report["phases"][0]["requests"].as_u64().unwrap();
    assert!(requests > 50, "the phase reached was measured: {requests}");
}

struct KillOnDrop<'a>(&'a mut std::process::Child);

impl Drop for KillOnDrop<'_> {
    fn drop(&mut self) {
        let _ =
            nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.0.id() as i32), nix::sys::signal::Signal::SIGTERM);
        let _ = self.0.wait();
    }
}
