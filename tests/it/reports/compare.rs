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
