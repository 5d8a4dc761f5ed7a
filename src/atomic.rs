//! Writing a file whole or not at all: the bytes go to a temporary file beside it (the same filesystem, so the rename
//! is atomic), which is fsynced, renamed over the target, and the directory fsynced so the rename survives a crash.
//! A reader (a CI job picking up a report, the simulator loading a scene a fault replaced) sees the old file or the
//! new one, never half of either.
//!
//! Why one module: reports and the file faults both need it, and the details (fsync the file before the rename and
//! the directory after, remove the temporary file on failure) are easy to get subtly wrong twice. The simulator, a
//! crate that must not depend on the harness, keeps its own small helper.

use std::fs::{File, OpenOptions, Permissions};
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use tempfile::{NamedTempFile, TempPath};

/// Replace `path` with what `fill` writes, with permissions `mode`, through a uniquely named temporary file.
pub fn write<E: From<io::Error>>(
    path: &Path,
    mode: u32,
    fill: impl FnOnce(&mut dyn Write) -> Result<(), E>,
) -> Result<(), E> {
    commit(NamedTempFile::new_in(dir_of(path))?, path, mode, fill)
}

/// [`write()`] through the temporary file `tmp` (beside `path`), for a caller that must recognise a leftover after a
/// crash by its name (the file faults' restore deletes it).
pub fn write_via<E: From<io::Error>>(
    tmp: &Path,
    path: &Path,
    mode: u32,
    fill: impl FnOnce(&mut dyn Write) -> Result<(), E>,
) -> Result<(), E> {
    let file = OpenOptions::new().write(true).create(true).truncate(true).mode(mode).open(tmp)?;
    commit(NamedTempFile::from_parts(file, TempPath::try_from_path(tmp)?), path, mode, fill)
}

fn commit<E: From<io::Error>>(
    tmp: NamedTempFile,
    path: &Path,
    mode: u32,
    fill: impl FnOnce(&mut dyn Write) -> Result<(), E>,
) -> Result<(), E> {
    // Explicit, not through `open`: the umask must not change the mode a replaced file or a shared report gets.
    tmp.as_file().set_permissions(Permissions::from_mode(mode))?;
    let mut w = BufWriter::new(tmp);
    fill(&mut w)?;
    let tmp = w.into_inner().map_err(|e| e.into_error())?;
    tmp.as_file().sync_all()?;
    // On any error above, dropping `tmp` removes the temporary file.
    tmp.persist(path).map_err(|e| e.error)?;
    sync_dir(path)?;
    Ok(())
}

/// Make a rename or a new name in `path`'s directory durable.
pub fn sync_dir(path: &Path) -> io::Result<()> {
    File::open(dir_of(path))?.sync_all()
}

fn dir_of(path: &Path) -> &Path {
    path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."))
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::MetadataExt;

    use super::*;

    #[test]
    fn replaces_whole_with_its_mode_and_leaves_nothing_on_failure() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, "old").unwrap();
        write::<io::Error>(&path, 0o640, |w| w.write_all(b"new")).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(std::fs::metadata(&path).unwrap().mode() & 0o777, 0o640);

        let failed = write(&path, 0o644, |w| {
            w.write_all(b"half")?;
            Err(io::Error::other("render failed"))
        });
        assert!(failed.is_err());
        let tmp = dir.path().join(".f.new");
        assert!(write_via::<io::Error>(&tmp, &path, 0o600, |_| Err(io::Error::other("no"))).is_err());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new", "a failed write changes nothing");
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(left, ["f"], "no temporary file is left");
    }
}
