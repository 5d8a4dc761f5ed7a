//! Every drill shipped in `scenarios/` (issue 5, acceptance 1): run as it is against the embedded simulator, the
//! verdict names the incident class and severity it expects (each fault's own severity where a drill has two), with
//! time to detect and to recover, the run exits 0, and its report renders in every format (issue 6); the same drill
//! with every fault replaced by `noop` breaks its expectation (exit 1), which proves it can fail. Drills run one at
//! a time: two simulators under load on two cores would measure each other.

use std::path::Path;

use serde_json::Value;

use spacetime_drill::report::{Format, Report, render_all};

use super::drills::{drive, events};
use super::repo;

fn drill_text(name: &str) -> String {
    std::fs::read_to_string(repo(&format!("scenarios/{name}.toml"))).unwrap()
}

/// The drill with each `[fault.<kind>]` table emptied into `[fault.noop]`, every phase cut to 1 s and no
/// `recover_within`: 1 s after the last rollback could never show a recovery, so `validate` refuses it.
fn noop_twin(text: &str) -> String {
    let mut doc: toml::Table = toml::from_str(text).unwrap();
    doc["expect"].as_table_mut().unwrap().remove("recover_within");
    for fault in doc["fault"].as_array_mut().unwrap() {
        let f = fault.as_table_mut().unwrap();
        f.retain(|k, _| k == "name" || k == "ttl");
        f.insert("noop".into(), toml::Value::Table(toml::Table::new()));
    }
    for phase in doc["phase"].as_array_mut().unwrap() {
        phase.as_table_mut().unwrap().insert("duration".into(), "1s".into());
    }
    toml::to_string(&doc).unwrap()
}

/// `(phase, incident, severity)`: the incident each fault phase of a drill must show, at its worst severity.
type Seen = &'static [(&'static str, &'static str, &'static str)];

fn check(name: &str, per_fault: Seen) {
    let _one = super::one_at_a_time();
    let text = drill_text(name);
    if text.contains("data_fs_mib") && !nix::unistd::geteuid().is_root() {
        eprintln!("skipped {name}: its data filesystem is a tmpfs, which needs root");
        return;
    }
    let expect: toml::Table = toml::from_str::<toml::Table>(&text).unwrap()["expect"].as_table().unwrap().clone();
    let (code, stdout, report) = drive(&text);
    assert_eq!(code, Some(0), "{name}: every expectation holds:\n{stdout}");
    if let Some(incident) = expect.get("incident").and_then(|i| i.as_str()) {
        let seen: Vec<&Value> = report["verdict"]["faults"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|f| f["detections"].as_array().unwrap())
            .filter(|d| d["incident"] == incident)
            .collect();
        assert!(!seen.is_empty(), "{name}: {incident} detected after a fault");
        assert!(stdout.contains("PASS incident"), "{name}: {stdout}");
        for d in &seen {
            eprintln!("{name}: {incident} {} detected in {:.1} s", d["severity"], d["after_s"].as_f64().unwrap());
        }
        if let Some(severity) = expect.get("severity").and_then(|s| s.as_str()) {
            assert!(stdout.contains(&format!("{incident} {severity}")), "{name}: {incident} {severity} in:\n{stdout}");
        }
    }
    let injected = events(&report, "fault_injected");
    let rolled_back = events(&report, "fault_rolled_back");
    for fault in toml::from_str::<toml::Table>(&text).unwrap()["fault"].as_array().unwrap() {
        let fault = &fault["name"];
        assert!(injected.iter().any(|e| e["fault"].as_str() == fault.as_str()), "{name}: {fault} injected");
        assert!(rolled_back.iter().any(|e| e["fault"].as_str() == fault.as_str()), "{name}: {fault} rolled back");
    }
    assert!(!events(&report, "incident_detected").is_empty() && !events(&report, "recovered").is_empty());
    assert!(stdout.contains("detected in"), "{name}: {stdout}");
    let faults = report["verdict"]["faults"].as_array().unwrap();
    let fault_count = faults.len();
    for fault in faults {
        assert!(fault["recovery"]["after_s"].is_number(), "{name}: time to recover reported for {}", fault["name"]);
    }
    let phases = report["verdict"]["phases"].as_array().unwrap();
    for (phase, incident, severity) in per_fault {
        let p = phases.iter().find(|p| p["name"] == *phase).unwrap_or_else(|| panic!("{name}: phase {phase}"));
        let seen = p["incidents"].as_array().unwrap().iter().find(|f| f["incident"] == *incident);
        let seen = seen.and_then(|f| f["severity"].as_str());
        assert_eq!(seen, Some(*severity), "{name}: {phase} shows {incident} {severity}: {}", p["incidents"]);
    }
    let report: Report = spacetime_drill::report::parse_json(&report.to_string()).expect("the report reads back");
    let dir = tempfile::tempdir().unwrap();
    let files = render_all(&report, dir.path(), &[Format::Html, Format::Junit, Format::Md]).expect("renders");
    assert_eq!(files.len(), 4, "{name}: html, junit, summary and post-mortem");
    let (code, stdout, twin) = drive(&noop_twin(&text));
    assert_eq!(code, Some(1), "{name} with noop faults must fail its expectation:\n{stdout}");
    assert!(stdout.contains("FAIL "), "{stdout}");
    assert_eq!(events(&twin, "fault_injected").len(), fault_count, "{name}: the noops were injected all the same");
    let broken = twin["expectations"].as_array().unwrap().iter().any(|e| e["passed"] == false);
    assert!(broken, "{name}: an expectation is broken: {}", twin["expectations"]);
}

