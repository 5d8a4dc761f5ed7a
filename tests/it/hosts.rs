//! Faults on `[[host]]`s over SSH: the agent alone on a pipe (`agent`), and whole runs against an OpenSSH server the
//! tests start on loopback as the "remote host" (`sshd`), with drills, interruptions and preflight refusals.

mod agent;
mod drills;
mod interrupt;
mod preflight;
mod sshd;

use std::path::Path;
use std::time::{Duration, Instant};

pub const EXE: &str = env!("CARGO_BIN_EXE_spacetime-drill");

/// A free loopback TCP port (bound, then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Whether something accepts connections on the port.
pub fn listening(port: u16) -> bool {
    std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
}

/// PIDs of `spacetime-drill agent` processes whose command line names `journal`.
pub fn agents(journal: &Path) -> Vec<u32> {
    let needle = journal.to_string_lossy().into_owned();
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        let Ok(cmd) = std::fs::read(format!("/proc/{pid}/cmdline")) else { continue };
        let args: Vec<String> = cmd.split(|b| *b == 0).map(|a| String::from_utf8_lossy(a).into_owned()).collect();
        let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let zombie = state.rsplit_once(')').is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'));
        if !zombie && args.iter().any(|a| a == "agent") && args.iter().any(|a| a.contains(&needle)) {
            pids.push(pid);
        }
    }
    pids
}

/// Poll until `f` holds; the time it took, or `None` after `limit`.
pub fn within(limit: Duration, mut f: impl FnMut() -> bool) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if f() {
            return Some(start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

/// A journal is clean when it is absent or empty.
/// Absent, or its version header alone: nothing pending.
pub fn journal_clean(path: &Path) -> bool {
    std::fs::read_to_string(path)
        .map_or(true, |t| t.lines().all(|l| l.trim().is_empty() || l == spacetime_drill::fault::journal::HEADER))
}
