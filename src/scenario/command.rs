//! The `validate` and `schema` subcommands: scenario checking without a run, and editor completion.

use std::path::PathBuf;
use std::process::ExitCode;

use super::{Scenario, ScenarioFile};

/// Checks each file: `ok: FILE (N phases, M faults)` on stdout, or every problem on stderr.
/// Exit 0 when all files are fine, 2 otherwise (the harness's "usage or scenario error").
pub fn validate_command(files: &[PathBuf]) -> ExitCode {
    let mut failed = false;
    for path in files {
        match Scenario::diagnose(path) {
            Ok(s) => println!("ok: {} ({} phases, {} faults)", path.display(), s.file.phases.len(), s.faults.len()),
            Err(errors) => {
                failed = true;
                errors.iter().for_each(|e| eprintln!("{e}"));
            }
        }
    }
    if failed { ExitCode::from(2) } else { ExitCode::SUCCESS }
}

/// The JSON Schema of scenario files, pretty-printed.
pub fn schema() -> String {
    let schema = schemars::schema_for!(ScenarioFile);
    serde_json::to_string_pretty(&schema).expect("a JSON Schema is plain JSON")
}
