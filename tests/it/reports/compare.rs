//! `compare`: a report against itself passes, a run with added frame work fails naming p95, unlike reports do not
//! compare (exit 2, saying why).

use super::fixture::{bin, run_short, short_report, tmp};

fn compare(a: &std::path::Path, b: &std::path::Path) -> (i32, String, String) {
    let o = bin(&["compare", a.to_str().unwrap(), b.to_str().unwrap()]);
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (o.status.code().expect("exited"), text(&o.stdout), text(&o.stderr))
}

#[test]
fn a_report_compared_with_itself_passes() {
    let (code, out, err) = compare(short_report(), short_report());
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("p95_ms") && !out.contains("REGRESSED"), "{out}");
}

#[test]
fn added_frame_work_fails_naming_p95() {
    // 25 ms of work per frame delays every answer by up to a frame: p95 rises well past +10 % and +5 ms.
    let slow = run_short("slow", 25.0);
    let (code, out, err) = compare(short_report(), &slow);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.lines().any(|l| l.starts_with("regression: p95 of all in phase")), "{out}");
}

#[test]
fn unlike_reports_do_not_compare() {
    let dir = tmp("mismatch");
    let mut v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(short_report()).unwrap()).unwrap();
    v["scenario"]["name"] = "other".into();
    let renamed = dir.join("renamed.json");
    std::fs::write(&renamed, v.to_string()).unwrap();
    let (code, _, err) = compare(short_report(), &renamed);
    assert_eq!(code, 2);
    assert!(err.contains("different scenarios") && err.contains("\"other\""), "{err}");

    v["scenario"]["name"] = "short".into();
    v["phases"].as_array_mut().unwrap().pop();
    let cut = dir.join("cut.json");
    std::fs::write(&cut, v.to_string()).unwrap();
    let (code, _, err) = compare(short_report(), &cut);
    assert_eq!(code, 2);
    assert!(err.contains("phase \"after\" is in the baseline report only"), "{err}");
}

/// The killed-DAP drill against the same drill whose fault did nothing: error rates regress in the fault phase.
fn regressed_pair(name: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let dir = tmp(name);
    let (base, cur) = (dir.join("baseline.json"), dir.join("current.json"));
    spacetime_drill::report::write_json(&super::fixture::quiet_drill_report(), &base).unwrap();
    spacetime_drill::report::write_json(&super::fixture::drill_report(), &cur).unwrap();
    (base, cur)
}

#[test]
fn tolerances_must_be_finite_and_not_negative_naming_the_flag() {
    let (base, cur) = regressed_pair("tolerance-bad");
    for flag in ["--p95-pct", "--p95-ms", "--error-points", "--fps-drop"] {
        for value in ["nan", "inf", "-1", "-0.5"] {
            let o = bin(&["compare", base.to_str().unwrap(), cur.to_str().unwrap(), &format!("{flag}={value}")]);
            let err = String::from_utf8_lossy(&o.stderr);
            assert_eq!(o.status.code(), Some(2), "{flag} {value}: {err}");
            assert!(err.contains(flag) && err.contains("not a tolerance"), "{flag} {value}: {err}");
        }
    }
    // The gate the issue found open: a NaN error tolerance no longer passes 0 % to 25 % errors.
    let o = bin(&["compare", base.to_str().unwrap(), cur.to_str().unwrap(), "--error-points", "0.5"]);
    assert_eq!(o.status.code(), Some(1));
    // /debug/evaluate went from 0 % to 100 % errors: only a 100-point tolerance lets that through.
    let o = bin(&["compare", base.to_str().unwrap(), cur.to_str().unwrap(), "--error-points", "100"]);
    assert_eq!(o.status.code(), Some(0), "a tolerance wide enough passes: {}", String::from_utf8_lossy(&o.stdout));
}

