//! Every format written side by side into a report directory, each file atomically (temp file + rename) so a CI
//! step that picks up `junit.xml` never reads half of one.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;

use super::Report;

/// A report format, as `--format` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, clap::ValueEnum)]
pub enum Format {
    /// `report.json`: the canonical report every other format and `compare`/`merge` read.
    Json,
    /// `report.html`: one self-contained page (verdict, tables, charts, timeline, scenario).
    Html,
    /// `junit.xml`: one test case per phase check and per expectation.
    Junit,
    /// `summary.md` (a job summary) and `postmortem.md` (the runbook's post-mortem, pre-filled).
    Md,
}

/// A file name and the function that renders it.
type Renderer = fn(&Report, &mut dyn Write) -> anyhow::Result<()>;

impl Format {
    fn files(self) -> &'static [(&'static str, Renderer)] {
        match self {
            Self::Json => &[("report.json", super::json::render_json)],
            Self::Html => &[("report.html", super::html::render_html)],
            Self::Junit => &[("junit.xml", super::junit::render_junit)],
            Self::Md => &[
                ("summary.md", super::markdown::render_summary),
                ("postmortem.md", super::postmortem::render_postmortem),
            ],
        }
    }
}

/// Each format once, in format order, with its file name and renderer.
fn files(formats: &[Format]) -> impl Iterator<Item = &'static (&'static str, Renderer)> {
    let mut formats = formats.to_vec();
    formats.sort();
    formats.dedup();
    formats.into_iter().flat_map(|f| f.files())
}

/// The files [`render_all`] would write, so a command can refuse before writing any.
pub fn targets(dir: &Path, formats: &[Format]) -> Vec<PathBuf> {
    files(formats).map(|(name, _)| dir.join(name)).collect()
}

/// Write `report` in each of `formats` into `dir` (created if missing); returns the files written, in format order.
pub fn render_all(report: &Report, dir: &Path, formats: &[Format]) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut written = Vec::new();
    for (name, render) in files(formats) {
        let path = dir.join(name);
        write_atomically(&path, |w| render(report, w))?;
        written.push(path);
    }
    Ok(written)
}

/// Render into a temp file beside `path`, then rename it into place.
pub(super) fn write_atomically(
    path: &Path,
    render: impl FnOnce(&mut dyn Write) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    // Reports hold no secrets and are meant to be shared (CI artifacts, a volume read by the merge job): 0644.
    crate::atomic::write::<anyhow::Error>(path, 0o644, |w| {
        render(w).with_context(|| format!("cannot render {}", path.display()))?;
        w.write_all(b"\n")?;
        Ok(())
    })
    .with_context(|| format!("cannot write {}", path.display()))
}
