//! The run's summary.md appended to a CI job summary (`--summary-file`, or GitHub's `$GITHUB_STEP_SUMMARY`), so the
//! verdict shows on the job page without an extra step in the user's workflow.

use std::io::Write;
use std::path::Path;

use anyhow::Context;

use crate::report::{self, Report};

/// GitHub refuses a step summary over 1 MiB (and the step's earlier writes count too); keep well under it.
pub const CAP: usize = 900 * 1024;

/// Append the summary to `path` (created if missing), cut at a line boundary to fit [`CAP`] together with what the
/// file already holds; a cut summary says so and where the whole one is.
pub fn append(report: &Report, path: &Path, report_dir: &Path) -> anyhow::Result<()> {
    let mut md = Vec::new();
    report::render_summary(report, &mut md)?;
    // Byte for byte the summary.md beside the report (which ends with one more newline, as every report file does).
    md.push(b'\n');
    let held = std::fs::metadata(path).map_or(0, |m| m.len() as usize);
    let text = fit(md, CAP.saturating_sub(held), &report_dir.join("summary.md"));
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("cannot open the summary file {}", path.display()))?;
    file.write_all(&text).with_context(|| format!("cannot append to the summary file {}", path.display()))
}

fn fit(mut md: Vec<u8>, budget: usize, whole: &Path) -> Vec<u8> {
    if md.len() <= budget {
        return md;
    }
    let note = format!(
        "\n_Summary cut to fit the job summary's size limit; the whole one is `{}` in the run's reports._\n",
        whole.display()
    );
    let room = budget.saturating_sub(note.len());
    // Cut after a newline: always a UTF-8 boundary, and never half a table row.
    let cut = md[..room.min(md.len())].iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    md.truncate(cut);
    if note.len() <= budget {
        md.extend_from_slice(note.as_bytes());
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_summary_that_fits_is_kept_whole() {
        assert_eq!(fit(b"# a\n| x |\n".to_vec(), 100, Path::new("s.md")), b"# a\n| x |\n");
    }

    #[test]
    fn a_long_summary_is_cut_at_a_line_and_says_so() {
        let md: Vec<u8> = (0..1000).flat_map(|i| format!("| row {i} | é |\n").into_bytes()).collect();
        let out = fit(md, 2000, Path::new("out/summary.md"));
        assert!(out.len() <= 2000, "{}", out.len());
        let text = String::from_utf8(out).expect("cut on a UTF-8 boundary");
        assert!(text.ends_with("whole one is `out/summary.md` in the run's reports._\n"), "{text}");
        let rows: Vec<&str> = text.lines().filter(|l| l.starts_with("| row")).collect();
        assert!(rows.len() > 10 && rows.iter().all(|r| r.ends_with("| é |")), "whole rows only");
    }

    #[test]
    fn nothing_but_the_note_fits_a_full_file() {
        assert!(fit(vec![b'x'; 500], 10, Path::new("s.md")).is_empty());
    }
}
