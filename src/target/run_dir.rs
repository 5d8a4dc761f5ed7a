//! The run directory: one private directory in the system's temp dir that holds every temporary file of a run
//! against the embedded simulator (its JWT secret, its scratch and data, the mount point of its tmpfs), so that
//! cleaning up after a run is removing one directory, whoever does it.
//!
//! Who does it: the run, when it ends; its watchdog, when it was killed (even SIGKILL of its whole process group,
//! since the watchdog lives in its own session); `recover` for anything older. The name carries the run's PID, so
//! `recover` only touches directories of runs that no longer exist.

use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::fault::watchdog::Watchdog;

/// Every run directory is `<temp dir>/<PREFIX><pid>-<random>`.
pub const PREFIX: &str = "spacetime-drill-run-";

/// The run's directory and the watchdog that removes it if the run dies; dropping it removes it.
pub struct RunDir {
    dir: Option<tempfile::TempDir>,
    watchdog: Option<Watchdog>,
}

impl RunDir {
    /// Create the directory (0700) and start its watchdog.
    pub fn create() -> anyhow::Result<RunDir> {
        let dir = tempfile::Builder::new().prefix(&format!("{PREFIX}{}-", std::process::id())).tempdir()?;
        let exe = std::env::current_exe().context("cannot find this program to start the watchdog")?;
        let watchdog = Watchdog::spawn_with(&exe, None, Some(dir.path()))?;
        Ok(RunDir { dir: Some(dir), watchdog: Some(watchdog) })
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir.as_ref().map_or(Path::new(""), |d| d.path())
    }
}

impl Drop for RunDir {
    fn drop(&mut self) {
        if let Some(dir) = self.dir.take() {
            let path = dir.keep();
            if let Err(e) = clean(&path) {
                tracing::warn!("{e:#}");
            }
        }
        if let Some(w) = self.watchdog.take() {
            w.disarm();
        }
    }
}

/// The fault module's hook on run directories: the watchdog and `recover` clean through it (faults sit below the
/// target and cannot name this module).
pub struct Cleaner;

impl crate::fault::RunDirs for Cleaner {
    fn clean(&self, dir: &Path) -> anyhow::Result<()> {
        clean(dir)
    }

    fn clean_leftovers(&self) -> usize {
        clean_leftovers()
    }
}

/// Unmount everything mounted under a run directory, deepest first, then remove it. Refuses any path that is not a
/// run directory in the temp dir (the watchdog's `--run-dir` is a command-line argument).
pub fn clean(dir: &Path) -> anyhow::Result<()> {
    let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    anyhow::ensure!(
        name.starts_with(PREFIX) && dir.parent() == Some(std::env::temp_dir().as_path()),
        "{} is not a spacetime-drill run directory; nothing removed",
        dir.display()
    );
    let mut mounts = mounts_under(dir);
    mounts.sort_by_key(|m| std::cmp::Reverse(m.components().count()));
    for m in &mounts {
        super::data_fs::unmount(m);
    }
    match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("removing the run directory {}", dir.display()))
        }
        _ => Ok(()),
    }
}

/// Mount points at or below `dir`, from /proc/mounts.
pub fn mounts_under(dir: &Path) -> Vec<PathBuf> {
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
    mounts
        .lines()
        .filter_map(|line| line.split_whitespace().nth(1).map(PathBuf::from))
        .filter(|m| m.starts_with(dir))
        .collect()
}

/// Clean the run directories of runs that no longer exist; returns how many.
pub fn clean_leftovers() -> usize {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else { return 0 };
    let stale: Vec<PathBuf> = entries
        .filter_map(|e| Some(e.ok()?.path()))
        .filter(|p| {
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let pid = name.strip_prefix(PREFIX).and_then(|rest| rest.split('-').next()?.parse::<i32>().ok());
            pid.is_some_and(|pid| {
                nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None) == Err(nix::errno::Errno::ESRCH)
            })
        })
        .collect();
    stale.iter().filter(|d| clean(d).is_ok()).count()
}
