//! The interruption torture's real-run trials (issue 13): the whole `spacetime-drill run` against the embedded
//! simulator on a tmpfs of its own, killed while a `disk_fill` ballast and a `port_conflict` port are held. Besides
//! the helper trials' checks, these see what only a real run makes: its run directory in the temp dir (the JWT
//! secret, the simulator's scratch), the tmpfs in /proc/mounts, the simulator's processes, and the held port, which
//! must be bindable again with no holder of it left.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;
use spacetime_drill::fault::Journal;
use spacetime_drill::target::run_dir::{PREFIX, mounts_under};

use super::interrupt::{procs_in_group, procs_mentioning};
use super::{EXE, eventually, free_port};

/// How a trial ends the run.
#[derive(Debug, Clone, Copy)]
pub enum Ending {
    Signal(Signal),
    /// SIGKILL to the run's whole process group.
    GroupKill,
}

fn scenario_text(port: u16) -> String {
    format!(
        "[sim]\nauth = true\ndata_fs_mib = 8\n[allow]\nports = [{port}]\n[load]\nrate = 20\n\
         [[phase]]\nname = \"held\"\nduration = \"60s\"\nfaults = [\"fill\", \"hold\"]\n\
         [[fault]]\nname = \"fill\"\n[fault.disk_fill]\npercent = 60\n\
         [[fault]]\nname = \"hold\"\n[fault.port_conflict]\nport = {port}\n"
    )
}

fn port_free(port: u16) -> bool {
    std::net::TcpListener::bind(("127.0.0.1", port)).is_ok()
}

/// Holders of `port` (a holder's command line carries its spec, `{"hold":"port","port":N,...}`).
fn holders_of(port: u16) -> Vec<u32> {
    procs_mentioning(&format!("\"port\":{port},"))
}

/// The run's directories in the temp dir (by the PID in their name).
fn run_dirs(pid: u32) -> Vec<PathBuf> {
    let prefix = format!("{PREFIX}{pid}-");
    std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .filter_map(|e| Some(e.ok()?.path()))
        .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with(&prefix)))
        .collect()
}

fn ballast_held(pid: u32) -> bool {
    run_dirs(pid).iter().any(|d| {
        std::fs::read_dir(d.join("datafs"))
            .is_ok_and(|mut es| es.any(|e| e.is_ok_and(|e| e.file_name().to_string_lossy().contains("ballast"))))
    })
}

/// Run the scenario, end it with `ending` once the ballast and the port are held, and say what it left behind.
pub fn trial(dir: &Path, ending: Ending) -> Result<(), String> {
    let scenario = dir.join("torture.toml");
    let port = free_port();
    std::fs::write(&scenario, scenario_text(port)).unwrap();
    let journal = dir.join("journal.jsonl");
    let mut child: Child = Command::new(EXE)
        .args(["run", scenario.to_str().unwrap(), "--quiet", "--journal", journal.to_str().unwrap(), "--out"])
        .arg(dir.join("out"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .unwrap();
    let pid = child.id();
    let group = Pid::from_raw(pid as i32);
    if !eventually(Duration::from_secs(30), || ballast_held(pid) && !port_free(port)) {
        let _ = killpg(group, Signal::SIGKILL);
        let _ = child.wait();
        return Err("the run never held its ballast and its port".into());
    }
    std::thread::sleep(Duration::from_millis(rand::random_range(0..300)));
    match ending {
        Ending::Signal(sig) => kill(group, sig).unwrap(),
        Ending::GroupKill => killpg(group, Signal::SIGKILL).unwrap(),
    }
    if !eventually(Duration::from_secs(20), || child.try_wait().unwrap().is_some()) {
        let _ = killpg(group, Signal::SIGKILL);
        let _ = child.wait();
        return Err("the run did not end".into());
    }
    let within = Duration::from_secs(3);
    let mut left = Vec::new();
    if !eventually(within, || run_dirs(pid).is_empty()) {
        left.push(format!("run directory {:?}", run_dirs(pid)));
    }
    let tmp = std::env::temp_dir().join(format!("{PREFIX}{pid}-"));
    let mounted = || {
        mounts_under(tmp.parent().unwrap())
            .into_iter()
            .filter(|m| m.to_string_lossy().contains(&*tmp.to_string_lossy()))
            .collect::<Vec<_>>()
    };
    if !eventually(within, || mounted().is_empty()) {
        left.push(format!("mounts {:?}", mounted()));
    }
    if !eventually(within, || port_free(port) && holders_of(port).is_empty()) {
        left.push(format!("port {port} held (holders {:?})", holders_of(port)));
    }
    if !eventually(within, || procs_in_group(pid).is_empty()) {
        left.push("processes of the run's group".into());
    }
    // The simulator runs in its own group, and the watchdogs in their own sessions: found by what they name.
    let run_dir_needle = format!("{PREFIX}{pid}-");
    if !eventually(within, || {
        procs_mentioning(&run_dir_needle).is_empty() && procs_mentioning(journal.to_str().unwrap()).is_empty()
    }) {
        left.push("a simulator or watchdog of the run".into());
    }
    if Journal::open(&journal).map(|j| j.dirty()).unwrap_or(true) {
        left.push("a dirty journal".into());
    }
    if left.is_empty() { Ok(()) } else { Err(left.join(", ")) }
}
