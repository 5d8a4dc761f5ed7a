//! deploy/grafana's dashboard reads only metrics the harness exposes: every query's `drill_*` names are checked
//! against a scrape of a real run (with a fault, so the fault series exist).

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::Value;

use super::{eventually, free_port, http_get, spawn_run, wait_run};

/// Every metric name a scrape exposes: the samples' names, and for each `# TYPE` the names its type implies (a
/// family may have no series yet, e.g. the severity of an incident that is not active).
fn exposed(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            match kind {
                "counter" => names.insert(format!("{name}_total")),
                "histogram" => ["bucket", "sum", "count"].iter().all(|s| names.insert(format!("{name}_{s}"))),
                _ => names.insert(name.to_owned()),
            };
        } else if !line.starts_with('#') && !line.is_empty() {
            names.insert(line.split(['{', ' ']).next().unwrap().to_owned());
        }
    }
    names
}

/// The `drill_*` identifiers of a PromQL expression.
fn drill_names(expr: &str) -> Vec<String> {
    expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .filter(|w| w.starts_with("drill_"))
        .map(str::to_owned)
        .collect()
}

fn exprs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(e)) = m.get("expr") {
                out.push(e.clone());
            }
            m.values().for_each(|v| exprs(v, out));
        }
        Value::Array(a) => a.iter().for_each(|v| exprs(v, out)),
        _ => {}
    }
}

#[test]
fn every_dashboard_query_reads_metrics_the_harness_exposes() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/grafana/spacetime-drill.json");
    let dashboard: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).expect("dashboard is JSON");
    let mut all = Vec::new();
    exprs(&dashboard, &mut all);
    assert!(all.len() >= 10, "panels and the fault annotation: {all:?}");

    let port = free_port();
    let work = tempfile::tempdir().unwrap();
    let file = work.path().join("s.toml");
    let body = "[load]\nrate = 20\n\n[[phase]]\nname = \"only\"\nduration = \"4s\"\nfaults = [\"nothing\"]\n\n\
                [[fault]]\nname = \"nothing\"\n[fault.noop]\n";
    std::fs::write(&file, body).unwrap();
    let listen = format!("127.0.0.1:{port}");
    let out = work.path().join("out");
    let args = ["run", file.to_str().unwrap(), "--quiet", "--out", out.to_str().unwrap()];
    let child = spawn_run(&[&args[..], &["--metrics-listen", &listen]].concat(), work.path());
    // A scrape once requests have been counted (the run lingers for a last scrape only when it was scraped).
    let text = eventually(Duration::from_secs(20), "a scrape with requests", || {
        http_get(port, "/metrics").filter(|t| t.contains("drill_requests_total{") && t.contains("drill_fps{"))
    });
    let o = wait_run(child);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let names = exposed(&text);
    for expr in &all {
        let used = drill_names(expr);
        assert!(!used.is_empty(), "a query that reads no drill metric: {expr}");
        for n in used {
            assert!(names.contains(&n), "{n} (in {expr}) is not exposed; exposed: {names:?}");
        }
    }
}
