//! Altering a file so that it can always be put back byte for byte: the kinds that break or replace files (`scene`,
//! `key_rotation`) go through here.
//!
//! The order is what makes a crash at any instant safe: the [`Undo::RestoreFile`] record (path, backup path, mode,
//! SHA-256 of the original) is journaled first; then the original is copied (or moved) to the backup, beside it on
//! the same filesystem, and fsynced; only then is the file changed, by an atomic rename. The restore trusts
//! nothing but the checksum: a file that already matches is left alone, a backup is used only if it matches, and the
//! result is checked again.

use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};

use super::{FaultErrorKind, Intent, Undo};
use crate::atomic::sync_dir;

/// The hex SHA-256 of a file's bytes; `None` when it does not exist.
pub fn sha256_file(path: &Path) -> std::io::Result<Option<String>> {
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut hasher = Sha256::new();
    let mut buf = [0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            return Ok(Some(format!("{:x}", hasher.finalize())));
        }
        hasher.update(&buf[..n]);
    }
}

/// Journal how to restore `path`, then copy it to a backup beside it (fsynced). The caller changes it afterwards.
/// Returns the file's mode, for the replacement.
pub fn back_up(intent: &mut dyn Intent, path: &Path) -> Result<(PathBuf, u32), FaultErrorKind> {
    let (backup, mode) = record(intent, path)?;
    let io = FaultErrorKind::io(format!("backing up {} to {}", path.display(), backup.display()));
    let bytes = std::fs::read(path).map_err(FaultErrorKind::io(format!("reading {}", path.display())))?;
    write_synced(&backup, &bytes, mode).map_err(io)?;
    Ok((backup, mode))
}

/// Journal how to restore `path`, then move it to its backup name: the file is gone until rollback moves it back.
pub fn move_away(intent: &mut dyn Intent, path: &Path) -> Result<PathBuf, FaultErrorKind> {
    let (backup, _) = record(intent, path)?;
    std::fs::rename(path, &backup).and_then(|()| sync_dir(path)).map_err(FaultErrorKind::io(format!(
        "moving {} to {}",
        path.display(),
        backup.display()
    )))?;
    Ok(backup)
}

/// Replace `path` atomically with `bytes`, keeping `mode`. The bytes are written and fsynced first under a name
/// derived from `backup` ([`staging`]), so a crash before the rename leaves a file the restore knows to delete.
pub fn replace(path: &Path, backup: &Path, bytes: &[u8], mode: u32) -> Result<(), FaultErrorKind> {
    crate::atomic::write_via(&staging(backup), path, mode, |w| w.write_all(bytes))
        .map_err(FaultErrorKind::io(format!("replacing {}", path.display())))
}

/// The rollback of [`Undo::RestoreFile`]; idempotent, and a no-op when the change never happened.
pub fn restore(path: &Path, backup: &Path, mode: u32, sha256: &str) -> Result<String, FaultErrorKind> {
    let hash = |p: &Path| sha256_file(p).map_err(FaultErrorKind::io(format!("reading {}", p.display())));
    let set_mode = |p: &Path| {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode))
            .map_err(FaultErrorKind::io(format!("restoring the mode of {}", p.display())))
    };
    remove_if_exists(&staging(backup))?;
    if hash(path)?.as_deref() == Some(sha256) {
        set_mode(path)?;
        remove_if_exists(backup)?;
        return Ok(format!("{} is intact", path.display()));
    }
    if hash(backup)?.as_deref() != Some(sha256) {
        return Err(FaultErrorKind::NotFound {
            what: format!(
                "cannot restore {}: neither it nor the backup {} has the original's checksum {sha256}",
                path.display(),
                backup.display()
            ),
            fix: "restore the file from version control or a backup by hand, then run `spacetime-drill recover`".into(),
        });
    }
    set_mode(backup)?;
    std::fs::rename(backup, path).and_then(|()| sync_dir(path)).map_err(FaultErrorKind::io(format!(
        "moving {} back to {}",
        backup.display(),
        path.display()
    )))?;
    match hash(path)? {
        Some(h) if h == sha256 => Ok(format!("restored {} (sha256 {})", path.display(), &sha256[..12])),
        _ => Err(FaultErrorKind::Command {
            cmd: format!("restore {}", path.display()),
            output: "the restored file does not match the original's checksum".into(),
        }),
    }
}

