//! The crash journal: a write-ahead ledger of every change a fault makes, so that nothing is ever left behind.
//!
//! JSON lines, append-only, after a versioned header line ([`HEADER`]): an `intent` (the [`Undo`] record and the
//! [`Scope`] its fault was allowed at preflight, fsynced *before* the change), `done` once the change is made,
//! `rolled_back` once its undo succeeded. Anything with an intent and no `rolled_back` is pending, and a journal with a
//! pending entry is dirty: `run` refuses to start, and `recover` (or the watchdog) replays it. When nothing is
//! pending the file is cut back to its header, so a clean journal is a header alone.
//!
//! Hostile journals (issue 13): the file is created 0600 in a 0700 directory and refused, before a line is read, when
//! someone else could have written it ([`trust`]); a file without the header is not a journal and is left untouched;
//! an undo outside the scope recorded with it is refused and kept; a line that cannot be read is kept and reported,
//! never dropped (only a torn last line, an intent whose change never began, is cut). Opening never creates a file
//! beside the journal: the lock is on the journal itself.
//!
//! An exclusive lock on the journal file is held by whoever owns it (a run, `recover`, a replaying watchdog); the
//! kernel drops it when that process dies, which is how the watchdog knows it may replay. It is only called the
//! journal here: what chaostoolkit calls its journal is our record and report.

mod trust;

use std::fs::{DirBuilder, File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};
use serde::{Deserialize, Serialize};

use super::undo::Scope;
use super::{FaultContext, Undo};

/// The first line of every journal; the version changes when the line format does.
pub const HEADER: &str = r#"{"spacetime_drill_journal":2}"#;
/// Far above any real journal (a line per change); a bigger file is not read into memory.
const MAX_BYTES: u64 = 64 << 20;

/// Environment variable naming the journal file (tests use it to isolate themselves).
pub const ENV: &str = "SPACETIME_DRILL_JOURNAL";

/// Why the journal cannot be opened, written or replayed; each message names the file and what to do.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// Creating, locking, reading or fsyncing the file failed: with the journal unsafe, no fault may act.
    #[error("journal {path}: {source}")]
    Io {
        /// The journal file, as resolved ([`resolve_path`]).
        path: PathBuf,
        /// What the OS answered; the journal's state is unknown, so nothing may act until it is fixed.
        source: std::io::Error,
    },
    /// Another live process (a run, an agent, `recover`) holds the journal's lock.
    #[error("journal {path} is in use by another spacetime-drill run; wait for it, or use another --journal")]
    Busy {
        /// The journal file, as resolved ([`resolve_path`]).
        path: PathBuf,
    },
    /// A run would start on top of changes a killed run left behind: `recover` must undo them first.
    #[error(
        "journal {path} holds {count} change(s) an interrupted run did not undo (faults: {faults}); \
         run `spacetime-drill recover` first"
    )]
    Dirty {
        /// The journal file, as resolved ([`resolve_path`]).
        path: PathBuf,
        /// How many changes are still pending.
        count: usize,
        /// The names of the faults they belong to, comma-separated.
        faults: String,
    },
    /// No `--journal`, no `$SPACETIME_DRILL_JOURNAL`, and neither `$XDG_STATE_HOME` nor `$HOME` to put one under.
    #[error("no journal path: set {ENV}, XDG_STATE_HOME or HOME, or pass --journal")]
    NoPath,
    /// The file's first line is not [`HEADER`]: a mistyped path is never read as, or cut back to, a journal.
    #[error(
        "{path} is not a spacetime-drill journal (its first line is not {HEADER}); nothing was changed; give the journal's path"
    )]
    NotAJournal {
        /// The file that was given as the journal.
        path: PathBuf,
    },
    /// Someone else could have written the file or swapped it in its directory, and replaying it runs the commands
    /// it names, so it is not read at all.
    #[error("journal {path} is not trusted, nothing was replayed: {why}")]
    Untrusted {
        /// The journal file, as resolved ([`resolve_path`]).
        path: PathBuf,
        /// What makes it untrusted (not a regular file, another owner, writable by group or others), with the fix.
        why: String,
    },
    /// Lines that do not parse: they are kept, and the journal counts as dirty until a person deals with them.
    #[error(
        "journal {path} holds {count} line(s) it cannot read (lines {lines}); they are kept: inspect them, undo by \
         hand what they describe, then delete those lines"
    )]
    Unreadable {
        /// The journal file, as resolved ([`resolve_path`]).
        path: PathBuf,
        /// How many lines cannot be read.
        count: usize,
        /// Their 1-based line numbers, comma-separated.
        lines: String,
    },
}

/// The journal path: the flag, else `$SPACETIME_DRILL_JOURNAL`, else the XDG state directory.
pub fn resolve_path(flag: Option<&Path>) -> Result<PathBuf, JournalError> {
    if let Some(p) = flag {
        return Ok(p.to_owned());
    }
    let env = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(p) = env(ENV) {
        return Ok(p);
    }
    let state = env("XDG_STATE_HOME").or_else(|| env("HOME").map(|h| h.join(".local/state")));
    state.map(|s| s.join("spacetime-drill/journal.jsonl")).ok_or(JournalError::NoPath)
}

