//! Schema compatibility: a golden report of every version this build reads (`tests/fixtures/reports/v2.json`,
//! written by the release before schema 3; `v3.json`, the current one) goes through `report`, `compare` and `merge`;
//! a newer version is refused naming the version, and a corrupt time is an error, never a panic.

use std::path::{Path, PathBuf};

use spacetime_drill::report::{self, Conclusion, OLDEST_READ, SCHEMA_VERSION};

use super::fixture::{bin, tmp};

fn golden(version: u32) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/reports/v{version}.json"))
}

fn code_and_text(o: &std::process::Output) -> (Option<i32>, String) {
    (o.status.code(), format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr)))
}

#[test]
fn there_is_a_golden_of_every_version_read_and_the_current_one_is_current() {
    for v in OLDEST_READ..=SCHEMA_VERSION {
        let text = std::fs::read_to_string(golden(v)).unwrap();
        let raw: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(raw["schema_version"], v, "v{v}.json is a schema {v} report");
        let r = report::parse_json(&text).unwrap_or_else(|e| panic!("v{v}.json: {e:#}"));
        assert_eq!(r.schema_version, SCHEMA_VERSION, "read as the current version");
        assert_eq!(r.outcome, report::decide(&r), "v{v}.json: its outcome is the one decide gives");
    }
}

#[test]
fn the_previous_version_is_migrated_from_what_it_recorded() {
    let v2 = report::read_json(&golden(OLDEST_READ)).unwrap();
    let v3 = report::read_json(&golden(SCHEMA_VERSION)).unwrap();
    // The same scenario file: the hash computed on migration is the one a run records.
    assert_eq!(v2.scenario.hash, v3.scenario.hash);
    assert!(!v2.run_id.is_empty() && v2.run_id != v3.run_id);
    assert_eq!(v2.outcome.conclusion, Conclusion::Passed, "{:?}", v2.outcome);
    assert_eq!(v2.expectations.len(), 1, "judged again from the stored verdict: {:?}", v2.expectations);
    // A failed injection recorded in schema 2's event log becomes a harness error.
    let mut raw: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(golden(2)).unwrap()).unwrap();
    let failed =
        serde_json::json!({"t": 3.0, "event": "fault_failed", "fault": "dap-down", "error": "no such process"});
    raw["record"]["events"].as_array_mut().unwrap().push(failed);
    let r = report::parse_json(&raw.to_string()).unwrap();
    assert_eq!(r.errors, ["fault dap-down failed: no such process"]);
    assert_eq!(r.outcome.conclusion, Conclusion::Error);
}

#[test]
fn the_previous_version_reads_through_report_compare_and_merge() {
    let dir = tmp("versions");
    let (v2, v3) = (golden(OLDEST_READ), golden(SCHEMA_VERSION));
    let out = dir.join("rendered");
    let (code, text) = code_and_text(&bin(&["report", v2.to_str().unwrap(), "--out", out.to_str().unwrap()]));
    assert_eq!(code, Some(0), "{text}");
    let summary = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(summary.contains("**PASS: high_error_rate P1**"), "{summary}");
    let (code, text) = code_and_text(&bin(&["compare", v2.to_str().unwrap(), v3.to_str().unwrap()]));
    assert!(matches!(code, Some(0 | 1)) && text.contains("p95_ms"), "{text}");
    let merged = dir.join("merged");
    let (code, text) =
        code_and_text(&bin(&["merge", v2.to_str().unwrap(), v3.to_str().unwrap(), "--out", merged.to_str().unwrap()]));
    assert!(matches!(code, Some(0 | 1)), "two runs of one scenario merge: {text}");
    let m = report::read_json(&merged.join("report.json")).unwrap();
    assert_eq!(code, Some(i32::from(m.outcome.conclusion.exit_code())));
    let requests = |r: &report::Report| r.phases.iter().map(|p| p.requests).sum::<u64>();
    let (a, b) = (report::read_json(&v2).unwrap(), report::read_json(&v3).unwrap());
    assert_eq!(requests(&m), requests(&a) + requests(&b));
}

#[test]
fn a_newer_or_older_version_is_refused_naming_it() {
    let dir = tmp("versions-newer");
    let mut raw: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(golden(SCHEMA_VERSION)).unwrap()).unwrap();
    for (version, says) in [
        (SCHEMA_VERSION + 1, format!("schema_version {} is newer than this build reads", SCHEMA_VERSION + 1)),
        (OLDEST_READ - 1, format!("schema_version {} is older than this build reads", OLDEST_READ - 1)),
    ] {
        raw["schema_version"] = version.into();
        let path = dir.join(format!("v{version}.json"));
        std::fs::write(&path, raw.to_string()).unwrap();
        let p = path.to_str().unwrap();
        let out = dir.join("out");
        for args in [
            vec!["report", p, "--out", out.to_str().unwrap()],
            vec!["compare", p, p],
            vec!["merge", p, "--out", out.to_str().unwrap()],
        ] {
            let (code, text) = code_and_text(&bin(&args));
            assert_eq!(code, Some(2), "{args:?}: {text}");
            assert!(text.contains(&says) && text.contains(&format!("{OLDEST_READ} and {SCHEMA_VERSION}")), "{text}");
        }
    }
}

#[test]
fn a_corrupt_time_is_an_error_and_no_renderer_panics_on_it() {
    let dir = tmp("versions-hostile");
    let text = std::fs::read_to_string(golden(SCHEMA_VERSION)).unwrap();
    let mut raw: serde_json::Value = serde_json::from_str(&text).unwrap();
    raw["duration_s"] = serde_json::json!(1e308);
    let path = dir.join("huge.json");
    std::fs::write(&path, raw.to_string()).unwrap();
    let (code, text) =
        code_and_text(&bin(&["report", path.to_str().unwrap(), "--out", dir.join("out").to_str().unwrap()]));
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("duration_s 1e308 is not a time in seconds") && !text.contains("panicked"), "{text}");
    // Renderers called directly on such a report (no reader in between) still do not panic.
    let mut r = report::read_json(&golden(SCHEMA_VERSION)).unwrap();
    for d in [1e308, f64::INFINITY, f64::NAN, -5.0] {
        r.duration_s = d;
        let mut xml = Vec::new();
        report::render_junit(&r, &mut xml).expect("renders");
        assert!(String::from_utf8(xml).unwrap().contains("<testsuite"), "duration {d}");
    }
}

#[test]
fn the_verdicts_events_live_in_the_verdict_and_are_written_where_schema_3_lists_them() {
    let text = std::fs::read_to_string(golden(SCHEMA_VERSION)).unwrap();
    let raw: serde_json::Value = serde_json::from_str(&text).unwrap();
    let r = report::parse_json(&text).unwrap();
    // Read: the record keeps what was measured; the verdict's entries are derived from the verdict.
    let measured = raw["record"]["events"].as_array().unwrap().len();
    let judged = r.verdict.as_ref().expect("the golden is judged").events().len();
    assert_eq!(judged, 5, "one detection, one recovery, three severity changes");
    assert_eq!(r.record.events.len(), measured - judged);
    // Written back: the same log, in the same order, as the build that wrote the golden.
    let mut out = Vec::new();
    report::render_json(&r, &mut out).unwrap();
    let again: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(again["record"]["events"], raw["record"]["events"]);
}
