//! `report.json`: the canonical, versioned form every other renderer and `compare`/`merge` read back.

use std::path::Path;

use anyhow::Context;

use super::render::write_atomically;
use super::{Report, SCHEMA_VERSION};

/// Write atomically (temp file + rename) so a reader or a crash never leaves half a report.
pub fn write_json(report: &Report, path: &Path) -> anyhow::Result<()> {
    write_atomically(path, |w| render_json(report, w))
}

pub fn render_json(report: &Report, w: &mut dyn std::io::Write) -> anyhow::Result<()> {
    Ok(serde_json::to_writer_pretty(w, report)?)
}

/// The JSON Schema of `report.json`, derived from the types that write it (so it cannot drift; a test checks that
/// the committed `reports/schema.json` is this).
pub fn schema() -> String {
    serde_json::to_string_pretty(&schemars::schema_for!(Report)).expect("a JSON Schema is plain JSON")
}

pub fn read_json(path: &Path) -> anyhow::Result<Report> {
    let text = crate::input::read_text(path, crate::input::REPORT_CAP)
        .with_context(|| format!("cannot read {}", path.display()))?;
    parse_json(&text, path)
}

/// The reading behind [`read_json`] on text already in memory (`path` names it in errors); what the fuzz tests
/// drive.
pub fn parse_json(text: &str, path: &Path) -> anyhow::Result<Report> {
    let v: serde_json::Value = serde_json::from_str(text).with_context(|| format!("{} is not JSON", path.display()))?;
    let version = v.get("schema_version").and_then(|v| v.as_u64());
    anyhow::ensure!(
        version == Some(u64::from(SCHEMA_VERSION)),
        "{}: schema_version {version:?} is not the {SCHEMA_VERSION} this build reads; re-run with a matching spacetime-drill",
        path.display()
    );
    serde_json::from_value(v).with_context(|| format!("{} is not a spacetime-drill report", path.display()))
}
