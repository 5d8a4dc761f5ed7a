//! A run interrupted while it injects or holds faults leaves nothing behind: SIGINT and SIGTERM roll back in the run
//! (as the orchestrator's signal handler does), SIGKILL through the watchdog within 2 s.
//!
//! The "run" is this test binary re-executed as `helper` (an ignored test that acts only when told to by the
//! environment): it opens the journal, starts the watchdog, injects the faults its [`Plan`] names, says `HELD`,
//! then waits to be killed. It runs in its own process group, so every holder it started is found by group.

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};
use spacetime_drill::fault::disk_fill::DiskFillSpec;
use spacetime_drill::fault::port_conflict::{PortConflictSpec, PortMode};
use spacetime_drill::fault::watchdog::Watchdog;
use spacetime_drill::fault::{Allow, FaultSpec, Journal, SimResources};
use spacetime_sim::launch::Ports;

use super::{EXE, Tmpfs, ctx, eventually, free_port};

const HELPER_ENV: &str = "SPACETIME_DRILL_TEST_HELPER";

/// What the helper run injects, and the context it injects it in (JSON in the environment).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Plan {
    pub journal: PathBuf,
    pub faults: Vec<(String, FaultSpec)>,
    pub paths: Vec<PathBuf>,
    pub ports: Vec<u16>,
    pub processes: Vec<String>,
    /// The target's HTTP port (`connection_flood`).
    pub http_port: u16,
    /// A simulator started by the test: ports, data dir, project dir, secret file.
    pub sim: Option<(Ports, PathBuf, PathBuf, Option<PathBuf>)>,
}

/// The helper "run".
#[test]
#[ignore = "run by the interruption tests as a child process"]
fn helper() {
    let Ok(plan) = std::env::var(HELPER_ENV) else { return };
    let plan: Plan = serde_json::from_str(&plan).unwrap();
    let watchdog = Watchdog::spawn(Path::new(EXE), &plan.journal).unwrap();
    let allow = Allow { paths: plan.paths, ports: plan.ports, processes: plan.processes, pids: vec![], units: vec![] };
    let mut c = ctx(allow);
    c.target.http_port = plan.http_port;
    c.sim = plan.sim.map(|(ports, data, project, secret)| SimResources::new(&ports, data, project, secret));
    let names: Vec<String> = plan.faults.iter().map(|f| f.0.clone()).collect();
    let planned = plan.faults.into_iter().map(|(name, spec)| spacetime_drill::fault::runner::Planned {
        name,
        fault: spec.build(),
        ttl: Duration::from_secs(600),
    });
    let journal = spacetime_drill::fault::ensure_clean(&plan.journal).unwrap();
    let inj = spacetime_drill::fault::Injector::new(journal, c, planned.collect(), false);
    let on_signal = inj.clone();
    // The watchdog stays armed: a signal landing just before an injection takes the lock lets that injection
    // start after this rollback, and the exit below then cuts it short; the watchdog replays what it journaled
    // (torture trial "kill_process, SIGINT, injecting" found this). With nothing left, its replay is a no-op.
    let _armed = watchdog;
    ctrlc::set_handler(move || {
        for e in on_signal.rollback_all() {
            eprintln!("{e}");
        }
        std::process::exit(130);
    })
    .unwrap();
    inj.preflight_all().unwrap();
    println!("INJECTING");
    for name in &names {
        inj.inject(name).unwrap();
    }
    println!("HELD");
    std::thread::sleep(Duration::from_secs(60));
}

/// The helper process, in its own process group; the group is killed on drop. A thread follows its stdout
/// (`INJECTING`, `HELD`), so a trial can aim at a stage and knows which one it interrupted.
pub struct Run {
    child: Child,
    stage: Arc<AtomicU8>,
}

/// The helper's stage: starting, injecting, holding.
pub const STARTING: u8 = 0;
pub const INJECTING: u8 = 1;
pub const HELD: u8 = 2;

impl Run {
    pub fn start(plan: &Plan) -> Run {
        let me = std::env::current_exe().unwrap();
        let mut child = Command::new(me)
            .args(["--exact", "faults::interrupt::helper", "--ignored", "--nocapture", "--test-threads=1"])
            .env(HELPER_ENV, serde_json::to_string(plan).unwrap())
            .stdout(Stdio::piped())
            .process_group(0)
            .spawn()
            .unwrap();
        let (out, stage) = (BufReader::new(child.stdout.take().unwrap()), Arc::new(AtomicU8::new(STARTING)));
        let seen = stage.clone();
        std::thread::spawn(move || {
            for line in out.lines().map_while(Result::ok) {
                // libtest may print its "test ... " prefix on the same line.
                if line.ends_with("INJECTING") {
                    seen.store(INJECTING, Ordering::SeqCst);
                } else if line.ends_with("HELD") {
                    seen.store(HELD, Ordering::SeqCst);
                }
            }
        });
        Run { child, stage }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn stage(&self) -> u8 {
        self.stage.load(Ordering::SeqCst)
    }

    /// Wait until the helper reached `stage` (false after 30 s); polls every 100 µs, so a trial can still land
    /// inside an injection that takes milliseconds.
    pub fn wait_stage(&self, stage: u8) -> bool {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while self.stage() < stage {
            if std::time::Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_micros(100));
        }
        true
    }