fn record(intent: &mut dyn Intent, path: &Path) -> Result<(PathBuf, u32), FaultErrorKind> {
    let meta = std::fs::metadata(path).map_err(|e| FaultErrorKind::NotFound {
        what: format!("cannot read {}: {e}", path.display()),
        fix: "correct the path, or create the file".into(),
    })?;
    let sha256 =
        sha256_file(path).map_err(FaultErrorKind::io(format!("reading {}", path.display())))?.ok_or_else(|| {
            FaultErrorKind::NotFound { what: format!("{} vanished", path.display()), fix: "retry".into() }
        })?;
    let mode = meta.permissions().mode() & 0o7777;
    let backup = backup_name(path);
    intent.record(Undo::RestoreFile { path: path.to_owned(), backup: backup.clone(), mode, sha256 })?;
    Ok((backup, mode))
}

/// The backup's name: hidden, beside `path` (same filesystem, so renames are atomic), unique per process and call,
/// with a suffix no loader picks up (`.tscn`, `.gd` files are found by extension).
fn backup_name(path: &Path) -> PathBuf {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    path.with_file_name(format!(".{name}.spacetime-drill-backup.{}.{n}", std::process::id()))
}

/// Where [`replace`] stages the new bytes: the backup's name plus `.new`.
fn staging(backup: &Path) -> PathBuf {
    let mut name = backup.as_os_str().to_owned();
    name.push(".new");
    PathBuf::from(name)
}

fn write_synced(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    let mut f = OpenOptions::new().write(true).create(true).truncate(true).mode(mode).open(path)?;
    f.set_permissions(std::fs::Permissions::from_mode(mode))?;
    f.write_all(bytes)?;
    f.sync_all()?;
    sync_dir(path)
}

fn remove_if_exists(path: &Path) -> Result<(), FaultErrorKind> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != ErrorKind::NotFound => {
            Err(FaultErrorKind::io(format!("removing the backup {}", path.display()))(e))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil;
    use super::*;

    #[test]
    fn back_up_replace_and_restore_bytes_and_mode_idempotently() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("secret");
        std::fs::write(&f, b"original\n").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o640)).unwrap();
        let before = sha256_file(&f).unwrap().unwrap();
        let mut undo = Vec::new();
        let (backup, mode) = back_up(&mut undo, &f).unwrap();
        replace(&f, &backup, b"changed", 0o600).unwrap();
        // A crash after staging but before the rename: the staged file is cleaned up too.
        std::fs::write(staging(&backup), b"half").unwrap();
        assert_eq!(mode, 0o640);
        assert_ne!(sha256_file(&f).unwrap().unwrap(), before);
        testutil::rollback(undo.clone());
        testutil::rollback(undo);
        assert_eq!(sha256_file(&f).unwrap().unwrap(), before);
        assert_eq!(std::fs::metadata(&f).unwrap().permissions().mode() & 0o7777, 0o640);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "no backup left");
    }

    #[test]
    fn move_away_and_a_crash_before_the_change_both_restore() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("a.tscn");
        std::fs::write(&f, b"scene").unwrap();
        let mut undo = Vec::new();
        move_away(&mut undo, &f).unwrap();
        assert!(!f.exists());
        testutil::rollback(undo);
        assert_eq!(std::fs::read(&f).unwrap(), b"scene");
        // Journaled, then "crashed" before any backup or change: the rollback finds nothing to do.
        let mut undo = Vec::new();
        record(&mut undo, &f).unwrap();
        testutil::rollback(undo);
        // A file changed with no backup cannot be restored, and says so.
        let mut undo = Vec::new();
        record(&mut undo, &f).unwrap();
        std::fs::write(&f, b"other").unwrap();
        let e = undo[0].rollback(None).unwrap_err().to_string();
        assert!(e.contains("checksum") && e.contains("fix:"), "{e}");
    }
}
