//! Interruption torture (issue 4, acceptance 2; issue 13): every destructive kind is injected by a helper run that
//! is interrupted at a random moment, during the injection or while the fault is held, with SIGINT, SIGTERM,
//! SIGKILL and SIGKILL of its whole process group in turn; each trial then checks for zero leftovers: ballast, held
//! ports, stopped processes, altered scenes and secrets, knobs, holders, watchdogs, a dirty journal. Every fifth
//! trial is a real `run` against the embedded simulator on its own tmpfs ([`super::torture_run`]), which also
//! checks the run directory (temp files, the JWT secret), the mount and the simulator's processes.
//!
//! A bounded run (20 trials) is the default; `SPACETIME_DRILL_TORTURE=N` runs N trials (the acceptance count is
//! 100). The count and the results are printed.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use serde_json::json;
use spacetime_drill::fault::connection_flood::ConnectionFloodSpec;
use spacetime_drill::fault::cpu_hog::CpuHogSpec;
use spacetime_drill::fault::disk_fill::DiskFillSpec;
use spacetime_drill::fault::exec::ExecSpec;
use spacetime_drill::fault::frame_work::FrameWorkSpec;
use spacetime_drill::fault::key_rotation::KeyRotationSpec;
use spacetime_drill::fault::kill_process::{KillProcessSpec, KillSignal};
use spacetime_drill::fault::memory_leak::MemoryLeakSpec;
use spacetime_drill::fault::port_conflict::PortConflictSpec;
use spacetime_drill::fault::procfs;
use spacetime_drill::fault::restore::sha256_file;
use spacetime_drill::fault::scene::SceneAction;
use spacetime_drill::fault::{FaultSpec, port_conflict::PortMode};
use spacetime_sim::launch::SimProcess;

use super::interrupt::{HELD, INJECTING, Plan, Run, assert_run_left_nothing};
use super::sim_kinds::{scene_spec, tree_hashes};
use super::torture_run::{self, Ending};
use super::{Tmpfs, eventually, free_port};
use crate::support::{get, sim_with};

const KINDS: [&str; 10] = [
    "disk_fill",
    "port_conflict",
    "kill_process",
    "scene",
    "key_rotation",
    "cpu_hog",
    "connection_flood",
    "memory_leak",
    "frame_work",
    "exec",
];

/// A `sleep` under a unique name, in its own process group (killed on drop): what `kill_process STOP` freezes.
struct Sleeper {
    child: Child,
    name: String,
    _dir: tempfile::TempDir,
}

impl Sleeper {
    fn start() -> Sleeper {
        let dir = tempfile::tempdir().unwrap();
        let name = format!("sdtort{}", rand::random::<u32>() % 1_000_000);
        std::fs::copy("/bin/sleep", dir.path().join(&name)).unwrap();
        let child = Command::new(dir.path().join(&name)).arg("600").process_group(0).spawn().unwrap();
        assert!(eventually(Duration::from_secs(5), || procfs::comm(child.id()).as_deref() == Some(name.as_str())));
        Sleeper { child, name, _dir: dir }
    }
}

impl Drop for Sleeper {
    fn drop(&mut self) {
        let _ = killpg(Pid::from_raw(self.child.id() as i32), Signal::SIGKILL);
        let _ = self.child.wait();
    }
}

/// Finds what a trial left behind; `None` when nothing is.
type Leftover<'a> = Box<dyn Fn() -> Option<String> + 'a>;

/// What every trial acts on: one simulator (with a secret file), a tmpfs, a process to freeze, a marker dir.
struct Fixtures {
    sim: SimProcess,
    secret: PathBuf,
    fs: Option<Tmpfs>,
    sleeper: Sleeper,
    scratch: tempfile::TempDir,
}