/// Open the journal for a run: refuses while another process owns it or while it is dirty.
pub fn ensure_clean(path: &Path) -> Result<Journal, JournalError> {
    let journal = Journal::open(path)?;
    journal.refuse_unreadable()?;
    if journal.pending.is_empty() {
        return Ok(journal);
    }
    let mut faults: Vec<&str> = journal.pending.iter().map(|p| p.fault.as_str()).collect();
    faults.dedup();
    Err(JournalError::Dirty { path: path.to_owned(), count: journal.pending.len(), faults: faults.join(", ") })
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
enum Line {
    Intent { id: u64, fault: String, undo: Undo, scope: Scope },
    Done { id: u64 },
    RolledBack { id: u64 },
}

/// A change that may have been made and is not yet undone.
#[derive(Debug, Clone, PartialEq)]
struct Pending {
    id: u64,
    fault: String,
    undo: Undo,
    /// What the fault was allowed to touch when it was injected; the undo may touch nothing else.
    scope: Scope,
    /// The change is known to have been made (otherwise it may or may not have been).
    done: bool,
}

/// What a replay did, entry by entry, newest first.
#[derive(Debug, Default)]
pub(crate) struct Replay {
    pub(crate) rolled_back: Vec<(String, String)>,
    pub(crate) failed: Vec<(String, String)>,
    /// Lines of the journal that could not be read (1-based); they stay in it.
    pub(crate) unreadable: Vec<usize>,
}

/// The open, locked journal of one owner (a run, an agent, `recover`, a replaying watchdog); dropping it releases
/// the lock, and only then may a watchdog replay what is still pending.
pub struct Journal {
    path: PathBuf,
    /// The journal, locked for as long as this is held.
    file: Flock<File>,
    pending: Vec<Pending>,
    /// Lines that do not parse, 1-based, kept in the file.
    unreadable: Vec<usize>,
    next_id: u64,
}

impl Journal {
    /// Open (creating it 0600, and its directory 0700, if needed) and take the lock; `Busy` if another process holds
    /// it. What a run calls.
    pub fn open(path: &Path) -> Result<Journal, JournalError> {
        Self::open_with(path, FlockArg::LockExclusiveNonblock, true)?.ok_or(JournalError::NoPath)
    }

    /// Open an existing journal, waiting for its owner to let go (or die): the watchdog's way in. `None` when there
    /// is no journal (nothing to replay); nothing is ever created.
    pub fn open_wait(path: &Path) -> Result<Option<Journal>, JournalError> {
        Self::open_with(path, FlockArg::LockExclusive, false)
    }

    /// Open an existing journal without waiting: `recover`'s way in. `None` when there is none; nothing is created.
    pub fn open_existing(path: &Path) -> Result<Option<Journal>, JournalError> {
        Self::open_with(path, FlockArg::LockExclusiveNonblock, false)
    }

    fn open_with(path: &Path, how: FlockArg, create: bool) -> Result<Option<Journal>, JournalError> {
        let io = |source| JournalError::Io { path: path.to_owned(), source };
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
        if let Some(dir) = dir.filter(|_| create) {
            DirBuilder::new().recursive(true).mode(0o700).create(dir).map_err(io)?;
        }
        // O_NOFOLLOW: a symlink planted at the journal's path is refused, not followed to a file it names.
        let mut options = OpenOptions::new();
        options.read(true).append(true).custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK).mode(0o600);
        let file = match options.clone().create_new(create).open(path) {
            Ok(f) => f,
            Err(e) if create && e.kind() == std::io::ErrorKind::AlreadyExists => options.open(path).map_err(io)?,
            Err(e) if !create && e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(e)),
        };
        trust::refuse(&file, path).map_err(|why| JournalError::Untrusted { path: path.to_owned(), why })?;
        let file = Flock::lock(file, how).map_err(|(_, errno)| match errno {
            nix::errno::Errno::EWOULDBLOCK => JournalError::Busy { path: path.to_owned() },
            e => io(e.into()),
        })?;
        let mut journal =
            Journal { path: path.to_owned(), file, pending: Vec::new(), unreadable: Vec::new(), next_id: 1 };
        journal.load(create)?;
        Ok(Some(journal))
    }

    /// Read every line; a new (empty) journal gets its header, and anything else must start with it.
    fn load(&mut self, created: bool) -> Result<(), JournalError> {
        let mut bytes = Vec::new();
        (&*self.file).take(MAX_BYTES + 1).read_to_end(&mut bytes).map_err(|e| self.io(e))?;
        if bytes.is_empty() && created {
            let mut header = HEADER.as_bytes().to_vec();
            header.push(b'\n');
            self.file.write_all(&header).and_then(|()| self.file.sync_all()).map_err(|e| self.io(e))?;
            // Make the new file's directory entry durable too, or a crash could lose the whole journal.
            if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
                File::open(dir).and_then(|d| d.sync_all()).map_err(|e| self.io(e))?;
            }
            return Ok(());
        }
        if bytes.is_empty() {
            // A clean journal of an earlier version (emptied, not cut back to a header): nothing to replay.
            return Ok(());
        }
        let text = String::from_utf8_lossy(&bytes);
        if bytes.len() as u64 > MAX_BYTES || text.lines().next() != Some(HEADER) {
            return Err(JournalError::NotAJournal { path: self.path.clone() });
        }
        if !text.ends_with('\n') {
            // A torn last line (a crash mid-append): its intent was not yet durable, so its change never began.
            let keep = text.rfind('\n').map_or(0, |i| i + 1) as u64;
            self.file.set_len(keep).and_then(|()| self.file.sync_all()).map_err(|e| self.io(e))?;
        }
        let complete = &text[..text.rfind('\n').map_or(0, |i| i + 1)];
        for (n, raw) in complete.lines().enumerate().skip(1).filter(|(_, l)| !l.trim().is_empty()) {
            let Ok(line) = serde_json::from_str::<Line>(raw) else {
                self.unreadable.push(n + 1);
                continue;
            };
            match line {
                Line::Intent { id, fault, undo, scope } => {
                    self.next_id = self.next_id.max(id.saturating_add(1));
                    self.pending.push(Pending { id, fault, undo, scope, done: false });
                }
                Line::Done { id } => self.pending.iter_mut().filter(|p| p.id == id).for_each(|p| p.done = true),
                Line::RolledBack { id } => self.pending.retain(|p| p.id != id),
            }
        }
        Ok(())
    }

    /// Lines that could not be read are kept, and block a run until someone has looked at them.
    pub fn refuse_unreadable(&self) -> Result<(), JournalError> {
        if self.unreadable.is_empty() {
            return Ok(());
        }
        let lines: Vec<String> = self.unreadable.iter().map(ToString::to_string).collect();
        Err(JournalError::Unreadable { path: self.path.clone(), count: lines.len(), lines: lines.join(", ") })
    }

    fn io(&self, source: std::io::Error) -> JournalError {
        JournalError::Io { path: self.path.clone(), source }
    }

    fn append(&mut self, line: &Line) -> Result<(), JournalError> {
        let mut bytes = serde_json::to_vec(line).map_err(|e| self.io(e.into()))?;
        bytes.push(b'\n');
        self.file.write_all(&bytes).and_then(|()| self.file.sync_data()).map_err(|e| self.io(e))
    }

    /// Something is left to undo, or to look at.
    pub fn dirty(&self) -> bool {
        !self.pending.is_empty() || !self.unreadable.is_empty()
    }

    /// Write and fsync how to undo a change that is about to be made, with what its fault may touch; returns the
    /// entry's id.
    pub fn intend(&mut self, fault: &str, undo: &Undo, scope: &Scope) -> Result<u64, JournalError> {
        let id = self.next_id;
        self.append(&Line::Intent { id, fault: fault.into(), undo: undo.clone(), scope: scope.clone() })?;
        self.next_id += 1;
        self.pending.push(Pending { id, fault: fault.into(), undo: undo.clone(), scope: scope.clone(), done: false });
        Ok(id)
    }

    /// The change of entry `id` was made.
    pub fn done(&mut self, id: u64) -> Result<(), JournalError> {
        self.append(&Line::Done { id })?;
        self.pending.iter_mut().filter(|p| p.id == id).for_each(|p| p.done = true);
        Ok(())
    }

    /// Entry `id` was undone; once nothing is pending (and every line was read) the file is cut back to its header.
    pub fn rolled_back(&mut self, id: u64) -> Result<(), JournalError> {
        self.append(&Line::RolledBack { id })?;
        self.pending.retain(|p| p.id != id);
        if self.pending.is_empty() && self.unreadable.is_empty() {
            let header = HEADER.len() as u64 + 1;
            self.file.set_len(header).and_then(|()| self.file.sync_all()).map_err(|e| self.io(e))?;
        }
        Ok(())
    }

    /// Roll back every pending entry, newest first, clearing each only after its undo succeeded; a failed one stays
    /// pending (and the journal dirty) and the replay goes on with the rest.
    pub(crate) fn replay(&mut self, live: Option<&FaultContext>) -> Result<Replay, JournalError> {
        let mut report = Replay { unreadable: self.unreadable.clone(), ..Replay::default() };
        for entry in self.pending.clone().into_iter().rev() {
            if let Err(why) = entry.undo.permitted(&entry.scope) {
                report.failed.push((entry.fault, format!("refused, kept in the journal: {why}")));
                continue;
            }
            match entry.undo.rollback(live) {
                Ok(detail) => {
                    self.rolled_back(entry.id)?;
                    report.rolled_back.push((entry.fault, detail));
                }
                Err(e) => report.failed.push((entry.fault, e.to_string())),
            }
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests;
