//! `validate` and `schema` through the real binary: every malformed fixture gets exit 2 and an error at the right
//! file:line:column naming the mistake; every shipped scenario validates; the schema describes (and accepts) them.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_spacetime-drill");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Runs the binary from the crate root, so paths in messages are the relative ones passed.
fn drill(args: &[&str]) -> Output {
    Command::new(BIN).args(args).current_dir(ROOT).output().expect("run spacetime-drill")
}

/// `(fixture, line:column, a phrase the message must contain)`, one mistake per fixture.
/// Issue 13 added one fixture per class of hostile input `validate` used to accept, choke on or explain badly.
const BAD: &[(&str, &str, &str)] = &[
    ("allow_root_dotdot", "3:10", "/.. is / (every file of the host): never a fault target nor in the blast radius"),
    ("bad_duration", "4:12", "unknown time unit \"parsecs\""),
    ("bad_url_scheme", "3:1", "must be http://host[:port] or https://host[:port]"),
    ("billions_of_users", "4:1", "users in [load]: 3000000000 is out of range; use 1 to 100000 users"),
    ("data_fs_zero", "3:1", "data_fs_mib in [sim]: 0 is out of range; use 1 to 16384 MiB"),
    ("disk_fill_outside_allow", "13:1", "outside the blast radius; add it (or a parent) to [allow] paths"),
    ("duplicate_key", "4:1", "duplicate key \"rate\": first defined on line 3; keep one of the two"),
    ("duplicate_phase", "7:1", "phase name \"baseline\" is used twice"),
    ("duplicate_table", "9:2", "duplicate key \"load\": first defined on line 2"),
    ("empty_fault_name", "7:1", "name in [[fault]]: is empty; name the fault"),
    ("huge_max_in_flight", "3:1", "max_in_flight in [load]: 9223372036854775807 is out of range; use 1 to 65536"),
    ("huge_phase", "4:1", "duration in [[phase]]: 292271023045years"),
    ("latency_overflow", "10:1", "latency in [fault.network]: latency + jitter must be at most 1h"),
    ("leak_u64_max", "10:1", "bytes_per_request in [fault.memory_leak]: 18446744073709551615 is out of range"),
    ("missing_duration", "6:1", "missing field \"duration\" in [[phase]]; add duration = ..."),
    ("missing_phase", "1:1", "no [[phase]] table"),
    ("negative_rate", "5:10", "rate in [phase.load]: -50 is not allowed"),
    ("not_utf8", "2:12", "is not UTF-8 (a bad byte at line 2, column 12); save it as UTF-8"),
    ("probe_interval_ns", "3:1", "interval in [probe]: 1ns is out of range; use 100ms to 1h"),
    ("rate_1e12", "3:1", "rate in [load]: 1000000000000 is not allowed"),
    ("scene_path_dotdot", "3:11", "\"res://../../etc/passwd.tscn\" leaves the project"),
    ("severity_worst", "14:1", "worst = \"P3\" tolerates nothing worse than P3, but severity = \"P1\""),
    ("sim_knob_with_target", "6:1", "[sim] sets up the embedded simulator, and this scenario has a [target]"),
    ("single_phase_table", "2:1", "[phase] is one table, but phase takes a list of them: write [[phase]]"),
    ("token_env_and_file", "5:1", "token_env and token_file are both set"),
    ("two_kinds", "12:8", "fault \"both\" has 2 kinds (exec, noop); keep exactly one"),
    (
        "typo_phase_key",
        "4:1",
        "unknown field \"durration\" in [[phase]], expected one of: name, duration, load, faults",
    ),
    ("unknown_fault", "5:11", "no [[fault]] named \"dsik\" (defined: disk); did you mean \"disk\"?"),
    ("unknown_fault_kind", "9:8", "unknown field \"disk_full\" in [[fault]]"),
    ("unknown_field", "3:1", "unknown field \"stauts\" in [load.mix]"),
    ("unknown_incident", "7:12", "did you mean \"high_error_rate\"?"),
    ("users_override", "13:10", "users = 8, but the users model runs one user count for the whole run (4)"),
    ("wrong_type", "3:8", "rate in [load]: invalid type: string \"fast\", expected a number"),
];

fn toml_files(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(Path::new(ROOT).join(dir))
        .expect("read dir")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
}

/// Issue 13: a FIFO blocked `validate` forever and `/dev/zero` was read until memory ran out.
#[test]
fn special_files_are_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("scenario.toml");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
    for (path, what) in [(fifo.to_str().unwrap(), "is a FIFO"), ("/dev/zero", "is a device")] {
        let out = drill(&["validate", path]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(&format!("{path}: {what}, not a regular file")), "{stderr}");
    }
    let big = dir.path().join("big.toml");
    std::fs::write(&big, format!("# {}\n", "x".repeat(1 << 20))).unwrap();
    let out = drill(&["validate", big.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("is larger than the 1048576 bytes"));
}

