//! Faults against real ports, files and processes, and the guarantees around them: the journal replayed by
//! `recover`, preflight errors that name the fault and the fix, and (in `interrupt`) a run killed by a signal while
//! faults are held leaves nothing behind.

mod holders;
mod hostile_journal;
mod interrupt;
mod sim_kinds;
mod symptoms;
mod torture;
mod torture_run;

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use spacetime_drill::fault::disk_fill::DiskFillSpec;
use spacetime_drill::fault::key_rotation::KeyRotationSpec;
use spacetime_drill::fault::kill_process::{KillProcessSpec, KillSignal};
use spacetime_drill::fault::port_conflict::{PortConflictSpec, PortMode};
use spacetime_drill::fault::runner::Planned;
use spacetime_drill::fault::scene::{SceneAction, SceneSpec};
use spacetime_drill::fault::undo::Scope;
use spacetime_drill::fault::{
    Allow, Fault, FaultContext, FaultErrorKind, FaultSpec, Injector, Intent, Journal, TargetHost, Undo, ensure_clean,
};

pub const EXE: &str = env!("CARGO_BIN_EXE_spacetime-drill");

pub fn ctx(allow: Allow) -> FaultContext {
    let target = TargetHost { host: "127.0.0.1".into(), http_port: 1 };
    FaultContext::new(EXE.into(), allow, target)
}

pub fn injector(journal: &Path, allow: Allow, faults: Vec<(&str, FaultSpec)>) -> Injector {
    let planned = faults
        .into_iter()
        .map(|(name, spec)| Planned { name: name.into(), fault: spec.build(), ttl: Duration::from_secs(600) })
        .collect();
    Injector::new(ensure_clean(journal).unwrap(), ctx(allow), planned, false)
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Poll `f` until it holds or `within` passes.
pub fn eventually(within: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    f()
}

/// A small tmpfs (needs root; `None` and a message otherwise), unmounted on drop.
pub struct Tmpfs(pub tempfile::TempDir);

impl Tmpfs {
    pub fn mount(size: &str) -> Option<Tmpfs> {
        if !nix::unistd::geteuid().is_root() {
            eprintln!("skipped: mounting a tmpfs needs root");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let mut mount = Command::new("mount");
        mount.args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"]).arg(dir.path());
        assert!(mount.status().unwrap().success());
        Some(Tmpfs(dir))
    }

    pub fn is_empty(&self) -> bool {
        std::fs::read_dir(self.0.path()).unwrap().next().is_none()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(self.0.path()).status();
    }
}

fn port_fault(port: u16, mode: PortMode) -> FaultSpec {
    FaultSpec::PortConflict(PortConflictSpec { port: Some(port), mode, ..Default::default() })
}

#[test]
fn port_conflict_listen_hangs_clients_and_rollback_frees_the_port() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let allow = Allow { ports: vec![port], ..Allow::default() };
    let inj = injector(&dir.path().join("j"), allow, vec![("squat", port_fault(port, PortMode::Listen))]);
    inj.preflight_all().unwrap();
    inj.inject("squat").unwrap();
    assert_eq!(TcpListener::bind(("127.0.0.1", port)).unwrap_err().kind(), ErrorKind::AddrInUse);
    let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
    c.write_all(b"GET /status HTTP/1.1\r\n\r\n").unwrap();
    c.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
    let e = c.read(&mut [0u8; 16]).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut), "the request hangs: {e}");
    inj.rollback("squat").unwrap();
    assert!(eventually(Duration::from_secs(2), || TcpListener::bind(("127.0.0.1", port)).is_ok()));
    assert!(!inj.journal_dirty());
}

#[test]
fn port_conflict_accept_close_resets_clients() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let allow = Allow { ports: vec![port], ..Allow::default() };
    let inj = injector(&dir.path().join("j"), allow, vec![("reset", port_fault(port, PortMode::AcceptClose))]);
    inj.inject("reset").unwrap();
    let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let e = c.read(&mut [0u8; 16]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ConnectionReset);
    drop(inj.guard());
    assert!(eventually(Duration::from_secs(2), || TcpListener::bind(("127.0.0.1", port)).is_ok()));
}

