//! Measurements of a target on this host, read from the kernel: resident memory, which process owns a listening
//! port, and disk usage. Nothing here asks the target; a hung or lying service is measured all the same.

use std::fs;
use std::io;
use std::path::Path;

/// Resident set size of `pid` in MiB (`VmRSS` of `/proc/<pid>/status`), what `top`'s RES column shows.
pub fn resident_mb(pid: u32) -> io::Result<f64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        // A zombie or kernel thread has no VmRSS line: for a probe that is as good as gone.
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, format!("process {pid} has no resident memory")))?;
    Ok(kb / 1024.0)
}

/// Percent of `path`'s filesystem in use, as `df` computes it: used / (used + available to unprivileged users), so
/// the root reserve counts as neither and 100 % means ordinary writes fail.
pub fn disk_used_pct(path: &Path) -> nix::Result<f64> {
    let st = nix::sys::statvfs::statvfs(path)?;
    let used = st.blocks().saturating_sub(st.blocks_free()) as f64;
    let avail = st.blocks_available() as f64;
    Ok(if used + avail == 0.0 { 0.0 } else { 100.0 * used / (used + avail) })
}

/// The PID of a process with a TCP socket listening on `port` (IPv4 or IPv6), if this user may see it.
///
/// `/proc/net/tcp{,6}` gives the listening sockets' inodes; the owner is whichever process has an fd linking to
/// `socket:[inode]`. Processes we may not inspect are skipped, so for another user's service this finds nothing
/// rather than failing (configure `[probe] pid` then).
pub fn pid_listening_on(port: u16) -> io::Result<Option<u32>> {
    let mut inodes = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        match fs::read_to_string(table) {
            Ok(text) => inodes.extend(listening_inodes(&text, port)),
            // A kernel without IPv6 has no tcp6 table.
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    if inodes.is_empty() {
        return Ok(None);
    }
    let targets: Vec<String> = inodes.iter().map(|i| format!("socket:[{i}]")).collect();
    for entry in fs::read_dir("/proc")?.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
        // Permission denied or the process exited while we looked: neither is ours to worry about.
        let Ok(fds) = fs::read_dir(entry.path().join("fd")) else { continue };
        for fd in fds.flatten() {
            let Ok(link) = fs::read_link(fd.path()) else { continue };
            if targets.iter().any(|t| link.as_os_str() == t.as_str()) {
                return Ok(Some(pid));
            }
        }
    }
    Ok(None)
}

/// Inodes of sockets in state LISTEN (`0A`) on `port` in one `/proc/net/tcp` table.
fn listening_inodes(table: &str, port: u16) -> Vec<u64> {
    const LISTEN: &str = "0A";
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let (local, state, inode) = (f.get(1)?, f.get(3)?, f.get(9)?);
            let p = u16::from_str_radix(local.rsplit_once(':')?.1, 16).ok()?;
            let inode = inode.parse::<u64>().ok()?;
            (p == port && *state == LISTEN && inode != 0).then_some(inode)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_listen_entries() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 4242 1 0 100 0 0 10 0
   1: 0100007F:1F90 0100007F:C350 01 00000000:00000000 00:00000000 00000000  1000        0 4343 1 0 20 4 30 10 -1
   2: 00000000:1F91 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 4444 1 0 100 0 0 10 0";
        assert_eq!(listening_inodes(table, 8080), vec![4242]);
        assert_eq!(listening_inodes(table, 8081), vec![4444]);
        assert!(listening_inodes(table, 9).is_empty());
    }
}