impl Fixtures {
    fn new() -> Fixtures {
        let scratch = tempfile::tempdir().unwrap();
        let secret = scratch.path().join("jwt.secret");
        std::fs::write(&secret, "torture-secret\n").unwrap();
        let sim = sim_with(&["--jwt-secret-file", secret.to_str().unwrap()]);
        Fixtures { sim, secret, fs: Tmpfs::mount("4m"), sleeper: Sleeper::start(), scratch }
    }

    fn marker(&self) -> PathBuf {
        self.scratch.path().join("exec-marker")
    }

    /// The fault of `kind` for trial `n`, the ports it may hold, and a check that finds its leftovers.
    fn fault(&self, kind: &str, n: usize) -> (FaultSpec, Vec<u16>, Leftover<'_>) {
        let none = || None;
        match kind {
            "disk_fill" => {
                let fs = self.fs.as_ref().unwrap();
                let spec = DiskFillSpec { path: Some(fs.0.path().into()), percent: Some(60.0), free_bytes: None };
                (FaultSpec::DiskFill(spec), vec![], Box::new(move || (!fs.is_empty()).then(|| "ballast".into())))
            }
            "port_conflict" => {
                let port = free_port();
                let spec = PortConflictSpec { port: Some(port), mode: PortMode::Listen, ..Default::default() };
                let check = move || std::net::TcpListener::bind(("127.0.0.1", port)).err().map(|e| e.to_string());
                (FaultSpec::PortConflict(spec), vec![port], Box::new(check))
            }
            "kill_process" => {
                let pid = self.sleeper.child.id();
                let spec = KillProcessSpec {
                    name: Some(self.sleeper.name.clone()),
                    signal: KillSignal::Stop,
                    ..Default::default()
                };
                let check = move || (procfs::state(pid) == Some('T')).then(|| "still stopped".into());
                (FaultSpec::KillProcess(spec), vec![], Box::new(check))
            }
            "scene" => {
                let action = [SceneAction::Rename, SceneAction::Garbage, SceneAction::RemoveDependency][n % 3];
                let dep = (action == SceneAction::RemoveDependency).then_some("res://scripts/vr_setup.gd");
                let (dir, before) = (self.sim.project_dir.clone(), tree_hashes(&self.sim.project_dir));
                let check = move || (tree_hashes(&dir) != before).then(|| format!("project changed ({action:?})"));
                (scene_spec(action, dep), vec![], Box::new(check))
            }
            "key_rotation" => {
                let (file, before) = (self.secret.clone(), sha256_file(&self.secret).unwrap());
                let spec = KeyRotationSpec { secret_file: None };
                let check = move || {
                    let backups = std::fs::read_dir(file.parent().unwrap())
                        .unwrap()
                        .any(|e| e.unwrap().file_name().to_string_lossy().contains("spacetime-drill"));
                    (sha256_file(&file).unwrap() != before || backups).then(|| "secret changed or backup left".into())
                };
                (FaultSpec::KeyRotation(spec), vec![], Box::new(check))
            }
            "cpu_hog" => (FaultSpec::CpuHog(CpuHogSpec { threads: 1 }), vec![], Box::new(none)),
            "connection_flood" => {
                (FaultSpec::ConnectionFlood(ConnectionFloodSpec { connections: 20 }), vec![], Box::new(none))
            }
            "memory_leak" | "frame_work" => {
                let (spec, knob) = match kind {
                    "memory_leak" => {
                        (FaultSpec::MemoryLeak(MemoryLeakSpec { bytes_per_request: 4096 }), "leak_bytes_per_request")
                    }
                    _ => (FaultSpec::FrameWork(FrameWorkSpec { ms: 5.0 }), "frame_work_ms"),
                };
                let port = self.sim.ports.http;
                let check = move || {
                    let v = get(port, "/__sim/knobs").body[knob].clone();
                    (v != json!(0) && v != json!(0.0)).then(|| format!("{knob} = {v}"))
                };
                (spec, vec![], Box::new(check))
            }
            _ => {
                let m = self.marker();
                let spec =
                    ExecSpec { inject: format!("touch {}", m.display()), rollback: format!("rm -f {}", m.display()) };
                (FaultSpec::Exec(spec), vec![], Box::new(move || m.exists().then(|| "marker left".into())))
            }
        }
    }

