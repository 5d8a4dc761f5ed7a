//! Reading a file a user hands the harness (a scenario, a report): a regular file, of bounded size, in UTF-8.
//!
//! Why not `read_to_string`: given a FIFO it blocks forever, given `/dev/zero` it reads until memory runs out, and on
//! bad bytes it says neither where nor what to do. The file is opened non-blocking (opening a FIFO then returns at
//! once), checked to be a regular file on the open descriptor (no race with a rename), and read through a cap.
//!
//! And what every "unknown name" message ends with, [`closest`] and [`did_you_mean`]: a file's own words (its keys,
//! its fault names) and the runbook's (incident names) are checked the same way, from modules that import neither.

use std::fs::OpenOptions;
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

/// The cap on a scenario file: hundreds of times the largest shipped one, far below what hurts.
pub const SCENARIO_CAP: u64 = 1 << 20;
/// The cap on a report.json (`report`, `compare`, `merge`, `run --baseline`): far above what a run writes, and
/// still a size `serde_json` parses in memory.
pub const REPORT_CAP: u64 = 1 << 30;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub(crate) enum InputError {
    #[error("{0}")]
    Io(String),
    #[error("is a {0}, not a regular file; give the path of the file itself")]
    NotRegular(&'static str),
    #[error("is larger than the {cap} bytes this harness reads from such a file; give the right file, or split it")]
    TooLarge { cap: u64 },
    /// 1-based, columns in characters of the valid text before the bad byte.
    #[error("is not UTF-8 (a bad byte at line {line}, column {column}); save it as UTF-8")]
    NotUtf8 { line: usize, column: usize },
}

/// The whole of `path` as text, if it is a regular file of at most `cap` bytes in UTF-8.
pub(crate) fn read_text(path: &Path, cap: u64) -> Result<String, InputError> {
    let io = |e: std::io::Error| InputError::Io(e.to_string());
    let file = OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(path).map_err(io)?;
    let kind = file.metadata().map_err(io)?.file_type();
    let not_regular = match () {
        _ if kind.is_file() => None,
        _ if kind.is_dir() => Some("directory"),
        _ if kind.is_fifo() => Some("FIFO"),
        _ if kind.is_socket() => Some("socket"),
        _ if kind.is_char_device() || kind.is_block_device() => Some("device"),
        _ => Some("special file"),
    };
    if let Some(what) = not_regular {
        return Err(InputError::NotRegular(what));
    }
    let mut bytes = Vec::new();
    file.take(cap + 1).read_to_end(&mut bytes).map_err(io)?;
    if bytes.len() as u64 > cap {
        return Err(InputError::TooLarge { cap });
    }
    String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let valid = std::str::from_utf8(valid).unwrap_or_default();
        let line_start = valid.rfind('\n').map_or(0, |i| i + 1);
        InputError::NotUtf8 { line: valid.matches('\n').count() + 1, column: valid[line_start..].chars().count() + 1 }
    })
}

/// A misspelt name the user typed, as in a scenario key or an `[expect]` incident: the close one they meant.
/// The candidate closest to a misspelt `name`, if one is close enough to be what the user meant.
pub fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(&name.to_lowercase(), &c.to_lowercase()), c))
        .filter(|&(d, c)| d <= (c.chars().count() / 3).max(1) || c.contains(name) || name.contains(c))
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
}

/// `; did you mean "x"?` when a close candidate exists, else nothing.
pub fn did_you_mean<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    closest(name, candidates).map(|c| format!("; did you mean \"{c}\"?")).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifo_device_directory_size_and_encoding_are_refused_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        assert_eq!(read_text(&fifo, SCENARIO_CAP), Err(InputError::NotRegular("FIFO")));
        assert_eq!(read_text(Path::new("/dev/zero"), SCENARIO_CAP), Err(InputError::NotRegular("device")));
        assert_eq!(read_text(dir.path(), SCENARIO_CAP), Err(InputError::NotRegular("directory")));
        let big = dir.path().join("big");
        std::fs::write(&big, vec![b'#'; 11]).unwrap();
        assert_eq!(read_text(&big, 10), Err(InputError::TooLarge { cap: 10 }));
        assert_eq!(read_text(&big, 11).unwrap().len(), 11);
        let bad = dir.path().join("bad");
        std::fs::write(&bad, b"a = 1\nb = \"\xc3\xa9\xff\"\n").unwrap();
        let e = read_text(&bad, SCENARIO_CAP).unwrap_err();
        assert_eq!(e, InputError::NotUtf8 { line: 2, column: 7 });
        assert!(e.to_string().contains("save it as UTF-8"), "{e}");
    }
}
