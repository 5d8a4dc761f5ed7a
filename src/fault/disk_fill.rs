//! `disk_fill`: fill the filesystem holding a path to a target usage or free space with a ballast file (runbook
//! Incident 7, and the scene-load failures a full disk causes); rollback deletes the ballast.
//!
//! Refuses `/`, the root filesystem, and any path the allow-list does not name: a harness must never fill the disk
//! the host itself runs on.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::settings::{CheckSettings, Issues, SettingsContext, rule};
use super::{Fault, FaultContext, FaultErrorKind, Intent, Undo};

/// `[fault.disk_fill]`: fill the filesystem holding a path with a ballast file (runbook Incident 7).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DiskFillSpec {
    /// A directory (or a file in it) on the filesystem to fill (the ballast goes there); omitted = the simulator's
    /// data directory. An explicit path must be absolute, not `/`, and inside an `[allow] paths` entry.
    #[serde(default)]
    pub path: Option<PathBuf>,
    /// Fill until the filesystem is this full, in percent (0, 100], as `df` counts it. Exactly one of `percent` and
    /// `free_bytes`.
    #[serde(default)]
    #[schemars(range(min = 0, max = 100))]
    pub percent: Option<f64>,
    /// Fill until only this many bytes are free (what `df` shows as available).
    #[serde(default)]
    pub free_bytes: Option<u64>,
}

/// The checked place to fill.
struct Fill {
    dir: PathBuf,
    /// Ballast size in bytes to reach the target now (0 = already there).
    bytes: u64,
}

impl DiskFillSpec {
    fn resolve(&self, ctx: &FaultContext) -> Result<Fill, FaultErrorKind> {
        let refuse = |what: String, fix: &str| FaultErrorKind::Refused { what, fix: fix.into() };
        ctx.require_local()?;
        let target = match (self.percent, self.free_bytes) {
            (Some(p), None) if p > 0.0 && p <= 100.0 => Target::Percent(p),
            (None, Some(b)) => Target::Free(b),
            _ => {
                return Err(refuse("percent/free_bytes".into(), "give exactly one: percent in (0, 100] or free_bytes"));
            }
        };
        let path = match &self.path {
            Some(p) => p.clone(),
            None => ctx.require_sim("disk_fill without `path`")?.data_dir.clone(),
        };
        let path = path.canonicalize().map_err(|_| FaultErrorKind::NotFound {
            what: format!("{} does not exist", path.display()),
            fix: "create the directory, or correct `path`".into(),
        })?;
        let dir = if path.is_dir() { path } else { path.parent().unwrap_or(Path::new("/")).to_owned() };
        if dir == Path::new("/") || mount_point(&dir).as_deref() == Some(Path::new("/")) {
            return Err(refuse(
                format!("{} is on the root filesystem", dir.display()),
                "point `path` at a dedicated filesystem (a loop device or tmpfs) that the allow-list names",
            ));
        }
        ctx.require_path(&dir)?;
        let st = nix::sys::statvfs::statvfs(&dir).map_err(|e| FaultErrorKind::io("statvfs")(e.into()))?;
        let (frsize, blocks) = (st.fragment_size() as u64, st.blocks() as u64);
        let (used, avail) = ((blocks - st.blocks_free() as u64) * frsize, st.blocks_available() as u64 * frsize);
        let bytes = match target {
            Target::Percent(p) => ((p / 100.0 * (used + avail) as f64).ceil() as u64).saturating_sub(used),
            Target::Free(b) => avail.saturating_sub(b),
        };
        Ok(Fill { dir, bytes })
    }
}

enum Target {
    Percent(f64),
    Free(u64),
}

/// The mount point of the filesystem holding `dir`: the longest mount point that is a prefix of it.
fn mount_point(dir: &Path) -> Option<PathBuf> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    info.lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(|m| PathBuf::from(m.replace("\\040", " ")))
        .filter(|m| dir.starts_with(m))
        .max_by_key(|m| m.as_os_str().len())
}

impl CheckSettings for DiskFillSpec {
    const EXAMPLE: &'static str = "percent = 90";

    fn check(&self, cx: &SettingsContext, c: &mut Issues) {
        match (self.percent, self.free_bytes) {
            (Some(pct), None) => c.rule("percent", rule::positive(pct, 100.0, "percent")),
            (None, Some(_)) => {}
            _ => c.fail("", "set exactly one of percent (how full, e.g. 96) and free_bytes (bytes left free)"),
        }
        if let Some(path) = &self.path {
            c.allowed_path("path", path, cx.allow);
        }
    }
}

