//! Scenario files: parsing, checking, and the errors a user reads when a file is wrong.
//!
//! Two stages, as ripgrep parses its arguments: [`model`] is the serde mirror of the TOML (unknown keys are errors),
//! then [`Scenario::load`] checks what serde cannot (ranges, cross references, the blast radius) and yields a
//! [`Scenario`] whose faults are already turned into the closed [`FaultSpec`] enum. Every error, from either stage,
//! carries `file:line:column` and a fix ([`ScenarioError`]). This module never runs anything.
//!
//! Layout: `model.rs` (sections; `[thresholds]` is the judge's [`Thresholds`], whose one list of names and
//! defaults lives with the judge), `fault/` (fault kinds and their checks), `expect.rs`, `check.rs` (the semantic
//! rules), `locate.rs` (key paths ↔ source positions), `error.rs`, `command.rs`
//! (`validate` and `schema`).

mod baseline;
mod check;
mod command;
mod error;
mod expect;
mod fault;
mod host;
pub mod limits;
mod locate;
mod model;
mod plan;

use std::path::{Path, PathBuf};

pub use crate::runbook::Expect;
pub use crate::runbook::Thresholds;
pub use baseline::Tolerance;
pub use command::{schema, validate_command};
pub use error::{ErrorKind, LineCol, ScenarioError, closest};
pub use fault::*;
pub use host::{HostEntry, HostProbe};
pub use model::*;
pub use plan::PhasePlan;

use crate::input::InputError;
use locate::Doc;

/// A checked scenario, ready to run.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// `name` from the file, else the file's stem; names the report directory.
    pub name: String,
    /// The file it was loaded from.
    pub path: PathBuf,
    /// The file as written, defaults filled in: "the scenario as run" in reports (it holds no secrets).
    pub file: ScenarioFile,
    /// The `[[fault]]` entries, checked, in file order (phases refer to them by `name`).
    pub faults: Vec<Fault>,
    /// The timeline as the load engines run it, defaults filled in.
    pub phases: Vec<PhasePlan>,
}

impl Scenario {
    /// Reads, parses and checks a scenario file; the error is the first problem found.
    pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
        Self::diagnose(path).map_err(|mut all| all.swap_remove(0))
    }

    /// Like [`Scenario::load`], but every semantic problem at once (parse errors stop at the first).
    pub fn diagnose(path: &Path) -> Result<Scenario, Vec<ScenarioError>> {
        let text = crate::input::read_text(path, crate::input::SCENARIO_CAP).map_err(|e| {
            let at = match e {
                InputError::NotUtf8 { line, column } => Some(LineCol { line, column }),
                _ => None,
            };
            vec![ScenarioError { path: path.to_owned(), at, message: e.to_string(), kind: ErrorKind::Read }]
        })?;
        Self::parse(path, &text)
    }

    /// Parses and checks `text`; `path` names it in errors and gives the default scenario name.
    pub fn parse(path: &Path, text: &str) -> Result<Scenario, Vec<ScenarioError>> {
        let error =
            |at: Option<LineCol>, message: String, kind| ScenarioError { path: path.to_owned(), at, message, kind };
        let doc = Doc::parse(text).map_err(|e| {
            let at = e.span().map(|s| LineCol::of(text, s.start));
            vec![error(at, locate::explain_syntax(text, &e), ErrorKind::Parse)]
        })?;
        let file: ScenarioFile = toml::from_str(text).map_err(|e| {
            let (span, message) = doc.explain(&e);
            vec![error(Some(LineCol::of(text, span.start)), message, ErrorKind::Parse)]
        })?;
        let faults = check::check(&file).map_err(|issues| {
            let mut errors: Vec<ScenarioError> = issues
                .into_iter()
                .map(|i| {
                    let at = LineCol::of(text, doc.span_of(&i.at).start);
                    error(Some(at), format!("{}: {}", doc.describe(&i.at), i.message), ErrorKind::Check)
                })
                .collect();
            errors.sort_by_key(|e| e.at.map(|at| (at.line, at.column)));
            errors
        })?;
        let stem = || path.file_stem().unwrap_or_default().to_string_lossy().into_owned();
        let phases = plan::resolve(&file);
        Ok(Scenario { name: file.name.clone().unwrap_or_else(stem), path: path.to_owned(), file, faults, phases })
    }
}

#[cfg(test)]
mod tests;
