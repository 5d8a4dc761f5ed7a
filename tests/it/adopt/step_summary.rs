//! `run` appends its summary.md to the CI job summary named by `$GITHUB_STEP_SUMMARY`, after what the job wrote.

use super::drill;

const SHORT: &str = r#"
description = "two seconds of light load"
[load]
rate = 20
[[phase]]
name = "only"
duration = "2s"
"#;

#[test]
fn run_appends_its_summary_to_github_step_summary() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("short.toml");
    std::fs::write(&scenario, SHORT).unwrap();
    let job_summary = dir.path().join("step_summary.md");
    std::fs::write(&job_summary, "# an earlier step\n").unwrap();
    let out = dir.path().join("out");
    let o = drill(
        &["run", scenario.to_str().unwrap(), "--format", "md", "--quiet", "--out", out.to_str().unwrap()],
        &[("GITHUB_STEP_SUMMARY", job_summary.to_str().unwrap())],
    );
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.code().is_some_and(|c| c < 2), "{stdout}{}", String::from_utf8_lossy(&o.stderr));
    let summary = std::fs::read_to_string(out.join("summary.md")).expect("summary.md written");
    let appended = std::fs::read_to_string(&job_summary).unwrap();
    assert_eq!(appended, format!("# an earlier step\n{summary}"), "the job's earlier lines kept, the summary after");
    assert!(summary.contains("## spacetime-drill: short"), "{summary}");
    assert!(stdout.contains(&format!("summary: appended to {}", job_summary.display())), "{stdout}");
}
