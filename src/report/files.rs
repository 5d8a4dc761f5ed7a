//! Which files `report` and `merge` read, and which they may write.
//!
//! Inputs: a file, a directory (every `report.json` under it, so a Kubernetes Job can call `merge /reports` with no
//! shell to expand a glob), or a glob pattern expanded here. Outputs: nothing is overwritten that this command did
//! not write: not an input, and not another report's files. A file "is ours" when it holds our report's `run_id`
//! (every format writes it), so re-rendering a report beside itself or retrying a merge works, while a copy of
//! another run's report cannot clobber the run's own. `--force` lifts the guard.

use std::path::{Path, PathBuf};

use anyhow::Context;

/// Expand command-line inputs into report files, in a stable order (sorted within a directory or a pattern).
pub fn expand(inputs: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for input in inputs {
        let text = input.to_string_lossy();
        if input.is_dir() {
            let mut found = Vec::new();
            walk(input, &mut found)?;
            anyhow::ensure!(!found.is_empty(), "{}: no report.json under this directory", input.display());
            found.sort();
            out.extend(found);
        } else if !input.exists() && text.contains(['*', '?', '[']) {
            let mut found: Vec<PathBuf> = glob::glob(&text)
                .with_context(|| format!("{text}: not a valid glob pattern"))?
                .collect::<Result<_, _>>()
                .with_context(|| format!("{text}: cannot read what the pattern matches"))?;
            found.retain(|p| p.is_file());
            anyhow::ensure!(!found.is_empty(), "{text}: the pattern matches no file");
            found.sort();
            out.extend(found);
        } else {
            anyhow::ensure!(input.is_file(), "{}: no such report file or directory", input.display());
            out.push(input.clone());
        }
    }
    Ok(out)
}

fn walk(dir: &Path, found: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot read the directory {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            walk(&path, found)?;
        } else if path.file_name().is_some_and(|n| n == "report.json") {
            found.push(path);
        }
    }
    Ok(())
}

/// Refuse (unless `force`) to write any of `targets` that is one of `inputs`, or that exists and does not hold
/// `run_id`; and to write into a directory given as an input, where the next `merge` of it would read our output
/// as one more shard.
pub fn guard(targets: &[PathBuf], inputs: &[PathBuf], input_dirs: &[PathBuf], run_id: &str, force: bool) -> anyhow::Result<()> {
    if force {
        return Ok(());
    }
    let same = |a: &Path, b: &Path| match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    for t in targets {
        if let Some(input) = inputs.iter().find(|i| same(t, i)) {
            anyhow::bail!(
                "refusing to overwrite {}: it is an input ({}); write elsewhere with --out DIR, or pass --force",
                t.display(),
                input.display()
            );
        }
        let dir = t.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        if let Some(d) = input_dirs.iter().find(|d| same(dir, d)) {
            anyhow::bail!(
                "refusing to write {} into {}, a directory of input reports: the next merge of it would read the \
                 merged report as one more shard; write elsewhere with --out DIR, or pass --force",
                t.display(),
                d.display()
            );
        }
        if t.exists() {
            let ours = !run_id.is_empty() && std::fs::read_to_string(t).is_ok_and(|text| text.contains(run_id));
            anyhow::ensure!(
                ours,
                "refusing to overwrite {}: another report wrote it (its run id is not {run_id}); write elsewhere with \
                 --out DIR, or pass --force",
                t.display()
            );
        }
    }
    Ok(())
}