#[test]
fn each_bad_fixture_gets_exit_2_and_a_located_message() {
    for (name, at, phrase) in BAD {
        let file = format!("tests/fixtures/bad/{name}.toml");
        let out = drill(&["validate", &file]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{file}: {stderr}");
        let first = stderr.lines().next().unwrap_or_default();
        assert!(first.starts_with(&format!("{file}:{at}: ")), "{file}: want {at}, got: {first}");
        assert!(first.contains(phrase), "{file}: want {phrase:?} in: {first}");
        assert_eq!(stderr.lines().count(), 1, "{file}: one mistake, one message: {stderr}");
        assert!(out.stdout.is_empty(), "{file}: nothing on stdout");
    }
}

#[test]
fn every_bad_fixture_has_an_expectation() {
    let names: Vec<String> = toml_files("tests/fixtures/bad")
        .iter()
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    let listed: Vec<&str> = BAD.iter().map(|(n, _, _)| *n).collect();
    assert_eq!(names, listed, "tests/fixtures/bad/*.toml and BAD must list the same fixtures, sorted");
    assert!(names.len() >= 10);
}

#[test]
fn every_shipped_scenario_validates() {
    let files = toml_files("scenarios");
    assert!(files.iter().any(|f| f.ends_with("ci-gate.toml")));
    let args: Vec<&str> = std::iter::once("validate").chain(files.iter().map(|f| f.to_str().unwrap())).collect();
    let out = drill(&args);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    for f in &files {
        assert!(stdout.contains(&format!("ok: {} (", f.display())), "{}: {stdout}", f.display());
    }
}

#[test]
fn validate_reports_good_and_bad_files_in_one_run() {
    let out = drill(&["validate", "scenarios/ci-gate.toml", "tests/fixtures/bad/missing_phase.toml", "nope.toml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stdout).contains("ok: scenarios/ci-gate.toml (2 phases, 0 faults)"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("tests/fixtures/bad/missing_phase.toml:1:1: "), "{stderr}");
    assert!(stderr.contains("nope.toml: "), "a missing file is named too: {stderr}");
}

#[test]
fn schema_is_json_describing_and_accepting_the_shipped_scenarios() {
    let out = drill(&["schema"]);
    assert_eq!(out.status.code(), Some(0));
    let schema: serde_json::Value = serde_json::from_slice(&out.stdout).expect("schema is JSON");
    let props = &schema["properties"];
    for key in ["phase", "load", "fault", "target", "allow", "thresholds", "expect"] {
        assert!(props.get(key).is_some(), "schema lacks {key}");
    }
    let validator = jsonschema::validator_for(&schema).expect("a valid JSON Schema");
    for f in toml_files("scenarios") {
        let doc: serde_json::Value = toml::from_str(&std::fs::read_to_string(&f).unwrap()).unwrap();
        assert!(validator.is_valid(&doc), "{} does not match the schema", f.display());
    }
    let typo: serde_json::Value = toml::from_str("[[phase]]\nname = \"a\"\ndurration = \"1s\"\n").unwrap();
    assert!(!validator.is_valid(&typo), "the schema rejects unknown keys too");
}

/// `[probe] cpu` reads a process on this machine: refused for a target elsewhere, in the file and on the command line.
#[test]
fn a_cpu_probe_of_a_target_on_another_machine_is_refused_by_validate_and_by_run() {
    use crate::tls::{drill, write};
    const PHASE: &str = "[[phase]]\nname = \"p\"\nduration = \"1s\"\n";
    let limit = std::time::Duration::from_secs(10);
    let dir = tempfile::tempdir().unwrap();
    let why =
        "the CPU probe measures a process on this machine and the target http://staging.example:8080 is not on it";
    // In the file: validate names the key and the fix.
    let remote = format!("[target]\nurl = \"http://staging.example:8080\"\n[probe]\ncpu = true\n{PHASE}");
    let file = write(dir.path(), "remote.toml", &remote);
    let r = drill(&["validate", file.to_str().unwrap()], &[], limit);
    assert_eq!(r.code, Some(2));
    assert!(r.stderr.contains(&format!("cpu in [probe]: {why}")) && r.stderr.contains("[probe] pid"), "{}", r.stderr);
    // On the command line: run refuses before any load; a local target or a PID is measurable.
    let file = write(dir.path(), "local.toml", &format!("[probe]\ncpu = true\n{PHASE}"));
    let r = drill(&["validate", file.to_str().unwrap()], &[], limit);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let r = drill(&["run", file.to_str().unwrap(), "--quiet", "--target", "http://staging.example:8080"], &[], limit);
    assert_eq!(r.code, Some(2));
    assert!(r.stderr.contains(why) && r.report.is_none(), "{}", r.stderr);
    let file = write(dir.path(), "pid.toml", &format!("[probe]\ncpu = true\npid = 1\n{PHASE}"));
    assert_eq!(drill(&["validate", file.to_str().unwrap()], &[], limit).code, Some(0));
}
