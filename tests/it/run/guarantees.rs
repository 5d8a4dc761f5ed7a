//! The guarantees around faults, through the real binary: preflight stops a bad scenario before any load, a dirty
//! journal refuses the run, SIGINT while a fault is held rolls it back before the run exits, and `--dry-run` only
//! logs what each fault would do.

use spacetime_drill::fault::journal::HEADER;
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use super::{bin, read_report, run, write_scenario};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[test]
fn preflight_and_the_blast_radius_stop_a_run_before_any_load() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.jsonl");
    let port = free_port();
    let bad = [
        (format!("[allow]\nports = [{port}]\n[fault.kill_process]\nport = {port}"), "nothing matches"),
        ("[allow]\npaths = [\"/srv/elsewhere\"]\n[fault.disk_fill]\npath = \"/tmp\"\npercent = 50".into(), "blast"),
        ("[allow]\npaths = [\"/srv\"]\n[fault.disk_fill]\npath = \"/\"\npercent = 50".into(), "never a fault target"),
    ];
    for (i, (fault, why)) in bad.iter().enumerate() {
        let (head, table) = fault.split_once("[fault.").unwrap();
        let body = format!(
            "{head}[[phase]]\nname = \"p\"\nduration = \"30s\"\nfaults = [\"f\"]\n[[fault]]\nname = \"f\"\n[fault.{table}\n"
        );
        let path = write_scenario(dir.path(), &body);
        let out = dir.path().join(format!("out{i}"));
        let started = Instant::now();
        let o = run(
            &["run", path.to_str().unwrap(), "--quiet", "--out", out.to_str().unwrap()],
            &[("SPACETIME_DRILL_JOURNAL", journal.to_str().unwrap())],
        );
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "case {i}: {stderr}");
        assert!(stderr.contains(why), "case {i} should say {why:?}: {stderr}");
        assert!(started.elapsed() < Duration::from_secs(20), "no 30 s phase ran");
        assert!(!out.join("report.json").exists(), "case {i}: nothing ran, so nothing was reported");
    }
    assert!(clean(&journal), "nothing was journaled");
}

#[test]
fn a_dirty_journal_refuses_the_run_and_names_recover() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.jsonl");
    let ballast = dir.path().join(".spacetime-drill-ballast.left");
    std::fs::write(&ballast, "left behind").unwrap();
    let scope = serde_json::json!({ "paths": [dir.path().canonicalize().unwrap()] });
    let undo = serde_json::json!({"undo": "delete_file", "path": ballast});
    let intent = serde_json::json!({"op": "intent", "id": 0, "fault": "fill", "undo": undo, "scope": scope});
    std::fs::write(&journal, format!("{HEADER}\n{intent}\n")).unwrap();
    let path = write_scenario(dir.path(), "[[phase]]\nname = \"p\"\nduration = \"1s\"\n");
    let env = [("SPACETIME_DRILL_JOURNAL", journal.to_str().unwrap())];
    let o = run(&["run", path.to_str().unwrap(), "--quiet", "--out", dir.path().join("out").to_str().unwrap()], &env);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("spacetime-drill recover") && stderr.contains("fill"), "{stderr}");
    assert!(ballast.exists(), "the run touched nothing");
    let o = run(&["recover"], &env);
    assert!(o.status.success() && !ballast.exists(), "recover undid it");
}

#[test]
fn sigint_while_faults_are_held_rolls_them_back() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.jsonl");
    let port = free_port();
    let scenario = write_scenario(
        dir.path(),
        &format!(
            r#"
[load]
rate = 50
[allow]
ports = [{port}]
[[phase]]
name = "baseline"
duration = "2s"
[[phase]]
name = "fault"
duration = "60s"
faults = ["kill-dap", "squat"]
[[fault]]
name = "kill-dap"
[fault.kill_process]
sim = "dap"
restart = true
[[fault]]
name = "squat"
[fault.port_conflict]
port = {port}
"#
        ),
    );
    let out = dir.path().join("out");
    let mut child = Command::new(bin())
        .args(["run", scenario.to_str().unwrap(), "--quiet", "--out", out.to_str().unwrap()])
        .env("SPACETIME_DRILL_JOURNAL", &journal)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpListener::bind(("127.0.0.1", port)).is_ok() {
        assert!(Instant::now() < deadline, "the port was never held");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_secs(1));
    kill(Pid::from_raw(child.id() as i32), Signal::SIGINT).unwrap();
    let started = Instant::now();
    let status = child.wait().unwrap();
    assert!(started.elapsed() < Duration::from_secs(25), "the run did not stop promptly");
    assert_eq!(status.code(), Some(2), "interrupted");
    assert!(TcpListener::bind(("127.0.0.1", port)).is_ok(), "the held port is free again");
    assert!(clean(&journal), "the journal is clean");
    let report = read_report(&out);
    assert_eq!(report["status"], "interrupted");
    assert!(report["verdict"].is_null(), "an interrupted run is not judged");
    let rolled: Vec<&str> = report["record"]["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"] == "fault_rolled_back")
        .map(|e| e["fault"].as_str().unwrap())
        .collect();
    assert!(rolled.contains(&"kill-dap") && rolled.contains(&"squat"), "{rolled:?}");
}

#[test]
fn dry_run_measures_but_only_logs_what_each_fault_would_do() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = write_scenario(
        dir.path(),
        r#"
[load]
rate = 50
scenes = ["res://vr_main.tscn"]
[[phase]]
name = "baseline"
duration = "2s"
[[phase]]
name = "fault"
duration = "3s"
faults = ["gone"]
[[fault]]
name = "gone"
[fault.scene]
scene = "res://vr_main.tscn"
action = "rename"
[expect]
incident = "any"   # a dry run injects nothing: it is observed, not gated
"#,
    );
    let out = dir.path().join("out");
    let o = run(&["run", scenario.to_str().unwrap(), "--dry-run", "--quiet", "--out", out.to_str().unwrap()], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let report = read_report(&out);
    let events = report["record"]["events"].as_array().unwrap();
    let dry: Vec<&serde_json::Value> = events.iter().filter(|e| e["event"] == "fault_dry_run").collect();
    assert_eq!(dry.len(), 1, "{events:?}");
    assert!(dry[0]["detail"].as_str().unwrap().contains("vr_main.tscn"), "{}", dry[0]);
    assert!(!events.iter().any(|e| e["event"] == "fault_injected"), "nothing was injected");
    let fault_phase = &report["phases"][1];
    assert!(fault_phase["requests"].as_u64().unwrap() > 100, "load and probes ran: {fault_phase}");
    assert_eq!(fault_phase["errors"], 0, "the scene was never renamed: {fault_phase}");
}

/// A journal with nothing in it: absent, or its header alone.
fn clean(journal: &std::path::Path) -> bool {
    let text = std::fs::read_to_string(journal).unwrap_or_default();
    text.is_empty() || text == format!("{HEADER}\n")
}
