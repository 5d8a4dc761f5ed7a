//! The harness against an implementation of the API it did not write: `tests/fixtures/pybridge/bridge.py`, Python
//! written from the contract alone (a thread per connection and no engine frame, its own HS256 check, its own
//! frame loop, DAP and LSP as child processes it reconnects to). What the harness measures and judges there must be
//! what that service did, not what the simulator would have done.

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::drills::{drive_with, events};
use super::{repo, run};

/// A running pybridge in its own process group, with any peer restarted by a fault, killed when dropped.
struct PyBridge {
    dir: tempfile::TempDir,
    /// The bridge, leader of its process group (its DAP and LSP children are in it).
    child: std::process::Child,
    ports: Value,
}

impl PyBridge {
    fn start(extra: &[&str]) -> PyBridge {
        let dir = tempfile::tempdir().unwrap();
        let project = dir.path().join("project");
        let copied = Command::new("cp").arg("-r").arg(repo("tests/fixtures/pybridge/project")).arg(&project).status();
        assert!(copied.unwrap().success(), "the fixture project is copied, so a fault may change it");
        let ports = dir.path().join("ports.json");
        let child = Command::new("python3")
            .arg(script())
            .arg("--ports-file")
            .arg(&ports)
            .arg("--project-dir")
            .arg(&project)
            .args(extra)
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .expect("python3 runs the fixture");
        let mut bridge = PyBridge { child, dir, ports: Value::Null };
        let deadline = Instant::now() + Duration::from_secs(20);
        bridge.ports = loop {
            if let Some(ports) = std::fs::read_to_string(&ports).ok().and_then(|t| serde_json::from_str(&t).ok()) {
                break ports;
            }
            if let Some(status) = bridge.child.try_wait().unwrap() {
                panic!("pybridge exited ({status}) before it served; its stderr is above");
            }
            assert!(Instant::now() < deadline, "pybridge did not write its ports");
            std::thread::sleep(Duration::from_millis(50));
        };
        bridge
    }

    fn port(&self, which: &str) -> u64 {
        self.ports[which].as_u64().unwrap()
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The operator's restart of a killed peer: a new one on the same port, in a session of its own (the fault runs
    /// this through a shell that exits), its group written down for `Drop`; returns once it serves.
    fn restart_command(&self, kind: &str) -> String {
        let (groups, ready) = (self.path("groups"), self.path(&format!("{kind}-restarted.port")));
        format!(
            "rm -f {ready}; setsid -f sh -c 'echo $$ >> {groups}; exec python3 {script} --serve-peer {kind} \
             --peer-port {port} --ports-file {ready}' >/dev/null 2>&1 </dev/null; \
             for i in $(seq 100); do [ -s {ready} ] && exit 0; sleep 0.05; done; exit 1",
            ready = ready.display(),
            groups = groups.display(),
            script = script().display(),
            port = self.port(kind),
        )
    }

    /// `run` of `scenario` (its `HTTP`, `TELEMETRY` and `DAP` replaced by this bridge's ports) against it.
    fn drive(&self, scenario: &str, envs: &[(&str, &str)]) -> (Option<i32>, String, Value) {
        let scenario = scenario
            .replace("HTTP", &self.port("http").to_string())
            .replace("TELEMETRY", &self.port("telemetry").to_string())
            .replace("DAP", &self.port("dap").to_string());
        drive_with(&scenario, envs)
    }

    fn status(&self) -> Value {
        crate::support::get(self.port("http") as u16, "/status").body
    }
}

impl Drop for PyBridge {
    fn drop(&mut self) {
        let restarted = std::fs::read_to_string(self.path("groups")).unwrap_or_default();
        let groups = restarted.lines().filter_map(|l| l.trim().parse().ok()).chain([self.child.id() as i32]);
        for group in groups {
            let _ = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(group), nix::sys::signal::Signal::SIGKILL);
        }
        let _ = self.child.wait();
    }
}