    fn plan(&self, journal: &Path, spec: FaultSpec, ports: Vec<u16>) -> Plan {
        let s = &self.sim;
        Plan {
            journal: journal.to_owned(),
            faults: vec![("f".into(), spec)],
            paths: self.fs.iter().map(|f| f.0.path().to_owned()).collect(),
            ports,
            processes: vec![self.sleeper.name.clone()],
            http_port: s.ports.http,
            sim: Some((s.ports, s.data_dir.clone(), s.project_dir.clone(), Some(self.secret.clone()))),
        }
    }
}

#[test]
fn every_destructive_kind_interrupted_at_random_moments_leaves_nothing() {
    let trials: usize = std::env::var("SPACETIME_DRILL_TORTURE").ok().and_then(|v| v.parse().ok()).unwrap_or(20);
    let fx = Fixtures::new();
    let kinds: Vec<&str> = KINDS.into_iter().filter(|k| *k != "disk_fill" || fx.fs.is_some()).collect();
    let endings = [
        Ending::Signal(Signal::SIGINT),
        Ending::Signal(Signal::SIGTERM),
        Ending::Signal(Signal::SIGKILL),
        Ending::GroupKill,
    ];
    let real_runs = nix::unistd::geteuid().is_root();
    let started = Instant::now();
    let (mut held, mut real, mut leftovers) = (0, 0, Vec::new());
    let mut per: std::collections::BTreeMap<(String, String), usize> = Default::default();
    for n in 0..trials {
        let ending = endings[n % endings.len()];
        if real_runs && n % 5 == 4 {
            let dir = tempfile::tempdir().unwrap();
            if let Err(left) = torture_run::trial(dir.path(), ending) {
                leftovers.push(format!("trial {n} (real run, {ending:?}): {left}"));
            }
            real += 1;
            *per.entry(("run".into(), format!("{ending:?}"))).or_default() += 1;
            continue;
        }
        let kind = kinds[n % kinds.len()];
        let journal = fx.scratch.path().join(format!("journal-{n}.jsonl"));
        let (spec, ports, leftover) = fx.fault(kind, n / kinds.len());
        let mut run = Run::start(&fx.plan(&journal, spec, ports));
        // Even trials aim at the injection (a few ms after it begins), odd ones at the held fault.
        let (aim, within_us) = if n % 2 == 0 { (INJECTING, 3_000) } else { (HELD, 150_000) };
        assert!(run.wait_stage(aim), "trial {n}: the helper never reached stage {aim}");
        std::thread::sleep(Duration::from_micros(rand::random_range(0..within_us)));
        let stage = run.stage();
        match ending {
            Ending::Signal(sig) => run.signal(sig),
            Ending::GroupKill => run.kill_group(),
        }
        let what = format!("trial {n} ({kind}, {ending:?}, {})", if stage == HELD { "held" } else { "injecting" });
        assert_run_left_nothing(&run, &journal, &what);
        if !eventually(Duration::from_secs(2), || leftover().is_none()) {
            leftovers.push(format!("{what}: {}", leftover().unwrap_or_default()));
        }
        held += usize::from(stage == HELD);
        *per.entry((kind.to_owned(), format!("{ending:?}"))).or_default() += 1;
    }
    eprintln!(
        "interruption torture: {trials} trials ({real} real runs, {held} helpers while held, {} during injection) \
         in {:.1} s, {} leftovers; per kind and ending: {per:?}",
        trials - held - real,
        started.elapsed().as_secs_f64(),
        leftovers.len()
    );
    assert!(leftovers.is_empty(), "leftovers: {leftovers:#?}");
}
