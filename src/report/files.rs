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

/// Where a command reads from: the report files, the directories given (nothing may be written inside them, where
/// the next `merge` of them would read it as one more shard) and the files' own directories (nothing written beside
/// an input: a shard's directory is that shard's).
pub struct Inputs<'a> {
    pub files: &'a [PathBuf],
    pub dirs: &'a [PathBuf],
    pub beside: &'a [PathBuf],
}

/// A path made absolute through its nearest existing ancestor, so a directory about to be created compares too.
fn absolute(p: &Path) -> PathBuf {
    if let Ok(c) = p.canonicalize() {
        return c;
    }
    match (p.parent(), p.file_name()) {
        (Some(parent), Some(name)) => {
            let parent = if parent.as_os_str().is_empty() { Path::new(".") } else { parent };
            absolute(parent).join(name)
        }
        _ => p.to_path_buf(),
    }
}

/// Refuse (unless `force`) to write any of `targets` that is an input, lies inside an input directory or beside an
/// input file, or exists and does not hold `run_id` (another report's file).
pub fn guard(targets: &[PathBuf], inputs: &Inputs, run_id: &str, force: bool) -> anyhow::Result<()> {
    if force {
        return Ok(());
    }
    let elsewhere = "write elsewhere with --out DIR, or pass --force";
    for t in targets {
        let at = absolute(t);
        let dir = at.parent().unwrap_or(&at);
        if let Some(input) = inputs.files.iter().find(|i| absolute(i) == at) {
            anyhow::bail!("refusing to overwrite {}: it is an input ({}); {elsewhere}", t.display(), input.display());
        }
        if let Some(d) = inputs.dirs.iter().find(|d| dir.starts_with(absolute(d))) {
            anyhow::bail!(
                "refusing to write {} inside {}, a directory of input reports: the next merge of it would read the \
                 output as one more shard; {elsewhere}",
                t.display(),
                d.display()
            );
        }
        if let Some(d) = inputs.beside.iter().find(|d| absolute(d) == dir) {
            anyhow::bail!(
                "refusing to write {} into {}, the directory of an input report; {elsewhere}",
                t.display(),
                d.display()
            );
        }
        if t.exists() {
            let ours = !run_id.is_empty() && std::fs::read_to_string(t).is_ok_and(|text| text.contains(run_id));
            anyhow::ensure!(
                ours,
                "refusing to overwrite {}: another report wrote it (it does not hold run id {run_id}); {elsewhere}",
                t.display()
            );
        }
    }
    Ok(())
}
