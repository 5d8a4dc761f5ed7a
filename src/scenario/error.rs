//! The error a user reads when a scenario file is wrong: where (file:line:column), what, and how to fix it.
//!
//! toml and serde speak in byte ranges and Rust field names; people edit lines. Everything that turns one into the
//! other lives here, so every check elsewhere only has to say *which key* is wrong and *why*.

use std::fmt;
use std::path::PathBuf;

/// The suggestion every "unknown name" message of a scenario ends with.
pub use crate::input::{closest, did_you_mean};

/// One problem in one scenario file.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}{}: {message}", path.display(), At(*at))]
pub struct ScenarioError {
    /// The file as the user named it (so the message matches what they typed).
    pub path: PathBuf,
    /// Where in the file; `None` when the file could not be read at all.
    pub at: Option<LineCol>,
    /// What is wrong and how to fix it.
    pub message: String,
    pub(crate) kind: ErrorKind,
}

/// Which stage found the problem, for callers that branch (e.g. a missing file vs. a wrong one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The file could not be read.
    Read,
    /// Not valid TOML, or not the shape of a scenario (unknown key, wrong type, missing field).
    Parse,
    /// Well-formed, but a value breaks a rule (a negative rate, an unknown fault name, ...).
    Check,
}

/// A 1-based line and column (in characters, as editors count).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineCol {
    pub(crate) line: usize,
    pub(crate) column: usize,
}

impl LineCol {
    /// Where byte `offset` of `text` sits; an offset past the end or inside a character clamps to a valid position.
    pub fn of(text: &str, offset: usize) -> LineCol {
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &text[..offset];
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        LineCol { line: before.matches('\n').count() + 1, column: before[line_start..].chars().count() + 1 }
    }
}

/// Formats the optional `:line:column` suffix of the path.
struct At(Option<LineCol>);

impl fmt::Display for At {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(LineCol { line, column }) => write!(f, ":{line}:{column}"),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_lines_and_characters() {
        let text = "a = 1\n[[phase]]\nnäme = 2\n";
        assert_eq!(LineCol::of(text, 0), LineCol { line: 1, column: 1 });
        assert_eq!(LineCol::of(text, 4), LineCol { line: 1, column: 5 });
        assert_eq!(LineCol::of(text, 6), LineCol { line: 2, column: 1 });
        // "näme": the 'm' is byte 3 of the line but character 3; columns count characters.
        let m = text.find('m').unwrap();
        assert_eq!(LineCol::of(text, m), LineCol { line: 3, column: 3 });
        // Inside a multi-byte character or past the end: clamped, never a panic.
        assert_eq!(LineCol::of(text, text.find('ä').unwrap() + 1), LineCol { line: 3, column: 2 });
        assert_eq!(LineCol::of(text, 10_000), LineCol { line: 4, column: 1 });
    }

    #[test]
    fn closest_suggests_near_names_only() {
        let fields = ["name", "duration", "load", "faults"];
        assert_eq!(closest("durration", fields), Some("duration"));
        assert_eq!(closest("fault", fields), Some("faults"));
        assert_eq!(closest("Name", fields), Some("name"));
        assert_eq!(closest("xyzzy", fields), None);
        assert_eq!(did_you_mean("laod", fields), "; did you mean \"load\"?");
        assert_eq!(did_you_mean("zzz", fields), "");
    }

    #[test]
    fn display_is_file_line_column_message() {
        let e = ScenarioError {
            path: "scenarios/x.toml".into(),
            at: Some(LineCol { line: 12, column: 1 }),
            message: "unknown field".into(),
            kind: ErrorKind::Parse,
        };
        assert_eq!(e.to_string(), "scenarios/x.toml:12:1: unknown field");
        let e = ScenarioError { at: None, kind: ErrorKind::Read, ..e };
        assert_eq!(e.to_string(), "scenarios/x.toml: unknown field");
    }
}
