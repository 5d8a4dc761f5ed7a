//! A small filesystem of its own for the embedded simulator's data directory (`[sim] data_fs_mib`), so a drill
//! can fill a disk for real (`disk_fill` to 86 %, 96 %, 100 %) without touching the host's own filesystems.
//!
//! It is a tmpfs mounted for the run (CAP_SYS_ADMIN only) and unmounted when the run ends. A run killed with SIGKILL
//! cannot unmount it; `spacetime-drill recover` unmounts such leftovers, recognisable by their directory prefix.

use std::path::{Path, PathBuf};

use caps::{CapSet, Capability};
use nix::errno::Errno;
use nix::mount::{MntFlags, MsFlags, mount, umount2};

/// Every data filesystem is mounted under a directory with this prefix in the system's temp dir.
pub const PREFIX: &str = "spacetime-drill-datafs-";

pub struct DataFs {
    dir: PathBuf,
}

impl DataFs {
    /// Called while the target is resolved, before any fault is prepared, so a run that may not mount stops with
    /// exit 2 having injected nothing. Mounting is a system call rather than `mount(8)`, which the container image
    /// (a static binary on `scratch`) does not have.
    pub fn mount(mib: u32) -> anyhow::Result<DataFs> {
        may_mount()?;
        // The run's PID in the name tells `recover` whether the owner is still alive.
        let prefix = format!("{PREFIX}{}-", std::process::id());
        let dir = tempfile::Builder::new().prefix(&prefix).tempdir()?.keep();
        let options = format!("size={mib}m,mode=0755");
        if let Err(errno) = mount(Some("tmpfs"), &dir, Some("tmpfs"), MsFlags::empty(), Some(options.as_str())) {
            let _ = std::fs::remove_dir(&dir);
            let hint = if errno == Errno::EPERM {
                ": CAP_SYS_ADMIN is held, so a security profile (seccomp, AppArmor, SELinux) forbids mount; in a \
                 container, run it with a profile that allows mount (e.g. `--security-opt apparmor=unconfined`)"
            } else {
                ""
            };
            anyhow::bail!("[sim] data_fs_mib: mounting a {mib} MiB tmpfs at {} failed: {errno}{hint}", dir.display());
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

/// Mounting needs CAP_SYS_ADMIN in the effective set: root on a host, or a container started with the capability
/// (`--cap-add SYS_ADMIN` and user 0, since an added capability is not effective for a non-root user).
fn may_mount() -> anyhow::Result<()> {
    let held = caps::has_cap(None, CapSet::Effective, Capability::CAP_SYS_ADMIN)
        .map_err(|e| anyhow::anyhow!("cannot read this process's capabilities: {e}"))?;
    anyhow::ensure!(
        held,
        "[sim] data_fs_mib mounts a small tmpfs for the simulator's data and needs the CAP_SYS_ADMIN capability, \
         which this process lacks (uid {}); nothing was injected. Run as root, in a container with \
         `--user 0 --cap-add SYS_ADMIN`, or remove data_fs_mib and point disk_fill at a small filesystem of your own",
        nix::unistd::geteuid()
    );
    Ok(())
}

/// Lazy unmount (the simulator may still be exiting), then remove the empty mount point.
fn unmount(dir: &Path) {
    let _ = umount2(dir, MntFlags::MNT_DETACH);
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
