//! Sharded runs merged and judged (issue 12): two shards of the high-error-rate drill (`--shard 0/2` and `1/2`,
//! one shared start instant) merged name high_error_rate at the severity one unsharded run of the same total rate
//! shows, the merged junit.xml holds the real cases, and against `[expect] incident = "healthy"` the merge exits 1
//! as the run does.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use spacetime_drill::judge::{Incident, Severity};
use spacetime_drill::report::{self, Conclusion};

use super::fixture::tmp;

/// `scenarios/high-error-rate.toml` cut to its killed-DAP part (3 s baseline, 6 s fault, 5 s recovery), expecting
/// healthy.
fn drill() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/high-error-rate.toml");
    let mut doc: toml::Table = toml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let phases = doc.get_mut("phase").and_then(|p| p.as_array_mut()).unwrap();
    phases.truncate(3);
    for (phase, secs) in phases.iter_mut().zip(["3s", "6s", "5s"]) {
        phase.as_table_mut().unwrap().insert("duration".into(), secs.into());
    }
    doc.get_mut("fault").and_then(|f| f.as_array_mut()).unwrap().truncate(1);
    doc.insert("expect".into(), toml::Value::Table(toml::from_str("incident = \"healthy\"").unwrap()));
    toml::to_string(&doc).unwrap()
}

fn run(scenario: &Path, out: &Path, extra: &[String]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_spacetime-drill"))
        .args(["run", scenario.to_str().unwrap(), "--quiet", "--out", out.to_str().unwrap()])
        .args(extra)
        .env("SPACETIME_DRILL_JOURNAL", out.with_extension("journal.jsonl"))
        .output()
        .unwrap()
}

fn severity(dir: &Path) -> Option<Severity> {
    report::read_json(&dir.join("report.json")).unwrap().verdict.unwrap().worst_of(Incident::HighErrorRate)
}

#[test]
fn two_shards_merged_are_judged_as_one_run() {
    // Three simulators under load whose verdicts are compared: they take their turn with the other drills.
    let _one = crate::run::one_at_a_time();
    let dir = tmp("shards");
    let scenario = dir.join("high-error-rate.toml");
    std::fs::write(&scenario, drill()).unwrap();
    let at = (chrono::Utc::now() + chrono::Duration::seconds(8)).to_rfc3339();
    let shard = |i: u32| -> (PathBuf, Vec<String>) {
        (
            dir.join(format!("shards/shard-{i}")),
            vec!["--shard".into(), format!("{i}/2"), "--start-at".into(), at.clone()],
        )
    };
    let whole = dir.join("whole");
    // The three runs at once: each starts its own simulator, and the shards share one start instant.
    let outputs: Vec<Output> = std::thread::scope(|s| {
        let runs: Vec<_> = [shard(0), shard(1), (whole.clone(), Vec::new())]
            .into_iter()
            .map(|(out, extra)| {
                let scenario = &scenario;
                s.spawn(move || run(scenario, &out, &extra))
            })
            .collect();
        runs.into_iter().map(|r| r.join().unwrap()).collect()
    });
    for o in &outputs {
        assert!(matches!(o.status.code(), Some(0 | 1)), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let unsharded = severity(&whole);
    assert_eq!(unsharded, Some(Severity::P1), "the killed DAP is a P1 high error rate at 200 req/s");

    let merged = dir.join("merged");
    let o = Command::new(env!("CARGO_BIN_EXE_spacetime-drill"))
        .args([
            "merge",
            dir.join("shards").to_str().unwrap(),
            "--out",
            merged.to_str().unwrap(),
            "--format",
            "junit,md",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "healthy was expected: {stdout}{}", String::from_utf8_lossy(&o.stderr));
    let m = report::read_json(&merged.join("report.json")).unwrap();
    assert_eq!(m.outcome.conclusion, Conclusion::Failed);
    assert_eq!(severity(&merged), unsharded, "the same severity as the unsharded run: {stdout}");
    let rate = |d: &Path| {
        let r = report::read_json(&d.join("report.json")).unwrap();
        r.phases.iter().find(|p| p.name == "dap-killed").map(|p| (p.requests, p.error_rate_pct)).unwrap()
    };
    eprintln!("dap-killed (requests, error %): unsharded {:?}, merged {:?}", rate(&whole), rate(&merged));
    let requests =
        |d: &Path| report::read_json(&d.join("report.json")).unwrap().phases.iter().map(|p| p.requests).sum::<u64>();
    let shards = requests(&dir.join("shards/shard-0")) + requests(&dir.join("shards/shard-1"));
    assert_eq!(requests(&merged), shards, "every request of both shards");
    let fault = m.verdict.as_ref().unwrap().faults.first().expect("shard 0's fault is the drill's");
    assert!(fault.time_to_detect(Some(Incident::HighErrorRate)).is_some(), "{fault:?}");
    let headline = report::headline(&m);
    assert!(headline.starts_with("FAIL: ") && headline.contains("high_error_rate P1"), "{headline}");
    assert!(stdout.starts_with(&headline));
    let summary = std::fs::read_to_string(merged.join("summary.md")).unwrap();
    assert!(summary.contains(&format!("**{headline}**")), "{summary}");
    // The merged junit.xml has the real cases: the outcome, every phase check, the expectation; failures where the
    // DAP was dead.
    let xml = std::fs::read_to_string(merged.join("junit.xml")).unwrap();
    let checks: usize = m.verdict.as_ref().unwrap().phases.iter().map(|p| p.checks.len()).sum();
    assert_eq!(xml.matches("<testcase ").count(), 1 + checks + m.expectations.len(), "{xml}");
    assert!(xml.contains("classname=\"phase.dap-killed\"") && xml.contains("name=\"healthy\""), "{xml}");
    assert!(xml.contains(&format!("message=\"{headline}\"")), "{xml}");
    assert!(xml.matches("<failure").count() >= 3, "outcome, error_rate_pct in dap-killed, healthy: {xml}");
}
