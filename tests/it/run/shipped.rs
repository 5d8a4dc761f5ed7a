//! Every drill shipped in `scenarios/` (issue 5, acceptance 1): run as it is against the embedded simulator, the
//! verdict names the incident class and severity it expects, with time to detect and to recover, and the run exits
//! 0; the same drill with every fault replaced by `noop` breaks its expectation (exit 1), which proves it can fail.
//! Drills run one at a time: two simulators under load on two cores would measure each other.

use std::path::Path;
use std::sync::Mutex;

use serde_json::Value;

use super::drills::drive;
use super::repo;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn drill_text(name: &str) -> String {
    std::fs::read_to_string(repo(&format!("scenarios/{name}.toml"))).unwrap()
}

/// The drill with each `[fault.<kind>]` table emptied into `[fault.noop]` and every phase cut to 3 s.
fn noop_twin(text: &str) -> String {
    let mut doc: toml::Table = toml::from_str(text).unwrap();
    for fault in doc["fault"].as_array_mut().unwrap() {
        let f = fault.as_table_mut().unwrap();
        f.retain(|k, _| k == "name" || k == "ttl");
        f.insert("noop".into(), toml::Value::Table(toml::Table::new()));
    }
    for phase in doc["phase"].as_array_mut().unwrap() {
        phase.as_table_mut().unwrap().insert("duration".into(), "3s".into());
    }
    toml::to_string(&doc).unwrap()
}

fn check(name: &str) {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
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
        if let Some(severity) = expect.get("severity").and_then(|s| s.as_str()) {
            assert!(stdout.contains(&format!("{incident} {severity}")), "{name}: {incident} {severity} in:\n{stdout}");
        }
    }
    for fault in report["verdict"]["faults"].as_array().unwrap() {
        assert!(fault["recovery"]["after_s"].is_number(), "{name}: time to recover reported for {}", fault["name"]);
    }
    let (code, stdout, _) = drive(&noop_twin(&text));
    assert_eq!(code, Some(1), "{name} with noop faults must fail its expectation:\n{stdout}");
    assert!(stdout.contains("FAIL"), "{stdout}");
}

macro_rules! drills {
    ($($test:ident => $file:literal),* $(,)?) => {$(
        #[test]
        fn $test() {
            check($file);
        }
    )*};
}

drills! {
    api_unresponsive => "api-unresponsive",
    high_error_rate => "high-error-rate",
    slow_responses => "slow-responses",
    auth_failures => "auth-failures",
    scene_load_failures => "scene-load-failures",
    memory_leak => "memory-leak",
    disk_exhaustion => "disk-exhaustion",
    game_day => "game-day",
}

#[test]
fn every_drill_with_faults_is_tested_here() {
    let listed = include_str!("shipped.rs");
    for entry in std::fs::read_dir(repo("scenarios")).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        if path.extension().is_some_and(|e| e == "toml") && text.contains("[[fault]]") {
            let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
            assert!(listed.contains(&format!("=> \"{stem}\"")), "{} has no test here", Path::new(&stem).display());
        }
    }
}
