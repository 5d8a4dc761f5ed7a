//! Issue 13: every time a report holds is bounded on reading (`tests/fixtures/reports/bad_times.json`: a field of
//! the current golden report, a value no run writes, and what the reader must say). `report`, `compare` and `merge`
//! each refuse the damaged file with exit code 2, naming the file and the field's path, write nothing and never
//! panic.

use std::path::Path;

use super::fixture::{bin, tmp};

#[test]
fn a_time_out_of_range_is_refused_by_every_reader_naming_the_field() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/reports");
    let golden: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("v3.json")).unwrap()).unwrap();
    let cases: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(root.join("bad_times.json")).unwrap()).unwrap();
    assert!(cases.len() >= 10);
    let dir = tmp("bounds");
    for (i, case) in cases.iter().enumerate() {
        let (field, says) = (case["field"].as_str().unwrap(), case["says"].as_str().unwrap());
        let mut damaged = golden.clone();
        *damaged.pointer_mut(field).unwrap_or_else(|| panic!("{field} is in v3.json")) = case["value"].clone();
        let file = dir.join(format!("bad-{i}.json"));
        std::fs::write(&file, damaged.to_string()).unwrap();
        let (f, g, out) = (file.to_str().unwrap(), root.join("v3.json"), dir.join(format!("out-{i}")));
        let (g, out) = (g.to_str().unwrap(), out.to_str().unwrap());
        for args in [vec!["report", f, "--out", out], vec!["compare", g, f], vec!["merge", g, f, "--out", out]] {
            let o = bin(&args);
            let text = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
            assert_eq!(o.status.code(), Some(2), "{args:?}: {text}");
            assert!(text.contains(f) && text.contains(says), "{args:?}: wanted {says:?} in {text}");
            assert!(!text.contains("panicked") && !text.contains("NaN"), "{args:?}: {text}");
        }
        assert!(!Path::new(out).exists(), "case {i}: nothing written");
    }
}
