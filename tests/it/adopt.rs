//! Adoption (issue 15): what a team needs to put the tool in its pipeline. The Kubernetes manifests and their wait
//! script, the example CI files checked against this build's command line, the job summary, logs without colour
//! codes off a terminal, completions and man pages, `--version` and the build script that stamps it, and the tmpfs
//! drills' capability check.

mod build_script;
mod capability;
mod examples;
mod kube;
mod logs;
mod manual;
mod step_summary;

use std::process::{Command, Output};

use crate::support::EXE;

/// `spacetime-drill ARGS --help`, as a user reads it.
fn help(args: &[&str]) -> String {
    let out = Command::new(EXE).args(args).arg("--help").output().expect("the binary runs");
    assert!(out.status.success(), "{args:?} --help: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// `spacetime-drill ARGS` in the repository with a private crash journal, and no job summary but the one given.
fn drill(args: &[&str], envs: &[(&str, &str)]) -> Output {
    let journal = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(EXE);
    cmd.args(args).current_dir(env!("CARGO_MANIFEST_DIR")).env_remove("GITHUB_STEP_SUMMARY");
    cmd.env("SPACETIME_DRILL_JOURNAL", journal.path().join("journal.jsonl"));
    cmd.envs(envs.iter().copied());
    cmd.output().expect("the binary runs")
}
