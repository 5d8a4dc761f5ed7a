//! The crash journal: a write-ahead ledger of every change a fault makes, so that nothing is ever left behind.
//!
//! JSON lines, append-only: an `intent` (the [`Undo`] record, fsynced *before* the change), `done` once the change is
//! made, `rolled_back` once its undo succeeded. Anything with an intent and no `rolled_back` is pending, and a journal
//! with a pending entry is dirty: `run` refuses to start, and `recover` (or the watchdog) replays it. When nothing is
//! pending the file is truncated, so a clean journal is an empty one.
//!
//! An exclusive lock on `<journal>.lock` is held by whoever owns the journal (a run, `recover`, a replaying
//! watchdog); the kernel drops it when that process dies, which is how the watchdog knows it may replay. It is only
//! called the journal here: what chaostoolkit calls its journal is our record and report.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};
use serde::{Deserialize, Serialize};

use super::{FaultContext, Undo};

/// Environment variable naming the journal file (tests use it to isolate themselves).
pub const ENV: &str = "SPACETIME_DRILL_JOURNAL";

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("journal {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("journal {path} is in use by another spacetime-drill run; wait for it, or use another --journal")]
    Busy { path: PathBuf },
    #[error(
        "journal {path} holds {count} change(s) an interrupted run did not undo (faults: {faults}); \
         run `spacetime-drill recover` first"
    )]
    Dirty { path: PathBuf, count: usize, faults: String },
    #[error("no journal path: set {ENV}, XDG_STATE_HOME or HOME, or pass --journal")]
    NoPath,
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
    Intent { id: u64, fault: String, undo: Undo },
    Done { id: u64 },
    RolledBack { id: u64 },
}

/// A change that may have been made and is not yet undone.
#[derive(Debug, Clone, PartialEq)]
pub struct Pending {
    pub id: u64,
    pub fault: String,
    pub undo: Undo,
    /// The change is known to have been made (otherwise it may or may not have been).
    pub done: bool,
}

/// What a replay did, entry by entry, newest first.
#[derive(Debug, Default)]
pub struct Replay {
    pub rolled_back: Vec<(String, String)>,
    pub failed: Vec<(String, String)>,
}

pub struct Journal {
    path: PathBuf,
    file: File,
    pending: Vec<Pending>,
    next_id: u64,
    _lock: Flock<File>,
}

impl Journal {
    /// Open (creating it and its directory if needed) and take the lock; `Busy` if another process holds it.
    pub fn open(path: &Path) -> Result<Journal, JournalError> {
        Self::open_with(path, FlockArg::LockExclusiveNonblock)
    }

    /// Like [`Journal::open`], but wait for the current owner to let go (or die): the watchdog's way in.
    pub fn open_wait(path: &Path) -> Result<Journal, JournalError> {
        Self::open_with(path, FlockArg::LockExclusive)
    }

