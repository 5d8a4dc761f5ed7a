//! A small filesystem of its own for the embedded simulator's data directory (`[sim] data_fs_mib`), so a drill
//! can fill a disk for real (`disk_fill` to 86 %, 96 %, 100 %) without touching the host's own filesystems.
//!
//! It is a tmpfs mounted for the run (root only) inside the run directory ([`super::run_dir`]) and unmounted when
//! the run ends; a run killed with SIGKILL leaves it to the run directory's watchdog, or to `recover`.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context;

pub struct DataFs {
    dir: PathBuf,
}

impl DataFs {
    /// Mount a tmpfs of `mib` MiB at `dir` (created).
    pub fn mount(mib: u32, dir: PathBuf) -> anyhow::Result<DataFs> {
        anyhow::ensure!(
            nix::unistd::geteuid().is_root(),
            "[sim] data_fs_mib mounts a small tmpfs for the simulator's data and needs root; run as root, or remove it \
             and point disk_fill at a small filesystem of your own"
        );
        std::fs::create_dir(&dir).with_context(|| format!("creating {}", dir.display()))?;
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
    /// Lazy unmount (the simulator may still be exiting), then remove the empty mount point.
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
        let _ = std::fs::remove_dir(&self.dir);
    }
}
