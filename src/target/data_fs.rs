//! A small filesystem of its own for the embedded simulator's data directory (`[sim] data_fs_mib`), so a drill
//! can fill a disk for real (`disk_fill` to 86 %, 96 %, 100 %) without touching the host's own filesystems.
//!
//! It is a tmpfs mounted for the run (CAP_SYS_ADMIN only) inside the run directory ([`super::run_dir`]) and unmounted
//! when the run ends; a run killed with SIGKILL leaves it to the run directory's watchdog, or to `recover`.

use std::path::{Path, PathBuf};

use anyhow::Context;
use caps::{CapSet, Capability};
use nix::errno::Errno;
use nix::mount::{MntFlags, MsFlags, mount, umount2};

/// The mounted tmpfs; dropping it unmounts it, so every way out of a run (error, panic, Ctrl-C) gives it back.
pub struct DataFs {
    dir: PathBuf,
}

impl DataFs {
    /// Mount a tmpfs of `mib` MiB at `dir` (created). Called while the target is resolved, before any fault is
    /// prepared, so a run that may not mount stops with exit 2 having injected nothing. Mounting is a system call
    /// rather than `mount(8)`, which the container image (a static binary on `scratch`) does not have.
    pub fn mount(mib: u32, dir: PathBuf) -> anyhow::Result<DataFs> {
        may_mount()?;
        std::fs::create_dir(&dir).with_context(|| format!("creating {}", dir.display()))?;
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

    /// The mount point, handed to the simulator as its data directory (so its files are what fills up).
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

/// Lazy unmount (the simulator may still be exiting and holding files open), then remove the empty mount point.
pub fn unmount(dir: &Path) {
    let _ = umount2(dir, MntFlags::MNT_DETACH);
    let _ = std::fs::remove_dir(dir);
}
