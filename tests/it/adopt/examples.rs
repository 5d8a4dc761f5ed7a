//! `examples/`: the CI files parse as YAML, do what the README says they do (gate, report.html uploaded, JUnit
//! published, summary on the job page), and every `spacetime-drill` command in them is one this build accepts,
//! each flag one its `--help` lists.

use std::path::Path;

use clap::Parser;
use serde_norway::Value;
use spacetime_drill::cli::{Cli, Command};

use super::help;

fn example(file: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples").join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_norway::from_str(&text).unwrap_or_else(|e| panic!("{} is not YAML: {e}", path.display()))
}

/// Every `spacetime-drill ...` command line in `scripts` (shell text), as arguments, `${{ ... }}` expressions made
/// plain words. Only commands are taken, not the word as an argument (`cargo install ... spacetime-drill`).
fn drill_commands(scripts: &[&str]) -> Vec<Vec<String>> {
    let mut commands = Vec::new();
    for script in scripts {
        let joined = script.replace("\\\n", " ");
        for line in joined.lines().filter(|l| !l.trim_start().starts_with('#')) {
            let mut plain = line.to_owned();
            while let (Some(a), Some(b)) = (plain.find("${{"), plain.find("}}")) {
                plain.replace_range(a..b + 2, "EXPR");
            }
            let words = shlex::split(&plain).unwrap_or_else(|| panic!("unbalanced quotes: {line}"));
            for command in words.split(|w| ["&&", "||", ";", "|"].contains(&w.as_str())) {
                let command: Vec<String> = command.iter().skip_while(|w| w.contains('=')).cloned().collect();
                if command.first().is_some_and(|w| w == "spacetime-drill") {
                    commands.push(command);
                }
            }
        }
    }
    commands
}

/// Each command parses with this build's command line, and each flag is in its subcommand's `--help`.
fn assert_accepted(commands: &[Vec<String>]) {
    for command in commands {
        let parsed = Cli::try_parse_from(command).unwrap_or_else(|e| panic!("{command:?} does not parse:\n{e}"));
        let sub = command[1].as_str();
        let text = help(&[sub]);
        for flag in command.iter().filter(|w| w.starts_with("--")) {
            let name = flag.split('=').next().unwrap();
            assert!(
                text.contains(&format!("{name} ")) || text.contains(&format!("{name}\n")),
                "`{sub} --help` lacks {name}"
            );
        }
        if let Command::Run(run) = parsed.command {
            let formats = format!("{:?}", run.format);
            for want in ["Html", "Junit", "Md"] {
                assert!(formats.contains(want), "the gate writes report.html, junit.xml and summary.md: {command:?}");
            }
        }
    }
}

/// The `--out` directory of the one `run` among `commands`.
fn run_out(commands: &[Vec<String>]) -> String {
    let runs: Vec<&Vec<String>> = commands.iter().filter(|c| c[1] == "run").collect();
    assert_eq!(runs.len(), 1, "one gate run: {commands:?}");
    let out = runs[0].iter().position(|w| w == "--out").expect("the run names its report directory");
    runs[0][out + 1].trim_end_matches('/').to_owned()
}

#[test]
fn the_github_workflow_gates_uploads_publishes_and_summarises() {
    let wf = example("github-actions.yml");
    let steps = wf["jobs"]["drill"]["steps"].as_sequence().expect("jobs.drill.steps");
    let scripts: Vec<&str> = steps.iter().filter_map(|s| s["run"].as_str()).collect();
    let commands = drill_commands(&scripts);
    assert!(commands.iter().any(|c| c[1] == "validate"), "{commands:?}");
    assert_accepted(&commands);
    let out = run_out(&commands);
    assert!(scripts.iter().any(|s| s.contains("cargo install --locked")), "installs as the README says");

    let uses = |prefix: &str| steps.iter().find(|s| s["uses"].as_str().is_some_and(|u| u.starts_with(prefix)));
    let upload = uses("actions/upload-artifact@").expect("an upload step");
    assert_eq!(upload["if"], "always()", "the reports of a failed gate are the ones wanted");
    let path = upload["with"]["path"].as_str().unwrap().trim_end_matches('/');
    assert!(path == out || path == format!("{out}/report.html"), "uploads {path}, the run writes {out}/report.html");
    let junit = uses("mikepenz/action-junit-report@").expect("a JUnit publisher");
    assert_eq!(junit["if"], "always()");
    assert_eq!(junit["with"]["report_paths"].as_str(), Some(format!("{out}/junit.xml").as_str()));
    assert_eq!(wf["permissions"]["checks"], "write", "the publisher creates a check run");
    // The summary reaches the job page through `run` itself: its flag reads GITHUB_STEP_SUMMARY.
    assert!(help(&["run"]).contains("GITHUB_STEP_SUMMARY"), "run --help documents the variable it appends to");
}

#[test]
fn the_gitlab_job_gates_and_reports_junit() {
    let ci = example("gitlab-ci.yml");
    let job = &ci["performance-gate"];
    let lines = |key: &str| -> Vec<String> {
        job[key].as_sequence().map_or_else(Vec::new, |s| s.iter().map(|l| l.as_str().unwrap().to_owned()).collect())
    };
    let scripts: Vec<String> = [lines("before_script"), lines("script")].concat();
    let commands = drill_commands(&scripts.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(commands.iter().any(|c| c[1] == "validate"), "{commands:?}");
    assert_accepted(&commands);
    let out = run_out(&commands);
    let artifacts = &job["artifacts"];
    assert_eq!(artifacts["when"], "always");
    assert_eq!(artifacts["reports"]["junit"].as_str(), Some(format!("{out}/junit.xml").as_str()));
    let paths: Vec<&str> = artifacts["paths"].as_sequence().unwrap().iter().map(|p| p.as_str().unwrap()).collect();
    assert!(paths.iter().any(|p| p.trim_end_matches('/') == out), "{paths:?} keeps {out}/report.html");
}

#[test]
fn a_misspelt_flag_in_an_example_would_be_caught() {
    let commands = drill_commands(&["spacetime-drill run s.toml --formats md --out x"]);
    assert_eq!(commands.len(), 1);
    assert!(Cli::try_parse_from(&commands[0]).is_err());
    assert!(drill_commands(&["cargo install --locked --git \"$G\" spacetime-drill"]).is_empty());
}