fn script() -> PathBuf {
    repo("tests/fixtures/pybridge/bridge.py")
}

fn target(rest: &str) -> String {
    format!("[target]\nurl = \"http://127.0.0.1:HTTP\"\ntelemetry = \"ws://127.0.0.1:TELEMETRY\"\n{rest}")
}

/// The CI gate's shape (a warm-up, then a baseline judged healthy) at the gate's 200 req/s, shortened.
const GATE: &str = "[load]\nrate = 200\n[[phase]]\nname = \"warmup\"\nduration = \"2s\"\n[[phase]]\nname = \"baseline\"\n\
                    duration = \"8s\"\n[expect]\nincident = \"healthy\"\n";

#[test]
fn the_ci_gate_passes_a_second_implementation_and_fails_it_on_its_own_low_fps() {
    let _one = super::one_at_a_time();
    let bridge = PyBridge::start(&[]);
    let (code, stdout, report) = bridge.drive(&target(GATE), &[]);
    assert_eq!(code, Some(0), "{stdout}");
    assert!(stdout.contains("PASS healthy"), "{stdout}");
    assert_eq!(report["target"]["embedded"], false);
    for phase in report["phases"].as_array().unwrap() {
        let want = phase["rate"].as_f64().unwrap() * phase["duration_s"].as_f64().unwrap();
        let got = phase["requests"].as_f64().unwrap();
        assert!((got - want).abs() <= want * 0.02, "{}: {got} requests, want {want} ± 2 %", phase["name"]);
        assert_eq!(phase["errors"], 0, "every endpoint of the contract answered: {}", phase["endpoints"]);
        let fps = phase["fps"]["median"].as_f64().expect("pybridge's fps events were read");
        assert!((85.0..=95.0).contains(&fps), "median FPS {fps}");
    }
    let seconds = report["record"]["seconds"].as_array().unwrap();
    assert!(seconds.iter().all(|s| s["status"]["dap"] == "connected" && s["status"]["lsp"] == "connected"));
    drop(bridge);

    // The same gate, the same harness, a bridge whose frames take 20 ms: its FPS (about 50) breaks the gate.
    let slow = PyBridge::start(&["--frame-work-ms", "20"]);
    let (code, stdout, report) = slow.drive(&target(GATE), &[]);
    assert_eq!(code, Some(1), "{stdout}");
    let fps = report["phases"][1]["fps"]["median"].as_f64().unwrap();
    assert!((35.0..65.0).contains(&fps), "the FPS measured is pybridge's: {fps}");
    assert!(
        stdout.contains("FAIL healthy") && stdout.contains("slow_responses"),
        "FPS under 85 is incident 3: {stdout}"
    );
}

const FAULTS: &str = r#"
[load]
rate = 100
timeout = "2s"
[[phase]]
name = "baseline"
duration = "3s"
[[phase]]
name = "dap-killed"
duration = "4s"
faults = ["kill-dap"]
[[phase]]
name = "recovery-1"
duration = "8s"
[[phase]]
name = "frozen"
duration = "4s"
faults = ["freeze"]
[[phase]]
name = "recovery-2"
duration = "8s"
[[fault]]
name = "kill-dap"
[fault.kill_process]
port = DAP
signal = "KILL"
restart = true
restart_command = '''RESTART'''
[[fault]]
name = "freeze"
[fault.kill_process]
port = HTTP
signal = "STOP"
[allow]
ports = [DAP, HTTP]
[expect]
incident = "any"
"#;