#[test]
fn regressions_only_and_markdown_views() {
    let (base, cur) = regressed_pair("tolerance-views");
    let (b, c) = (base.to_str().unwrap(), cur.to_str().unwrap());
    let all = String::from_utf8(bin(&["compare", b, c]).stdout).unwrap();
    let only = String::from_utf8(bin(&["compare", b, c, "--regressions-only"]).stdout).unwrap();
    assert!(all.lines().count() > only.lines().count(), "{only}");
    let rows: Vec<&str> = only.lines().skip(1).filter(|l| !l.starts_with("regression: ")).collect();
    assert!(!rows.is_empty() && rows.iter().all(|l| l.ends_with("REGRESSED")), "{only}");
    assert!(only.contains("regression: error_rate of all in phase fault went from 0.00 to 25.00"), "{only}");
    let o = bin(&["compare", b, c, "--markdown", "--regressions-only"]);
    assert_eq!(o.status.code(), Some(1));
    let md = String::from_utf8(o.stdout).unwrap();
    assert!(md.starts_with("**Baseline: "), "{md}");
    assert!(md.contains("| phase | endpoint | metric | baseline | current | change | |"), "{md}");
    assert!(md.contains("| fault | all | error_rate_pct | 0.00 | 25.00 | +25.00 | ❌ regressed |"), "{md}");
    let same = String::from_utf8(bin(&["compare", b, b, "--markdown"]).stdout).unwrap();
    assert!(same.starts_with("**Baseline: no regression**"), "{same}");
}

#[test]
fn a_scenarios_baseline_table_sets_the_tolerances_and_flags_override_it() {
    let dir = tmp("tolerance-scenario");
    let (base, cur) = (dir.join("baseline.json"), dir.join("current.json"));
    spacetime_drill::report::write_json(&super::fixture::quiet_drill_report(), &base).unwrap();
    let mut current = super::fixture::drill_report();
    current.scenario.file.baseline = toml::from_str("error_points = 100.0").unwrap();
    spacetime_drill::report::write_json(&current, &cur).unwrap();
    let (b, c) = (base.to_str().unwrap(), cur.to_str().unwrap());
    let o = bin(&["compare", b, c]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "[baseline] error_points = 100 tolerates everything: {}",
        String::from_utf8_lossy(&o.stdout)
    );
    assert_eq!(bin(&["compare", b, c, "--error-points", "1"]).status.code(), Some(1), "the flag wins");
    // And a bad [baseline] value is a scenario error naming its key.
    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "[baseline]\nerror_points = -1.0\n[[phase]]\nname = \"p\"\nduration = \"1s\"\n").unwrap();
    let o = bin(&["validate", bad.to_str().unwrap()]);
    let err = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("bad.toml:2:1: error_points in [baseline]") && err.contains("not a tolerance"), "{err}");
}

#[test]
fn report_never_overwrites_an_input_or_another_reports_file() {
    let dir = tmp("report-guard");
    let mine = super::fixture::drill_report();
    let theirs = spacetime_drill::report::Report { run_id: "another-run-entirely".into(), ..mine.clone() };
    spacetime_drill::report::write_json(&mine, &dir.join("report.json")).unwrap();
    spacetime_drill::report::write_json(&theirs, &dir.join("copy.json")).unwrap();
    let before = std::fs::read(dir.join("report.json")).unwrap();
    let report = dir.join("report.json");
    let copy = dir.join("copy.json");
    // Re-rendering a report beside itself is fine; twice too (the files are its own).
    for _ in 0..2 {
        let o = bin(&["report", report.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    }
    for (args, says) in [
        (vec!["report", report.to_str().unwrap(), "--format", "json"], "it is an input"),
        (vec!["report", copy.to_str().unwrap(), "--format", "json"], "another report wrote it"),
        (vec!["report", copy.to_str().unwrap()], "another report wrote it"),
    ] {
        let o = bin(&args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("refusing to overwrite") && err.contains(says) && err.contains("--force"), "{err}");
    }
    assert_eq!(std::fs::read(dir.join("report.json")).unwrap(), before, "report.json untouched");
    let o = bin(&["report", copy.to_str().unwrap(), "--format", "json", "--force"]);
    assert_eq!(o.status.code(), Some(0), "--force: {}", String::from_utf8_lossy(&o.stderr));
    assert_ne!(std::fs::read(dir.join("report.json")).unwrap(), before);
}