macro_rules! drills {
    ($($test:ident => $file:literal $seen:expr),* $(,)?) => {$(
        #[test]
        fn $test() {
            check($file, $seen);
        }
    )*};
}

drills! {
    api_unresponsive => "api-unresponsive" &[("port-held", "api_unresponsive", "P0"), ("api-killed", "api_unresponsive", "P0")],
    high_error_rate => "high-error-rate" &[("dap-killed", "high_error_rate", "P1"), ("lsp-killed", "high_error_rate", "P1")],
    slow_responses => "slow-responses" &[("latency", "slow_responses", "P1"), ("frame-work", "slow_responses", "P1")],
    fps_collapse => "fps-collapse" &[("collapse", "slow_responses", "P1"), ("sluggish", "slow_responses", "P2")],
    auth_failures => "auth-failures" &[("key-rotated", "auth_failures", "P1"), ("expired-share", "auth_failures", "P2")],
    scene_load_failures => "scene-load-failures" &[("scenes-gone", "scene_load_failures", "P1"), ("one-corrupt", "scene_load_failures", "P2")],
    memory_leak => "memory-leak" &[("leaking", "memory_leak", "P2")],
    disk_exhaustion => "disk-exhaustion" &[("at-86", "disk_exhaustion", "P2"), ("at-96", "disk_exhaustion", "P1"), ("full", "scene_load_failures", "P1")],
    game_day => "game-day" &[("dap-killed", "high_error_rate", "P1"), ("latency", "slow_responses", "P2"), ("corrupt-scene", "scene_load_failures", "P2")],
}

#[test]
fn every_drill_with_faults_is_tested_here() {
    let listed = include_str!("shipped.rs");
    for entry in std::fs::read_dir(repo("scenarios")).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        // Drills on `[[host]]`s need their hosts; tests/it/hosts runs their kind against a test sshd.
        let on_hosts = text.contains("[[host]]");
        if path.extension().is_some_and(|e| e == "toml") && text.contains("[[fault]]") && !on_hosts {
            let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
            assert!(listed.contains(&format!("=> \"{stem}\" ")), "{} has no test here", Path::new(&stem).display());
        }
    }
}
