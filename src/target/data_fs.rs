//! A small filesystem of its own for the embedded simulator's data directory (`[sim] data_fs_mib`), so a drill
//! can fill a disk for real (`disk_fill` to 86 %, 96 %, 100 %) without touching the host's own filesystems.
//!
//! It is a tmpfs mounted for the run (root only) and unmounted when the run ends. A run killed with SIGKILL
//! cannot unmount it; `spacetime-drill recover` unmounts such leftovers, recognisable by their directory prefix.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context;

/// Every data filesystem is mounted under a directory with this prefix in the system's temp dir.
pub const PREFIX: &str = "spacetime-drill-datafs-";

pub struct DataFs {
    dir: PathBuf,
}

impl DataFs {
    pub fn mount(mib: u32) -> anyhow::Result<DataFs> {
        anyhow::ensure!(
            nix::unistd::geteuid().is_root(),
            "[sim] data_fs_mib mounts a small tmpfs for the simulator's data and needs root; run as root, or remove it \
             and point disk_fill at a small filesystem of your own"
        );
        // The run's PID in the name tells `recover` whether the owner is still alive.
        let prefix = format!("{PREFIX}{}-", std::process::id());
        let dir = tempfile::Builder::new().prefix(&prefix).tempdir()?.keep();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={mib}m,mode=0755"), "tmpfs"])
            .arg(&dir)
            .status()
            .context("cannot run mount")?;
        if !status.success() {
            let _ = std::fs::remove_dir(&dir);
            anyhow::bail!("mounting a {mib} MiB tmpfs at {} failed ({status})", dir.display());
        }
        Ok(DataFs { dir })
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }
}

impl Drop for DataFs {
    fn drop(&mut self) {
        unmount(&self.dir);
    }
}

/// Lazy unmount (the simulator may still be exiting), then remove the empty mount point.
fn unmount(dir: &Path) {
    let _ = Command::new("umount").arg("-l").arg(dir).status();
    let _ = std::fs::remove_dir(dir);
}

/// Unmount data filesystems left by runs that were killed; returns how many. Only tmpfs mounts in the temp dir
/// named with [`PREFIX`] and the PID of a process that no longer exists are touched.
pub fn unmount_leftovers() -> usize {
    let tmp = std::env::temp_dir();
    let Ok(mounts) = std::fs::read_to_string("/proc/mounts") else { return 0 };
    let stale: Vec<PathBuf> = mounts
        .lines()
        .filter_map(|line| {
            let mut f = line.split_whitespace();
            let (_device, dir, fstype) = (f.next()?, f.next()?, f.next()?);
            (fstype == "tmpfs").then(|| PathBuf::from(dir))
        })
        .filter(|dir| dir.parent() == Some(tmp.as_path()) && owner_is_gone(dir))
        .collect();
    for dir in &stale {
        unmount(dir);
    }
    stale.len()
}

fn owner_is_gone(dir: &Path) -> bool {
    let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let Some(pid) = name.strip_prefix(PREFIX).and_then(|rest| rest.split('-').next()?.parse::<i32>().ok()) else {
        return false;
    };
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None) == Err(nix::errno::Errno::ESRCH)
}
