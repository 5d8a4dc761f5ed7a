//! The `report`, `compare` and `merge` subcommands: read saved reports, act, print what was written. None of them
//! overwrites an input or another report's files (see `files.rs`); `merge` exits with its report's outcome, as `run`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;

use super::files::{Inputs, expand, guard};
use super::render::targets;
use super::{compare, headline_and_reasons, merge, read_json, render_all};
use crate::cli::{CompareArgs, MergeArgs, ReportArgs};

fn print_written(files: &[PathBuf]) {
    for f in files {
        println!("wrote {}", f.display());
    }
}

/// `report REPORT.json --format ...`: re-render a saved report, by default beside it.
pub fn report_command(args: &ReportArgs) -> anyhow::Result<ExitCode> {
    let report = read_json(&args.report)?;
    let dir = match &args.out {
        Some(d) => d.as_path(),
        None => args.report.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")),
    };
    let inputs = Inputs { files: std::slice::from_ref(&args.report), dirs: &[], beside: &[] };
    guard(&targets(dir, &args.format), &inputs, &report.run_id, args.force)?;
    print_written(&render_all(&report, dir, &args.format)?);
    Ok(ExitCode::SUCCESS)
}

/// `compare BASELINE CURRENT`: 0 within tolerance, 1 on a regression, 2 (an error) when they do not compare.
/// Tolerances: the flags, then the current report's scenario `[baseline]`, then the defaults.
pub fn compare_command(args: &CompareArgs) -> anyhow::Result<ExitCode> {
    let (baseline, current) = (read_json(&args.baseline)?, read_json(&args.current)?);
    let tolerance = args.tolerance.over(&current.scenario.file.baseline).resolved();
    let comparison = compare(&baseline, &current, &tolerance)
        .with_context(|| format!("{} and {} do not compare", args.baseline.display(), args.current.display()))?;
    if args.markdown {
        print!("{}", comparison.render_markdown(args.regressions_only));
    } else {
        print!("{}", comparison.render(args.regressions_only));
    }
    Ok(if comparison.regressed() { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

/// `merge REPORTS... --out DIR`: files, directories or globs; judged, written, and exiting 0/1/2 as `run` does.
pub fn merge_command(args: &MergeArgs) -> anyhow::Result<ExitCode> {
    let inputs = expand(&args.reports)?;
    let reports = inputs.iter().map(|p| read_json(p)).collect::<anyhow::Result<Vec<_>>>()?;
    let merged = merge(&reports).with_context(|| {
        let names: Vec<String> = inputs.iter().enumerate().map(|(i, p)| format!("{i}: {}", p.display())).collect();
        format!("cannot merge these reports ({})", names.join(", "))
    })?;
    let dirs: Vec<PathBuf> = args.reports.iter().filter(|p| p.is_dir()).cloned().collect();
    let parent = |p: &PathBuf| {
        p.parent().map(|d| if d.as_os_str().is_empty() { Path::new(".") } else { d }).map(Path::to_path_buf)
    };
    let beside: Vec<PathBuf> = inputs.iter().filter_map(parent).collect();
    // report.json is always written, as `run` writes it: a merge of merges reads it.
    let formats: Vec<_> = std::iter::once(super::Format::Json).chain(args.format.iter().copied()).collect();
    let from = Inputs { files: &inputs, dirs: &dirs, beside: &beside };
    guard(&targets(&args.out, &formats), &from, &merged.run_id, args.force)?;
    let files = render_all(&merged, &args.out, &formats)?;
    print!("{}", headline_and_reasons(&merged));
    print_written(&files);
    Ok(ExitCode::from(merged.outcome.conclusion.exit_code()))
}
