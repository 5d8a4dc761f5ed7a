//! Bad input around live metrics: an address in use stops the run before any load, and a Prometheus that never
//! answers is counted per query while the run keeps its timeline.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use super::{read_report, spawn_run, wait_run};

const SHORT: &str = "[load]\nrate = 20\n\n[[phase]]\nname = \"only\"\nduration = \"3s\"\n";

#[test]
fn metrics_listen_on_a_port_in_use_fails_before_any_load() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let work = tempfile::tempdir().unwrap();
    let file = work.path().join("s.toml");
    std::fs::write(&file, SHORT).unwrap();
    let out = work.path().join("out");
    let started = Instant::now();
    let args = ["run", file.to_str().unwrap(), "--quiet", "--out", out.to_str().unwrap(), "--metrics-listen", &addr];
    let o = wait_run(spawn_run(&args, work.path()));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--metrics-listen") && stderr.contains(&addr), "{stderr}");
    assert!(!out.join("report.json").exists(), "nothing ran, so nothing was reported");
    assert!(started.elapsed() < Duration::from_secs(3), "failed before the 3 s phase: {:?}", started.elapsed());
}

#[test]
fn a_prometheus_that_never_answers_is_counted_and_never_stalls_the_run() {
    // Accepts connections (the kernel's backlog) and never answers: the worst case for a probe.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let work = tempfile::tempdir().unwrap();
    let file = work.path().join("s.toml");
    let body =
        format!("{SHORT}\n[probe]\nprometheus = \"http://127.0.0.1:{port}\"\nqueries = {{ p95 = \"vector(1)\" }}\n");
    std::fs::write(&file, body).unwrap();
    let out = work.path().join("out");
    let started = Instant::now();
    let o =
        wait_run(spawn_run(&["run", file.to_str().unwrap(), "--quiet", "--out", out.to_str().unwrap()], work.path()));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(started.elapsed() < Duration::from_secs(15), "a 3 s run took {:?}", started.elapsed());
    let report = read_report(&out);
    let seconds = report["record"]["seconds"].as_array().unwrap();
    let failures: u64 = seconds.iter().filter_map(|s| s["probe_failures"]["prometheus/p95"].as_u64()).sum();
    assert!(failures >= 2, "each tick counted: {failures}");
    let events = report["record"]["events"].as_array().unwrap();
    let failed: Vec<_> =
        events.iter().filter(|e| e["event"] == "probe_failed" && e["probe"] == "prometheus/p95").collect();
    assert_eq!(failed.len(), 1, "one event per failure spell: {failed:?}");
    assert!(failed[0]["error"].as_str().unwrap().contains("no answer"), "{failed:?}");
    drop(silent);
}

#[test]
fn validate_names_each_bad_metrics_or_query_key() {
    let work = tempfile::tempdir().unwrap();
    let file = work.path().join("bad.toml");
    let body = r#"
[metrics]
listen = "localhost:9464"

[probe]
queries = { "p95-s" = "up", slow = { query = "x", below = 0.2, above = 1.0, incident = "slow_response" } }

[[phase]]
name = "only"
duration = "1s"
"#;
    std::fs::write(&file, body).unwrap();
    let o = wait_run(spawn_run(&["validate", file.to_str().unwrap()], work.path()));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    for wanted in [
        "is not host:port",
        "queries need a server to ask",
        "\"p95-s\" cannot name a check",
        "below and above are both set",
        "did you mean \"slow_responses\"",
    ] {
        assert!(stderr.contains(wanted), "{wanted:?} missing from:\n{stderr}");
    }
}
