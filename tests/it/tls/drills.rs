//! The CI gate, high-error-rate and auth-failures drills over HTTPS and WSS against one simulator started as its own
//! process (`sim --tls-cert ... --jwt-secret-file ...`), run as `run --target https://... --telemetry wss://...`
//! with the token from the environment: shortened copies of the shipped drills (the same faults in the same order,
//! seconds-long phases) reach the verdicts the shipped drills reach over plain HTTP (`run/shipped.rs`). Against a
//! target the run did not start, the faults name their objects: the DAP and the LSP by their ports with a restart
//! command, the signing key by its file, and the bad token is a wrongly signed one (an expired one needs the
//! target's secret, which the run knows only for its own simulator). The restart commands do what the embedded
//! simulator's revival does, the runbook's own recovery step: start the peer again, wait until it listens, then
//! `POST /connect` so the bridge reconnects now rather than after its backoff; that is also what lets the
//! recovery phases be 7 s (two healthy 5 s windows from the second after the rollback) instead of the shipped 10 s.
//! Baselines of 2 s and fault phases of 3 s are shorter than a window, so each is judged as one span, with the
//! severity the shipped drill's longer phases reach. And a TLS target that dies mid-run gives counted errors and a
//! verdict, never a hang.

use std::time::Duration;

use serde_json::Value;

use super::{Pki, drill, https, tls_sim, write, wss};

/// `(phase, incident, severity)` each copy must show, as its shipped drill does.
type Seen<'a> = &'a [(&'a str, &'a str, &'a str)];

fn assert_seen(report: &Value, seen: Seen) {
    let phases = report["verdict"]["phases"].as_array().unwrap();
    for (phase, incident, severity) in seen {
        let p = phases.iter().find(|p| p["name"] == *phase).unwrap();
        let found = p["incidents"].as_array().unwrap().iter().find(|f| f["incident"] == *incident);
        assert_eq!(found.and_then(|f| f["severity"].as_str()), Some(*severity), "{phase}: {}", p["incidents"]);
    }
}

#[test]
fn gate_high_error_rate_and_auth_failures_over_tls_reach_the_http_verdicts() {
    let _one = crate::run::one_at_a_time();
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let secret_dir = dir.path().join("secret");
    std::fs::create_dir(&secret_dir).unwrap();
    let secret = secret_dir.join("jwt.secret");
    std::fs::write(&secret, "tls-drill-signing-secret").unwrap();
    let sim = tls_sim(&pki, "server", &["--jwt-secret-file".into(), secret.display().to_string()]);
    let token = spacetime_sim::auth::mint(b"tls-drill-signing-secret", Duration::from_secs(3600), None).unwrap();
    let (url, ws) = (https(&sim, "127.0.0.1"), wss(&sim));
    let target = format!(
        "[target]\nurl = \"{url}\"\ntelemetry = \"{ws}\"\ntoken_env = \"DRILL_TLS_TOKEN\"\nca_file = \"{}\"\n",
        pki.arg("ca.pem")
    );
    let revived = [dir.path().join("dap.pid"), dir.path().join("lsp.pid")];
    let _revived = revived.clone().map(KillPidFile);
    let run = |name: &str, body: &str, seen: Seen, verdict: &str| {
        let path = write(dir.path(), &format!("{name}.toml"), &format!("{target}{body}"));
        let args = ["run", path.to_str().unwrap(), "--quiet", "--target", &url, "--telemetry", &ws];
        let r = drill(&args, &[("DRILL_TLS_TOKEN", &token)], Duration::from_secs(90));
        assert_eq!(r.code, Some(0), "{name}: every expectation holds over TLS");
        assert!(r.stdout.contains(verdict), "{name}: {verdict:?} in the verdict");
        let report = r.report.unwrap();
        assert!(!serde_json::to_string(&report).unwrap().contains(&token), "{name}: the token stays secret");
        assert!(fps(&report), "{name}: FPS measured over wss");
        assert_seen(&report, seen);
        for fault in report["verdict"]["faults"].as_array().unwrap() {
            assert!(fault["recovery"]["after_s"].is_number(), "{name}: {} recovered", fault["name"]);
        }
    };

    run("ci-gate", GATE, &[], "PASS healthy");
    // The runbook's "Restart connection" (`curl -X POST .../connect`) after the peer is back, as the embedded
    // simulator's revival does; the token comes from the environment, so the scenario text never holds it.
    let restart = |peer: &str, port: u16, pid_file: &std::path::Path| {
        let port_file = dir.path().join(format!("{peer}.port"));
        format!(
            "{exe} sim {peer} --port {port} --project-dir {project} --port-file {pf} >/dev/null 2>&1 </dev/null & \
             echo $! > {pid}; while [ ! -s {pf} ]; do sleep 0.02; done; curl -sS -o /dev/null --cacert {ca} -X POST \
             -H \"Authorization: Bearer $DRILL_TLS_TOKEN\" {url}/connect",
            exe = crate::support::EXE,
            project = sim.project_dir.display(),
            pf = port_file.display(),
            pid = pid_file.display(),
            ca = pki.arg("ca.pem"),
        )
    };
    let (dap, lsp) = (sim.ports.dap, sim.ports.lsp);
    let high = HIGH_ERROR_RATE
        .replace("DAP_PORT", &dap.to_string())
        .replace("LSP_PORT", &lsp.to_string())
        .replace("RESTART_DAP", &restart("dap", dap, &revived[0]))
        .replace("RESTART_LSP", &restart("lsp", lsp, &revived[1]));
    let seen = [("dap-killed", "high_error_rate", "P1"), ("lsp-killed", "high_error_rate", "P1")];
    run("high-error-rate", &high, &seen, "high_error_rate P1");
    let auth = AUTH_FAILURES.replace("SECRET_FILE", &secret.display().to_string());
    let auth = auth.replace("SECRET_DIR", &secret_dir.display().to_string());
    let seen = [("key-rotated", "auth_failures", "P1"), ("expired-share", "auth_failures", "P2")];
    run("auth-failures", &auth, &seen, "auth_failures P1");
}

/// Some FPS was measured over the wss stream (per phase).
fn fps(report: &Value) -> bool {
    report["phases"].as_array().unwrap().iter().any(|p| p["fps"]["median"].is_number())
}

#[test]
fn a_tls_target_that_dies_mid_run_gives_counted_errors_and_a_verdict() {
    let pki = Pki::new();
    let sim = tls_sim(&pki, "server", &[]);
    let dir = tempfile::tempdir().unwrap();
    let body = format!(
        "[target]\nurl = \"{}\"\ntelemetry = \"{}\"\nca_file = \"{}\"\n[load]\nrate = 100\ntimeout = \"1s\"\n\
         [[phase]]\nname = \"dies\"\nduration = \"3s\"\n",
        https(&sim, "127.0.0.1"),
        wss(&sim),
        pki.arg("ca.pem")
    );
    let path = write(dir.path(), "dies.toml", &body);
    let killer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(1500));
        drop(sim);
    });
    let r = drill(&["run", path.to_str().unwrap(), "--quiet"], &[], Duration::from_secs(40));
    killer.join().unwrap();
    assert_ne!(r.code, Some(2), "the run completed and was judged: {}", r.stderr);
    let report = r.report.unwrap();
    assert_eq!(report["status"], "completed");
    let phase = &report["phases"][0];
    let (requests, errors) = (phase["requests"].as_u64().unwrap(), phase["errors"].as_u64().unwrap());
    assert!(errors >= 50 && requests >= 200, "the second half failed and was counted: {phase}");
    assert!(report["verdict"]["phases"][0]["incidents"].as_array().is_some_and(|i| !i.is_empty()), "a verdict");
}

