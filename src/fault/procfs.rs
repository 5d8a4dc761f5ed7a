//! Finding processes through `/proc`: by listening port, by exact name, and telling a process from a later one that
//! reused its PID (the start time), so an undo never signals a stranger.

use std::collections::HashSet;
use std::fs;

/// The process's start time in clock ticks since boot (field 22 of `/proc/PID/stat`); `None` when it is gone.
pub fn start_time(pid: u32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The name (field 2) may contain spaces and parentheses; fields after the last ')' are plain.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// The process's state letter (field 3 of `/proc/PID/stat`: `R`, `S`, `T` stopped, `Z` zombie, ...).
pub fn state(pid: u32) -> Option<char> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat[stat.rfind(')')? + 1..].trim_start().chars().next()
}

/// The process's name as the kernel keeps it (`/proc/PID/comm`, at most 15 bytes).
pub fn comm(pid: u32) -> Option<String> {
    fs::read_to_string(format!("/proc/{pid}/comm")).ok().map(|s| s.trim_end_matches('\n').to_owned())
}

fn all_pids() -> Vec<u32> {
    fs::read_dir("/proc")
        .map(|d| d.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok()).collect())
        .unwrap_or_default()
}

/// Every process whose name is exactly `name`.
pub fn pids_named(name: &str) -> Vec<u32> {
    all_pids().into_iter().filter(|&pid| comm(pid).as_deref() == Some(name)).collect()
}

/// Socket inodes of TCP listeners (state 0A) on `port`, IPv4 and IPv6.
fn listening_inodes(port: u16) -> HashSet<u64> {
    let mut inodes = HashSet::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = fs::read_to_string(table) else { continue };
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            let (Some(local), Some(state), Some(inode)) = (f.get(1), f.get(3), f.get(9)) else { continue };
            let local_port = local.rsplit(':').next().and_then(|p| u16::from_str_radix(p, 16).ok());
            if *state == "0A" && local_port == Some(port) {
                inodes.extend(inode.parse::<u64>().ok().filter(|&i| i != 0));
            }
        }
    }
    inodes
}

/// The processes holding a TCP listener on `port` (several when it forked after binding).
pub fn pids_listening_on(port: u16) -> Vec<u32> {
    let inodes = listening_inodes(port);
    if inodes.is_empty() {
        return Vec::new();
    }
    let wanted: HashSet<String> = inodes.iter().map(|i| format!("socket:[{i}]")).collect();
    all_pids()
        .into_iter()
        .filter(|pid| {
            fs::read_dir(format!("/proc/{pid}/fd")).is_ok_and(|fds| {
                fds.filter_map(Result::ok)
                    .any(|fd| fs::read_link(fd.path()).is_ok_and(|l| l.to_str().is_some_and(|l| wanted.contains(l))))
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_own_listener_and_name() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let me = std::process::id();
        assert_eq!(pids_listening_on(port), vec![me]);
        drop(l);
        assert!(pids_listening_on(port).is_empty());
        let name = comm(me).unwrap();
        assert!(pids_named(&name).contains(&me));
        assert!(start_time(me).is_some());
        assert_eq!(start_time(u32::MAX), None);
    }
}
