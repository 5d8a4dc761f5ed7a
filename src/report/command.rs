//! The `report`, `compare` and `merge` subcommands: read saved reports, act, print what was written. None of them
//! overwrites an input or another report's files (see `files.rs`); `merge` exits with its report's outcome, as `run`.
//! They take what the command line parsed as plain values: the command line sits above the report and parses into
//! its types ([`Format`], [`Tolerance`]), never the other way round.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;

use super::files::{Inputs, expand, guard};
use super::render::targets;
use super::{Format, Tolerance, compare, headline_and_reasons, merge, read_json, render_all};

fn print_written(files: &[PathBuf]) {
    for f in files {
        println!("wrote {}", f.display());
    }
}

/// `report REPORT.json --format ...`: re-render a saved report, by default beside it.
pub fn report_command(path: &Path, out: Option<&Path>, formats: &[Format], force: bool) -> anyhow::Result<ExitCode> {
    let report = read_json(path)?;
    let dir = match out {
        Some(d) => d,
        None => path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")),
    };
    let inputs = Inputs { files: &[path.to_path_buf()], dirs: &[], beside: &[] };
    guard(&targets(dir, formats), &inputs, &report.run_id, force)?;
    print_written(&render_all(&report, dir, formats)?);
    Ok(ExitCode::SUCCESS)
}

/// `compare BASELINE CURRENT`: 0 within tolerance, 1 on a regression, 2 (an error) when they do not compare.
/// Tolerances: `flags`, then the current report's scenario `[baseline]`, then the defaults. Prints Markdown when
/// `markdown`, only the regressions when `regressions_only`.
pub fn compare_command(
    baseline_path: &Path,
    current_path: &Path,
    flags: &Tolerance,
    markdown: bool,
    regressions_only: bool,
) -> anyhow::Result<ExitCode> {
    let (baseline, current) = (read_json(baseline_path)?, read_json(current_path)?);
    let tolerance = flags.over(&current.scenario.file.baseline).resolved();
    let comparison = compare(&baseline, &current, &tolerance)
        .with_context(|| format!("{} and {} do not compare", baseline_path.display(), current_path.display()))?;
    if markdown {
        print!("{}", comparison.render_markdown(regressions_only));
    } else {
        print!("{}", comparison.render(regressions_only));
    }
    Ok(if comparison.regressed() { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

/// `merge REPORTS... --out DIR`: files, directories or globs; judged, written, and exiting 0/1/2 as `run` does.
pub fn merge_command(reports: &[PathBuf], out: &Path, formats: &[Format], force: bool) -> anyhow::Result<ExitCode> {
    let inputs = expand(reports)?;
    let read = inputs.iter().map(|p| read_json(p)).collect::<anyhow::Result<Vec<_>>>()?;
    let merged = merge(&read).with_context(|| {
        let names: Vec<String> = inputs.iter().enumerate().map(|(i, p)| format!("{i}: {}", p.display())).collect();
        format!("cannot merge these reports ({})", names.join(", "))
    })?;
    let dirs: Vec<PathBuf> = reports.iter().filter(|p| p.is_dir()).cloned().collect();
    let parent = |p: &PathBuf| {
        p.parent().map(|d| if d.as_os_str().is_empty() { Path::new(".") } else { d }).map(Path::to_path_buf)
    };
    let beside: Vec<PathBuf> = inputs.iter().filter_map(parent).collect();
    // report.json is always written, as `run` writes it: a merge of merges reads it.
    let formats: Vec<_> = std::iter::once(Format::Json).chain(formats.iter().copied()).collect();
    let from = Inputs { files: &inputs, dirs: &dirs, beside: &beside };
    guard(&targets(out, &formats), &from, &merged.run_id, force)?;
    let files = render_all(&merged, out, &formats)?;
    print!("{}", headline_and_reasons(&merged));
    print_written(&files);
    Ok(ExitCode::from(merged.outcome.conclusion.exit_code()))
}
