//! The `report`, `compare` and `merge` subcommands: read saved reports, act, print what was written.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;

use super::{compare, merge, read_json, render_all};
use crate::cli::{CompareArgs, MergeArgs, ReportArgs};

fn print_written(files: &[std::path::PathBuf]) {
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
    print_written(&render_all(&report, dir, &args.format)?);
    Ok(ExitCode::SUCCESS)
}

/// `compare BASELINE CURRENT`: 0 within tolerance, 1 on a regression, 2 (an error) when they do not compare.
pub fn compare_command(args: &CompareArgs) -> anyhow::Result<ExitCode> {
    let (baseline, current) = (read_json(&args.baseline)?, read_json(&args.current)?);
    let comparison = compare(&baseline, &current, &args.tolerance)
        .with_context(|| format!("{} and {} do not compare", args.baseline.display(), args.current.display()))?;
    print!("{}", comparison.render());
    Ok(if comparison.regressed() { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

/// `merge A.json B.json ... --out DIR`.
pub fn merge_command(args: &MergeArgs) -> anyhow::Result<ExitCode> {
    let reports = args.reports.iter().map(|p| read_json(p)).collect::<anyhow::Result<Vec<_>>>()?;
    let merged = merge(&reports).context("cannot merge these reports")?;
    print_written(&render_all(&merged, &args.out, &args.format)?);
    Ok(ExitCode::SUCCESS)
}
