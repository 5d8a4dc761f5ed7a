//! A run interrupted while it holds faults leaves nothing behind: SIGINT and SIGTERM roll back in the run (as the
//! orchestrator's signal handler will), SIGKILL through the watchdog within 2 s.
//!
//! The "run" is this test binary re-executed as `helper` (an ignored test that acts only when told to by the
//! environment): it opens the journal, starts the watchdog, fills a tmpfs and squats a port, then waits to be killed.

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;
use parking_lot::Mutex;
use spacetime_drill::fault::disk_fill::DiskFillSpec;
use spacetime_drill::fault::port_conflict::{PortConflictSpec, PortMode};
use spacetime_drill::fault::watchdog::Watchdog;
use spacetime_drill::fault::{Allow, FaultSpec, Journal};

use super::{EXE, Tmpfs, eventually, free_port, injector};

const HELPER_ENV: &str = "SPACETIME_DRILL_TEST_HELPER";

/// The helper "run". Arguments come as `journal|fill dir|port`.
#[test]
#[ignore = "run by the interruption tests as a child process"]
fn helper() {
    let Ok(args) = std::env::var(HELPER_ENV) else { return };
    let [journal, fill, port]: [&str; 3] = args.split('|').collect::<Vec<_>>().try_into().unwrap();
    let (journal, fill, port) = (Path::new(journal), Path::new(fill), port.parse::<u16>().unwrap());
    let watchdog = Arc::new(Mutex::new(Some(Watchdog::spawn(Path::new(EXE), journal).unwrap())));
    let allow = Allow { paths: vec![fill.into()], ports: vec![port], ..Allow::default() };
    let faults = vec![
        ("fill", FaultSpec::DiskFill(DiskFillSpec { path: Some(fill.into()), percent: Some(60.0), free_bytes: None })),
        (
            "squat",
            FaultSpec::PortConflict(PortConflictSpec {
                port: Some(port),
                mode: PortMode::Listen,
                ..Default::default()
            }),
        ),
    ];
    let inj = injector(journal, allow, faults);
    let on_signal = (inj.clone(), watchdog.clone());
    ctrlc::set_handler(move || {
        let errors = on_signal.0.rollback_all();
        if let Some(w) = on_signal.1.lock().take().filter(|_| errors.is_empty()) {
            w.disarm();
        }
        std::process::exit(130);
    })
    .unwrap();
    inj.preflight_all().unwrap();
    inj.inject("fill").unwrap();
    inj.inject("squat").unwrap();
    println!("HELD");
    std::thread::sleep(Duration::from_secs(30));
}

/// The helper process, in its own process group; the group is killed on drop.
struct Run(Child);

impl Run {
    fn start(journal: &Path, fill: &Path, port: u16) -> Run {
        let me = std::env::current_exe().unwrap();
        let child = Command::new(me)
            .args(["--exact", "faults::interrupt::helper", "--ignored", "--nocapture", "--test-threads=1"])
            .env(HELPER_ENV, format!("{}|{}|{port}", journal.display(), fill.display()))
            .stdout(Stdio::piped())
            .process_group(0)
            .spawn()
            .unwrap();
        Run(child)
    }

    fn wait_held(&mut self) {
        let out = BufReader::new(self.0.stdout.take().unwrap());
        assert!(out.lines().map_while(Result::ok).any(|l| l.contains("HELD")), "the helper never held its faults");
    }

    fn signal(&mut self, sig: Signal) {
        kill(Pid::from_raw(self.0.id() as i32), sig).unwrap();
        assert!(eventually(Duration::from_secs(10), || self.0.try_wait().unwrap().is_some()), "the run did not end");
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        let _ = killpg(Pid::from_raw(self.0.id() as i32), Signal::SIGKILL);
        let _ = self.0.wait();
    }
}

/// PIDs whose command line mentions `needle` (a watchdog for our journal).
fn procs_mentioning(needle: &str) -> Vec<u32> {
    let pids = std::fs::read_dir("/proc").unwrap().filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok());
    pids.filter(|p| {
        std::fs::read(format!("/proc/{p}/cmdline")).is_ok_and(|c| String::from_utf8_lossy(&c).contains(needle))
    })
    .collect()
}

/// Nothing is left: no ballast, the port binds, no watchdog, and a clean journal.
fn assert_no_leftovers(fs: &Tmpfs, port: u16, journal: &Path, what: &str) {
    let within = Duration::from_secs(2);
    assert!(eventually(within, || fs.is_empty()), "{what}: ballast left in {}", fs.0.path().display());
    let port_free = || std::net::TcpListener::bind(("127.0.0.1", port)).is_ok();
    assert!(eventually(within, port_free), "{what}: port {port} still held");
    let needle = journal.to_str().unwrap();
    assert!(eventually(within, || procs_mentioning(needle).is_empty()), "{what}: watchdog still running");
    assert!(!Journal::open(journal).unwrap().dirty(), "{what}: journal still dirty");
}

#[test]
fn sigkill_while_held_is_rolled_back_by_the_watchdog_within_2s() {
    let Some(fs) = Tmpfs::mount("4m") else { return };
    let dir = tempfile::tempdir().unwrap();
    let (journal, port) = (dir.path().join("journal.jsonl"), free_port());
    let mut run = Run::start(&journal, fs.0.path(), port);
    run.wait_held();
    assert!(!fs.is_empty() && std::net::TcpListener::bind(("127.0.0.1", port)).is_err(), "faults are held");
    run.signal(Signal::SIGKILL);
    assert_no_leftovers(&fs, port, &journal, "SIGKILL");
}

#[test]
fn interrupted_at_random_moments_leaves_nothing() {
    let Some(fs) = Tmpfs::mount("4m") else { return };
    let dir = tempfile::tempdir().unwrap();
    for (trial, sig) in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGKILL].into_iter().cycle().take(6).enumerate() {
        let (journal, port) = (dir.path().join(format!("journal-{trial}.jsonl")), free_port());
        let mut run = Run::start(&journal, fs.0.path(), port);
        // From "not started yet" through "injecting" to "held".
        std::thread::sleep(Duration::from_millis(rand::random_range(0..400)));
        run.signal(sig);
        assert_no_leftovers(&fs, port, &journal, &format!("trial {trial} ({sig})"));
    }
}