/// Faults act on pybridge's real processes: its DAP killed (a new one started at rollback), its bridge stopped
/// (`SIGSTOP`: the port stays open and nothing answers, the stall some load tools hide), and the runbook's classes
/// follow from what the harness measured there.
#[test]
fn real_faults_on_a_second_implementation_are_judged_by_the_runbook_and_rolled_back() {
    let _one = super::one_at_a_time();
    let bridge = PyBridge::start(&[]);
    let scenario = target(FAULTS).replace("RESTART", &bridge.restart_command("dap"));
    let (code, stdout, report) = bridge.drive(&scenario, &[]);
    assert_eq!(code, Some(0), "observe-only: {stdout}");
    let fault = |name: &str| {
        let faults = report["verdict"]["faults"].as_array().unwrap();
        faults.iter().find(|f| f["name"] == name).unwrap_or_else(|| panic!("{name} judged: {faults:?}")).clone()
    };
    let detected = |f: &Value, incident: &str| {
        f["detections"].as_array().unwrap().iter().find(|d| d["incident"] == incident).cloned()
    };
    let killed = fault("kill-dap");
    assert!(detected(&killed, "high_error_rate").is_some(), "503s from a dead DAP: {killed}");
    let frozen = fault("freeze");
    let stall = detected(&frozen, "api_unresponsive").unwrap_or_else(|| panic!("a stopped bridge: {frozen}"));
    assert_eq!(stall["severity"], "P0");
    for f in [&killed, &frozen] {
        assert!(f["recovery"]["after_s"].is_number(), "recovered after the rollback: {f}");
    }
    assert_eq!(events(&report, "fault_rolled_back").len(), 2);
    let state = std::fs::read_to_string(format!("/proc/{}/stat", bridge.child.id())).unwrap();
    assert!(!state.contains(") T "), "SIGCONT at rollback: {state}");
    let status = bridge.status();
    assert_eq!(status["overall_ready"], true, "the restarted DAP serves and pybridge reconnected: {status}");
}

/// pybridge checks HS256 tokens with its own code; a key rotation (its secret file replaced for real) turns every
/// request into a 401, the harness calls it the auth-failure incident, and the rollback puts the same bytes back.
#[test]
fn a_key_rotation_on_a_second_implementation_is_an_auth_failure_and_the_secret_comes_back() {
    let _one = super::one_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("jwt.secret");
    std::fs::write(&secret, "pybridge-signing-secret-0123456789").unwrap();
    let bridge = PyBridge::start(&["--secret-file", secret.to_str().unwrap()]);
    let minted = run(&["sim", "token", "--secret-file", secret.to_str().unwrap(), "--ttl", "1h"], &[]);
    let token = String::from_utf8(minted.stdout).unwrap().trim().to_owned();
    let scenario = target(&format!(
        "token_env = \"PYBRIDGE_TOKEN\"\n[load]\nrate = 100\n[[phase]]\nname = \"baseline\"\nduration = \"3s\"\n\
         [[phase]]\nname = \"rotated\"\nduration = \"4s\"\nfaults = [\"rotate\"]\n[[phase]]\nname = \"recovery\"\n\
         duration = \"8s\"\n[[fault]]\nname = \"rotate\"\n[fault.key_rotation]\nsecret_file = \"{secret}\"\n\
         [allow]\npaths = [\"{dir}\"]\n[expect]\nincident = \"auth_failures\"\nrecover_within = \"8s\"\n",
        secret = secret.display(),
        dir = dir.path().display(),
    ));
    let (code, stdout, report) = bridge.drive(&scenario, &[("PYBRIDGE_TOKEN", &token)]);
    assert_eq!(code, Some(0), "{stdout}");
    assert_eq!(report["phases"][0]["errors"], 0, "pybridge accepted the harness's token: {}", report["phases"][0]);
    let rotated = report["phases"][1]["endpoints"].as_array().unwrap();
    assert!(rotated.iter().any(|e| e["outcomes"]["401"].as_u64() > Some(0)), "401s: {rotated:?}");
    assert_eq!(std::fs::read_to_string(&secret).unwrap(), "pybridge-signing-secret-0123456789");
    assert!(!stdout.contains(&token) && !report.to_string().contains(&token), "the token stays secret");
}
