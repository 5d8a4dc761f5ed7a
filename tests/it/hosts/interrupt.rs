//! Interrupted mid-fault: the harness killed with SIGKILL, only its ssh client killed, or the network cut (the ssh
//! client frozen, so the session stays open and silent). The agent on the host rolls back within its lease, leaves
//! nothing, exits, and the next run on that host starts clean. The torture test repeats it
//! `SPACETIME_DRILL_HOST_TORTURE` times (default 3).

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use super::preflight::run_on;
use super::sshd::Sshd;
use super::{EXE, agents, free_port, journal_clean, listening, within};

/// The host's lease in these tests.
const LEASE: Duration = Duration::from_secs(2);

#[derive(Debug, Clone, Copy)]
enum Cut {
    KillHarness,
    KillSsh,
    FreezeSsh,
}

/// The ssh client the harness started.
fn ssh_child(harness: u32) -> Option<u32> {
    std::fs::read_dir("/proc").unwrap().flatten().find_map(|e| {
        let pid: u32 = e.file_name().to_string_lossy().parse().ok()?;
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let (comm, rest) = stat.split_once(" (")?.1.rsplit_once(") ")?;
        let ppid: u32 = rest.split(' ').nth(1)?.parse().ok()?;
        (comm == "ssh" && ppid == harness).then_some(pid)
    })
}

/// One interrupted run holding a port on the host; returns how long after the cut the host was clean (port free, no
/// agent left), and checks the harness's journal ends clean too.
fn interrupted(sshd: &Sshd, dir: &std::path::Path, cut: Cut) -> Duration {
    let (port, host_journal, journal) = (free_port(), dir.join("host.jsonl"), dir.join("harness.jsonl"));
    let allow = format!("lease = \"{}s\"\n[host.allow]\nports = [{port}]", LEASE.as_secs());
    let scenario = format!(
        "[load]\nrate = 5\n[[phase]]\nname = \"p\"\nduration = \"4s\"\nfaults = [\"hold\"]\n[[fault]]\n\
         name = \"hold\"\nhost = \"h\"\n[fault.port_conflict]\nport = {port}\n{}",
        sshd.host_entry("h", &host_journal, &allow)
    );
    let path = dir.join("s.toml");
    std::fs::write(&path, scenario).unwrap();
    let mut harness: Child = Command::new(EXE)
        .args(["run", "--quiet", "--out"])
        .arg(dir.join("out"))
        .arg(&path)
        .env("SPACETIME_DRILL_JOURNAL", &journal)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    within(Duration::from_secs(20), || listening(port)).expect("the host holds the port");
    let ssh = ssh_child(harness.id()).expect("the harness's ssh client");
    let (victim, signal) = match cut {
        Cut::KillHarness => (harness.id(), Signal::SIGKILL),
        Cut::KillSsh => (ssh, Signal::SIGKILL),
        Cut::FreezeSsh => (ssh, Signal::SIGSTOP),
    };
    kill(Pid::from_raw(victim as i32), signal).unwrap();
    let clean = || !listening(port) && agents(&host_journal).is_empty() && journal_clean(&host_journal);
    let took = within(LEASE + Duration::from_secs(3), clean);
    let _ = kill(Pid::from_raw(ssh as i32), Signal::SIGKILL);
    let took = took.unwrap_or_else(|| panic!("{cut:?}: the host is not clean within the lease + 3 s"));
    let _ = harness.wait();
    let harness_clean = within(Duration::from_secs(20), || journal_clean(&journal));
    assert!(harness_clean.is_some(), "{cut:?}: the harness's journal ends clean (its watchdog or its own rollback)");
    assert!(!listening(port) && agents(&host_journal).is_empty(), "{cut:?}: still clean");
    took
}

#[test]
fn a_cut_mid_fault_is_rolled_back_on_the_host_within_the_lease() {
    let sshd = Sshd::start();
    for cut in [Cut::KillHarness, Cut::KillSsh, Cut::FreezeSsh] {
        let dir = tempfile::tempdir().unwrap();
        let took = interrupted(&sshd, dir.path(), cut);
        eprintln!("{cut:?}: host clean {took:?} after the cut (lease {LEASE:?})");
        if let Cut::FreezeSsh = cut {
            assert!(took >= LEASE - Duration::from_millis(300), "a silent session waits for the lease: {took:?}");
        }
        let port = free_port();
        let allow = format!("[host.allow]\nports = [{port}]");
        let (code, err, _) = run_on(&sshd, &sshd.host_entry("h", &dir.path().join("host.jsonl"), &allow), port);
        assert_eq!(code, Some(0), "{cut:?}: the next run on the host starts clean: {err}");
    }
}

#[test]
fn torture_interruptions_leave_nothing_behind() {
    let n: usize = std::env::var("SPACETIME_DRILL_HOST_TORTURE").ok().and_then(|v| v.parse().ok()).unwrap_or(3);
    let sshd = Sshd::start();
    let dir = tempfile::tempdir().unwrap();
    let mut worst = Duration::ZERO;
    for i in 0..n {
        let cut = [Cut::KillHarness, Cut::KillSsh, Cut::FreezeSsh][i % 3];
        worst = worst.max(interrupted(&sshd, dir.path(), cut));
    }
    eprintln!("{n} interruptions, 0 leftovers; slowest host cleanup {worst:?}");
}

#[test]
fn recover_host_replays_that_hosts_journal_over_ssh_with_an_installed_or_uploaded_binary() {
    let sshd = Sshd::start();
    for upload in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        // A ballast file by the tool's own name, inside the fault's journaled scope: what the journal's replay
        // accepts.
        let (host_journal, ballast) = (dir.path().join("host.jsonl"), dir.path().join(".spacetime-drill-ballast.1"));
        let scope =
            spacetime_drill::fault::undo::Scope { paths: vec![dir.path().canonicalize().unwrap()], ports: vec![] };
        {
            // What an agent killed with its watchdog (a host crash) leaves: an intent whose change was made.
            let mut journal = spacetime_drill::fault::Journal::open(&host_journal).unwrap();
            let undo = spacetime_drill::fault::Undo::DeleteFile { path: ballast.clone() };
            journal.intend("fill", &undo, &scope).unwrap();
            std::fs::write(&ballast, b"x").unwrap();
        }
        let mut host = sshd.host_entry("h", &host_journal, if upload { "upload = true" } else { "" });
        if upload {
            host = host.replace(&format!("spacetime_drill = \"{EXE}\"\n"), "");
        }
        let scenario = dir.path().join("s.toml");
        std::fs::write(&scenario, format!("[[phase]]\nname = \"p\"\nduration = \"1s\"\n{host}")).unwrap();
        let before = super::preflight::uploads();
        let o = Command::new(EXE).args(["recover", "--host", "h", "--scenario"]).arg(&scenario).output().unwrap();
        assert!(o.status.success(), "upload {upload}: {}", String::from_utf8_lossy(&o.stderr));
        assert!(String::from_utf8_lossy(&o.stdout).contains("replayed 1 change(s), 0 failed"), "upload {upload}");
        assert!(!ballast.exists() && journal_clean(&host_journal), "upload {upload}");
        assert_eq!(super::preflight::uploads(), before, "upload {upload}: no copy is left on the host");
    }
}
