//! `scenarios/ci-gate.toml`, shortened: it fails (exit 1) when frame work pushes p95 over the runbook's 200 ms (that
//! the gate as shipped passes against a healthy simulator is `run::ci_gate_passes_a_healthy_simulator_with_rate_times_duration_requests`).

use super::drills::drive;
use super::repo;

/// The gate's own file with its phases cut to 2 s + 8 s, and `extra` appended.
fn short_gate(extra: &str) -> String {
    let text = std::fs::read_to_string(repo("scenarios/ci-gate.toml")).unwrap();
    let mut file: toml::Table = toml::from_str(&text).unwrap();
    let phases = file.get_mut("phase").and_then(|p| p.as_array_mut()).unwrap();
    assert_eq!(phases.len(), 2, "warmup and baseline");
    for (phase, secs) in phases.iter_mut().zip(["2s", "8s"]) {
        phase.as_table_mut().unwrap().insert("duration".into(), secs.into());
    }
    format!("{}\n{extra}", toml::to_string(&file).unwrap())
}

#[test]
fn ci_gate_fails_when_frame_work_makes_p95_slow() {
    let _one = super::one_at_a_time();
    // 300 ms of work per frame: every request waits for a frame, so p95 lands well above 200 ms.
    let (code, stdout, report) = drive(&short_gate("[sim]\nframe_work_ms = 300.0\n"));
    assert_eq!(code, Some(1));
    let p95 = report["phases"][1]["latency_ms"]["p95"].as_f64().unwrap();
    assert!(p95 > 200.0, "p95 {p95} ms");
    assert!(stdout.contains("FAIL healthy") && stdout.contains("p95_ms"), "{stdout}");
}