/// Kills a DAP or LSP a restart command brought back (it is not in the simulator's process group).
struct KillPidFile(std::path::PathBuf);

impl Drop for KillPidFile {
    fn drop(&mut self) {
        if let Some(pid) = std::fs::read_to_string(&self.0).ok().and_then(|p| p.trim().parse::<i32>().ok()) {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
        }
    }
}

const GATE: &str = r#"
[load]
model = "open"
rate = 200
[[phase]]
name = "warmup"
duration = "2s"
[[phase]]
name = "baseline"
duration = "5s"
[expect]
incident = "healthy"
"#;

const HIGH_ERROR_RATE: &str = r#"
[load]
rate = 200
timeout = "2s"
[[phase]]
name = "baseline"
duration = "2s"
[[phase]]
name = "dap-killed"
duration = "3s"
faults = ["kill-dap"]
[[phase]]
name = "recovery-1"
duration = "7s"
[[phase]]
name = "lsp-killed"
duration = "3s"
faults = ["kill-lsp"]
[[phase]]
name = "recovery-2"
duration = "7s"
[[fault]]
name = "kill-dap"
[fault.kill_process]
port = DAP_PORT
signal = "KILL"
restart = true
restart_command = 'RESTART_DAP'
[[fault]]
name = "kill-lsp"
[fault.kill_process]
port = LSP_PORT
signal = "KILL"
restart = true
restart_command = 'RESTART_LSP'
[allow]
ports = [DAP_PORT, LSP_PORT]
[expect]
incident = "high_error_rate"
severity = "P1"
detect_within = "6s"
recover_within = "30s"
"#;

const AUTH_FAILURES: &str = r#"
[load]
rate = 150
timeout = "2s"
[[phase]]
name = "baseline"
duration = "2s"
[[phase]]
name = "key-rotated"
duration = "3s"
faults = ["rotate"]
[[phase]]
name = "recovery-1"
duration = "7s"
[[phase]]
name = "expired-share"
duration = "3s"
faults = ["expired"]
[[phase]]
name = "recovery-2"
duration = "7s"
[[fault]]
name = "rotate"
[fault.key_rotation]
secret_file = "SECRET_FILE"
[[fault]]
name = "expired"
[fault.expired_token]
share = 0.3
mode = "wrong_signature"
[allow]
paths = ["SECRET_DIR"]
[expect]
incident = "auth_failures"
severity = "P1"
detect_within = "6s"
recover_within = "30s"
"#;