    pub fn signal(&mut self, sig: Signal) {
        kill(Pid::from_raw(self.child.id() as i32), sig).unwrap();
        let ended = eventually(Duration::from_secs(10), || self.child.try_wait().unwrap().is_some());
        assert!(ended, "the run did not end");
    }

    /// SIGKILL to the run's whole process group at once, as a CI runner ending a job does: the run and every
    /// holder in its group die together, and only the watchdog (in its own session) is left to clean up.
    pub fn kill_group(&mut self) {
        killpg(Pid::from_raw(self.child.id() as i32), Signal::SIGKILL).unwrap();
        let ended = eventually(Duration::from_secs(10), || self.child.try_wait().unwrap().is_some());
        assert!(ended, "the run did not end");
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        let _ = killpg(Pid::from_raw(self.child.id() as i32), Signal::SIGKILL);
        let _ = self.child.wait();
    }
}

fn live_pids() -> impl Iterator<Item = u32> {
    let pids = std::fs::read_dir("/proc").unwrap().filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok());
    pids.filter(|p| spacetime_drill::fault::procfs::state(*p).is_some_and(|s| s != 'Z'))
}

/// Live PIDs whose command line mentions `needle` (a watchdog for our journal).
pub fn procs_mentioning(needle: &str) -> Vec<u32> {
    live_pids()
        .filter(|p| {
            std::fs::read(format!("/proc/{p}/cmdline")).is_ok_and(|c| String::from_utf8_lossy(&c).contains(needle))
        })
        .collect()
}

/// Live PIDs in process group `pgid` (the helper's holders).
pub fn procs_in_group(pgid: u32) -> Vec<u32> {
    let group = |p: u32| {
        let stat = std::fs::read_to_string(format!("/proc/{p}/stat")).ok()?;
        stat[stat.rfind(')')? + 2..].split_whitespace().nth(2)?.parse::<u32>().ok()
    };
    live_pids().filter(|p| group(*p) == Some(pgid)).collect()
}

/// The leftovers every trial checks: no holder of the run, no watchdog, a clean journal. Kind-specific checks are
/// the caller's. Waits up to 2 s (the watchdog's promise after SIGKILL).
pub fn assert_run_left_nothing(run: &Run, journal: &Path, what: &str) {
    let within = Duration::from_secs(2);
    assert!(eventually(within, || procs_in_group(run.pid()).is_empty()), "{what}: a holder is still running");
    let needle = journal.to_str().unwrap();
    assert!(eventually(within, || procs_mentioning(needle).is_empty()), "{what}: watchdog still running");
    let dirty = || Journal::open(journal).is_ok_and(|j| j.dirty());
    let text = || std::fs::read_to_string(journal).unwrap_or_default();
    assert!(!dirty(), "{what}: journal still dirty:\n{}", text());
}

#[test]
fn sigkill_while_held_is_rolled_back_by_the_watchdog_within_2s() {
    let Some(fs) = Tmpfs::mount("4m") else { return };
    let dir = tempfile::tempdir().unwrap();
    let (journal, port) = (dir.path().join("journal.jsonl"), free_port());
    let fill = DiskFillSpec { path: Some(fs.0.path().into()), percent: Some(60.0), free_bytes: None };
    let squat = PortConflictSpec { port: Some(port), mode: PortMode::Listen, ..Default::default() };
    let plan = Plan {
        journal: journal.clone(),
        faults: vec![("fill".into(), FaultSpec::DiskFill(fill)), ("squat".into(), FaultSpec::PortConflict(squat))],
        paths: vec![fs.0.path().into()],
        ports: vec![port],
        processes: vec![],
        http_port: 1,
        sim: None,
    };
    let mut run = Run::start(&plan);
    assert!(run.wait_stage(HELD), "the helper never held its faults");
    assert!(!fs.is_empty() && std::net::TcpListener::bind(("127.0.0.1", port)).is_err(), "faults are held");
    run.signal(Signal::SIGKILL);
    assert_run_left_nothing(&run, &journal, "SIGKILL");
    assert!(eventually(Duration::from_secs(2), || fs.is_empty()), "ballast left");
    assert!(std::net::TcpListener::bind(("127.0.0.1", port)).is_ok(), "port still held");
}