impl Fault for DiskFillSpec {
    fn kind(&self) -> &'static str {
        "disk_fill"
    }

    fn describe(&self) -> String {
        let goal = match (self.percent, self.free_bytes) {
            (Some(p), _) => format!("{p}% used"),
            (_, Some(b)) => format!("{b} bytes free"),
            _ => "?".into(),
        };
        let path = self.path.as_ref().map_or("the simulator's data dir".into(), |p| p.display().to_string());
        format!("disk_fill: put a ballast file in {path} until its filesystem is {goal}")
    }

    fn preflight(&self, ctx: &FaultContext) -> Result<(), FaultErrorKind> {
        self.resolve(ctx).map(drop)
    }

    fn inject(&self, ctx: &FaultContext, intent: &mut dyn Intent) -> Result<String, FaultErrorKind> {
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let fill = self.resolve(ctx)?;
        if fill.bytes == 0 {
            return Ok(format!("{} is already at the target; no ballast", fill.dir.display()));
        }
        let n = SEQ.fetch_add(1, Ordering::Relaxed);
        let ballast = fill.dir.join(format!(".spacetime-drill-ballast.{}.{n}", std::process::id()));
        intent.record(Undo::DeleteFile { path: ballast.clone() })?;
        let io = |what: &str| FaultErrorKind::io(format!("{what} {}", ballast.display()));
        let mut file = OpenOptions::new().write(true).create_new(true).open(&ballast).map_err(io("creating"))?;
        let how = match nix::fcntl::fallocate(&file, nix::fcntl::FallocateFlags::empty(), 0, fill.bytes as i64) {
            Ok(()) => "fallocate",
            Err(_) => {
                // Filesystems without fallocate get real zeroes, a chunk at a time.
                let chunk = vec![0u8; 1 << 20];
                let mut left = fill.bytes;
                while left > 0 {
                    let n = left.min(chunk.len() as u64) as usize;
                    file.write_all(&chunk[..n]).map_err(io("writing"))?;
                    left -= n as u64;
                }
                "write"
            }
        };
        file.sync_all().map_err(io("syncing"))?;
        Ok(format!("ballast {} of {} bytes ({how})", ballast.display(), fill.bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Allow, testutil};
    use super::*;

    /// A small tmpfs mounted for one test (needs root), unmounted on drop.
    struct Tmpfs(tempfile::TempDir);

    impl Tmpfs {
        fn mount(size: &str) -> Option<Tmpfs> {
            if !nix::unistd::geteuid().is_root() {
                eprintln!("skipped: mounting a tmpfs needs root");
                return None;
            }
            let dir = tempfile::tempdir().unwrap();
            let ok = std::process::Command::new("mount")
                .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
                .arg(dir.path())
                .status()
                .unwrap();
            assert!(ok.success());
            Some(Tmpfs(dir))
        }
        fn used_pct(&self) -> f64 {
            let st = nix::sys::statvfs::statvfs(self.0.path()).unwrap();
            let used = (st.blocks() - st.blocks_free()) as f64;
            100.0 * used / (used + st.blocks_available() as f64)
        }
    }

    impl Drop for Tmpfs {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount").arg("-l").arg(self.0.path()).status();
        }
    }

    fn spec(path: &Path, percent: Option<f64>, free_bytes: Option<u64>) -> DiskFillSpec {
        DiskFillSpec { path: Some(path.to_owned()), percent, free_bytes }
    }

    #[test]
    fn fills_to_percent_and_free_bytes_then_rollback_frees() {
        let Some(fs) = Tmpfs::mount("8m") else { return };
        let ctx = testutil::ctx(Allow { paths: vec![fs.0.path().to_owned()], ..Allow::default() });
        let fill = spec(fs.0.path(), Some(90.0), None);
        fill.preflight(&ctx).unwrap();
        let mut undo = Vec::new();
        fill.inject(&ctx, &mut undo).unwrap();
        assert!((90.0..92.0).contains(&fs.used_pct()), "{}", fs.used_pct());
        testutil::rollback(undo);
        // A process forked by a parallel test may hold the deleted ballast open until its exec closes it.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
        while fs.used_pct() >= 1.0 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert!(fs.used_pct() < 1.0, "{}", fs.used_pct());

        let free = spec(fs.0.path(), None, Some(1 << 20));
        let mut undo = Vec::new();
        free.inject(&ctx, &mut undo).unwrap();
        let st = nix::sys::statvfs::statvfs(fs.0.path()).unwrap();
        assert_eq!(st.blocks_available() as u64 * st.fragment_size() as u64, 1 << 20);
        testutil::rollback(undo.clone());
        testutil::rollback(undo);
        assert!(std::fs::read_dir(fs.0.path()).unwrap().next().is_none(), "no ballast left");
    }

    #[test]
    fn refuses_root_and_paths_outside_the_allow_list() {
        let root = spec(Path::new("/"), Some(50.0), None);
        let ctx = testutil::ctx(Allow { paths: vec!["/".into()], ..Allow::default() });
        let e = root.preflight(&ctx).unwrap_err().to_string();
        assert!(e.contains("root filesystem") && e.contains("fix:"), "{e}");
        let Some(fs) = Tmpfs::mount("1m") else { return };
        let e = spec(fs.0.path(), Some(50.0), None).preflight(&testutil::ctx(Allow::default())).unwrap_err();
        assert!(e.to_string().contains("not in the allow-list"), "{e}");
        let both = spec(fs.0.path(), Some(50.0), Some(1));
        assert!(both.preflight(&ctx).unwrap_err().to_string().contains("exactly one"));
    }
}
