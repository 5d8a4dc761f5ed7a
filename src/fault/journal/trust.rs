//! Whether a journal file may be believed: the checks ssh makes of a private key, made before a line is read.
//!
//! Why it matters: replaying a journal deletes files, restores bytes and runs rollback commands (an `exec` fault's
//! `rollback`, a `restart_command`). Those commands cannot be limited to an allow-list: they are whatever the
//! scenario said. What makes running them safe is who could have written them: a journal owned by the user running
//! `recover` (or by root, for root), writable by nobody else, in a directory nobody else can swap it in, holds only
//! lines that user's own runs wrote, so it runs nothing that user could not have run anyway. A journal anyone else
//! could have written (a shared `SPACETIME_DRILL_JOURNAL` under /tmp) is refused before it is read.

use std::fs::{File, Metadata};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

/// Why the journal at hand is not believed, with the fix.
pub fn refuse(file: &File, path: &Path) -> Result<(), String> {
    let meta = file.metadata().map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err("is not a regular file; give the journal's own path".into());
    }
    owned_and_private(&meta, "the journal")?;
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let dir_meta = std::fs::metadata(dir).map_err(|e| format!("its directory {}: {e}", dir.display()))?;
    // A sticky directory (/tmp) lets nobody else rename or remove our file, so its other writers cannot swap it.
    let sticky = dir_meta.permissions().mode() & 0o1000 != 0;
    if !sticky {
        owned_and_private(&dir_meta, &format!("its directory {}", dir.display()))?;
    }
    Ok(())
}

fn owned_and_private(meta: &Metadata, what: &str) -> Result<(), String> {
    let me = nix::unistd::geteuid().as_raw();
    let mode = meta.permissions().mode() & 0o7777;
    if meta.uid() != me && meta.uid() != 0 {
        return Err(format!(
            "{what} is owned by uid {}, not by you (uid {me}); replay only a journal your own runs wrote",
            meta.uid()
        ));
    }
    if mode & 0o022 != 0 {
        return Err(format!(
            "{what} is writable by group or others (mode {mode:04o}), so anyone could have written its undo \
             commands; check its contents, then chmod go-w it"
        ));
    }
    Ok(())
}
