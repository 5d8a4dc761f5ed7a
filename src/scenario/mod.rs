//! Scenario files: parsing, checking, and the errors a user reads when a file is wrong.

mod model;

use std::path::Path;

pub use model::*;

/// A checked scenario, ready to run.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub name: String,
    pub file: ScenarioFile,
}

impl Scenario {
    pub fn load(path: &Path) -> anyhow::Result<Scenario> {
        let text = std::fs::read_to_string(path)?;
        let file: ScenarioFile = toml::from_str(&text)?;
        let name =
            file.name.clone().unwrap_or_else(|| path.file_stem().unwrap_or_default().to_string_lossy().into_owned());
        Ok(Scenario { name, file })
    }
}