    fn open_with(path: &Path, how: FlockArg) -> Result<Journal, JournalError> {
        let io = |source| JournalError::Io { path: path.to_owned(), source };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let mut lock_path = path.as_os_str().to_owned();
        lock_path.push(".lock");
        let lock_file = OpenOptions::new().create(true).truncate(false).write(true).open(&lock_path).map_err(io)?;
        let lock = Flock::lock(lock_file, how).map_err(|(_, errno)| match errno {
            nix::errno::Errno::EWOULDBLOCK => JournalError::Busy { path: path.to_owned() },
            e => io(e.into()),
        })?;
        let existed = path.exists();
        let file = OpenOptions::new().create(true).append(true).read(true).open(path).map_err(io)?;
        if !existed {
            // Make the new file's directory entry durable too, or a crash could lose the whole journal.
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                File::open(dir).and_then(|d| d.sync_all()).map_err(io)?;
            }
        }
        let mut journal = Journal { path: path.to_owned(), file, pending: Vec::new(), next_id: 1, _lock: lock };
        journal.load()?;
        Ok(journal)
    }

    fn load(&mut self) -> Result<(), JournalError> {
        let text = std::fs::read_to_string(&self.path).map_err(|source| self.io(source))?;
        if !text.is_empty() && !text.ends_with('\n') {
            // End a torn line, or the next append would be glued to it and lost too.
            self.file.write_all(b"\n").map_err(|e| self.io(e))?;
        }
        for raw in text.lines().filter(|l| !l.trim().is_empty()) {
            // Only the last line can be torn (a crash mid-append), and a torn intent means its change never began.
            let Ok(line) = serde_json::from_str::<Line>(raw) else {
                tracing::warn!("journal {}: skipping unreadable line {raw:?}", self.path.display());
                continue;
            };
            match line {
                Line::Intent { id, fault, undo } => {
                    self.next_id = self.next_id.max(id + 1);
                    self.pending.push(Pending { id, fault, undo, done: false });
                }
                Line::Done { id } => self.pending.iter_mut().filter(|p| p.id == id).for_each(|p| p.done = true),
                Line::RolledBack { id } => self.pending.retain(|p| p.id != id),
            }
        }
        Ok(())
    }

    fn io(&self, source: std::io::Error) -> JournalError {
        JournalError::Io { path: self.path.clone(), source }
    }

    fn append(&mut self, line: &Line) -> Result<(), JournalError> {
        let mut bytes = serde_json::to_vec(line).map_err(|e| self.io(e.into()))?;
        bytes.push(b'\n');
        self.file.write_all(&bytes).and_then(|()| self.file.sync_data()).map_err(|e| self.io(e))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Entries not yet rolled back, oldest first.
    pub fn pending(&self) -> &[Pending] {
        &self.pending
    }

    pub fn dirty(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Write and fsync how to undo a change that is about to be made; returns the entry's id.
    pub fn intend(&mut self, fault: &str, undo: &Undo) -> Result<u64, JournalError> {
        let id = self.next_id;
        self.append(&Line::Intent { id, fault: fault.into(), undo: undo.clone() })?;
        self.next_id += 1;
        self.pending.push(Pending { id, fault: fault.into(), undo: undo.clone(), done: false });
        Ok(id)
    }

    /// The change of entry `id` was made.
    pub fn done(&mut self, id: u64) -> Result<(), JournalError> {
        self.append(&Line::Done { id })?;
        self.pending.iter_mut().filter(|p| p.id == id).for_each(|p| p.done = true);
        Ok(())
    }

    /// Entry `id` was undone; once nothing is pending the file is emptied.
    pub fn rolled_back(&mut self, id: u64) -> Result<(), JournalError> {
        self.append(&Line::RolledBack { id })?;
        self.pending.retain(|p| p.id != id);
        if self.pending.is_empty() {
            self.file.set_len(0).and_then(|()| self.file.sync_all()).map_err(|e| self.io(e))?;
        }
        Ok(())
    }

    /// Roll back every pending entry, newest first, clearing each only after its undo succeeded; a failed one stays
    /// pending (and the journal dirty) and the replay goes on with the rest.
    pub fn replay(&mut self, live: Option<&FaultContext>) -> Result<Replay, JournalError> {
        let mut report = Replay::default();
        for entry in self.pending.clone().into_iter().rev() {
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
mod tests {
    use super::*;

    #[test]
    fn intent_is_durable_before_change_and_replay_is_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j/journal.jsonl");
        let ballast = dir.path().join("ballast");
        {
            let mut j = ensure_clean(&path).unwrap();
            assert!(matches!(Journal::open(&path), Err(JournalError::Busy { .. })));
            j.intend("fill", &Undo::DeleteFile { path: ballast.clone() }).unwrap();
            // The intent is on disk before the change exists: a crash here leaves a replayable journal.
            assert!(std::fs::read_to_string(&path).unwrap().contains("\"op\":\"intent\""));
            std::fs::write(&ballast, b"x").unwrap();
        } // "crash": the lock is dropped with the owner
        let err = ensure_clean(&path).err().unwrap().to_string();
        assert!(err.contains("spacetime-drill recover") && err.contains("fill"), "{err}");
        let mut j = Journal::open(&path).unwrap();
        let r = j.replay(None).unwrap();
        assert_eq!(r.rolled_back.len(), 1);
        assert!(!ballast.exists() && !j.dirty());
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 0);
        drop(j);
        let mut j = ensure_clean(&path).unwrap();
        let r = j.replay(None).unwrap();
        assert!(r.rolled_back.is_empty() && r.failed.is_empty());
    }

    #[test]
    fn torn_last_line_is_skipped_and_ids_continue() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.jsonl");
        let undo = Undo::DeleteFile { path: dir.path().join("b") };
        let mut j = Journal::open(&path).unwrap();
        let id = j.intend("a", &undo).unwrap();
        j.done(id).unwrap();
        drop(j);
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"{\"op\":\"intent\",\"id\":7,\"fau").unwrap();
        let mut j = Journal::open(&path).unwrap();
        assert_eq!(j.pending(), &[Pending { id, fault: "a".into(), undo: undo.clone(), done: true }]);
        let next = j.intend("c", &undo).unwrap();
        assert!(next > id);
        drop(j);
        assert_eq!(Journal::open(&path).unwrap().pending().len(), 2, "an append after a torn line survives");
    }
}
