//! `reports/schema.json` is the JSON Schema of `report.json`: the committed file is what this build derives from
//! its types, and a real run's report validates against it.

use super::fixture::{bin, short_report};

fn committed() -> serde_json::Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("reports/schema.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("reports/schema.json is committed")).unwrap()
}

#[test]
fn the_committed_report_schema_is_the_one_the_code_derives() {
    let o = bin(&["schema", "--report"]);
    assert!(o.status.success());
    let derived: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(
        derived == committed(),
        "reports/schema.json is stale: regenerate it with `spacetime-drill schema --report > reports/schema.json`"
    );
}

#[test]
fn a_real_report_validates_against_the_schema() {
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(short_report()).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&committed()).expect("the schema compiles");
    let errors: Vec<String> = validator.iter_errors(&report).map(|e| format!("{}: {e}", e.instance_path)).collect();
    assert!(errors.is_empty(), "report.json breaks its schema: {errors:#?}");
    let mut broken = report.clone();
    broken["phases"] = serde_json::json!("not a list");
    assert!(!validator.is_valid(&broken), "the schema can fail");
}