#[test]
fn preflight_names_each_bad_fault_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let by_port = KillProcessSpec { port: Some(port), signal: KillSignal::Kill, ..Default::default() };
    let fill = |path: &Path| {
        FaultSpec::DiskFill(DiskFillSpec { path: Some(path.into()), percent: Some(90.0), free_bytes: None })
    };
    let faults = vec![
        ("dap-crash", FaultSpec::KillProcess(by_port)),
        ("fill-elsewhere", fill(dir.path())),
        ("fill-root", fill(Path::new("/"))),
    ];
    let journal = dir.path().join("j");
    let inj = injector(&journal, Allow { ports: vec![port], ..Allow::default() }, faults);
    let e = inj.preflight_all().unwrap_err().to_string();
    for needle in [
        "fault `dap-crash`",
        &format!("nothing matches the listener on port {port}"),
        "fault `fill-elsewhere`",
        "fault `fill-root`",
        "root filesystem",
        "fix:",
    ] {
        assert!(e.contains(needle), "{needle:?} missing from: {e}");
    }
    let header = spacetime_drill::fault::journal::HEADER.len() as u64 + 1;
    assert_eq!(std::fs::metadata(&journal).unwrap().len(), header, "nothing journaled, nothing changed");
}

/// Journals into a [`Journal`] as the run does, for faults injected by hand.
struct JournalIntent<'a>(&'a mut Journal, &'a str, Scope);

impl Intent for JournalIntent<'_> {
    fn record(&mut self, undo: Undo) -> Result<(), FaultErrorKind> {
        self.0.intend(self.1, &undo, &self.2)?;
        Ok(())
    }
}

/// Leave a journal as a crashed run with no watchdog would: a ballast, a scene overwritten with garbage and a
/// rotated secret, all changed and none undone.
fn crashed_run(journal: &Path, dir: &Path) {
    let ctx = ctx(Allow { paths: vec![dir.to_owned()], ..Allow::default() });
    let mut j = Journal::open(journal).unwrap();
    let ballast = dir.join(".spacetime-drill-ballast.test");
    j.intend("fill", &Undo::DeleteFile { path: ballast.clone() }, &Scope::of(&ctx)).unwrap();
    std::fs::write(&ballast, b"ballast").unwrap();
    let (scene, action) = ("res://main.tscn".into(), SceneAction::Garbage);
    let scene = SceneSpec { scene, action, dependency: None, project_dir: Some(dir.join("project")) };
    scene.inject(&ctx, &mut JournalIntent(&mut j, "scene", Scope::of(&ctx))).unwrap();
    let rotation = KeyRotationSpec { secret_file: Some(dir.join("jwt.secret")) };
    rotation.inject(&ctx, &mut JournalIntent(&mut j, "rotate", Scope::of(&ctx))).unwrap();
}

fn recover(journal: &Path) -> (bool, String) {
    let out = Command::new(EXE).arg("recover").env("SPACETIME_DRILL_JOURNAL", journal).output().unwrap();
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

#[test]
fn recover_replays_a_crashed_run_and_a_second_recover_is_a_no_op() {
    let dir = tempfile::tempdir().unwrap();
    let journal: PathBuf = dir.path().join("state/journal.jsonl");
    let files = dir.path().join("files");
    std::fs::create_dir_all(files.join("project")).unwrap();
    std::fs::write(files.join("project/main.tscn"), "[gd_scene format=3]\n").unwrap();
    std::fs::write(files.join("jwt.secret"), "secret\n").unwrap();
    let before = sim_kinds::tree_hashes(&files);
    crashed_run(&journal, &files);
    assert_ne!(sim_kinds::tree_hashes(&files), before, "the crashed run changed things");
    let refused = ensure_clean(&journal).err().unwrap().to_string();
    assert!(refused.contains("run `spacetime-drill recover`"), "{refused}");
    let (ok, out) = recover(&journal);
    assert!(ok && out.contains("3 rolled back") && out.contains("deleted") && out.contains("restored"), "{out}");
    assert_eq!(sim_kinds::tree_hashes(&files), before, "every file byte-identical, no ballast or backup left");
    let (ok, out) = recover(&journal);
    assert!(ok && out.contains("nothing to recover"), "{out}");
    ensure_clean(&journal).unwrap();
}
