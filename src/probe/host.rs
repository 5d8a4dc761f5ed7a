//! Measurements of a target on this host, read from the kernel: resident memory, CPU use, which process owns a
//! listening port, and disk usage. Nothing here asks the target; a hung or lying service is measured all the same.

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

/// What a CPU reading covers: one process, or the whole host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CpuOf {
    Process(u32),
    Host,
}

/// CPU use from the kernel's tick counters, as `top` shows it: a process in percent of one core (a process busy on
/// two cores reads 200), the whole host in percent of all its cores. Why deltas of ticks and not a figure the kernel
/// keeps: there is none; `/proc/<pid>/stat` and `/proc/stat` only count ticks since boot. Both sides of a delta come
/// from `/proc/stat`'s clock, so no `sysconf(CLK_TCK)` or wall clock enters the ratio.
#[derive(Debug)]
pub(crate) struct CpuMeter {
    of: CpuOf,
    /// Busy ticks of what is measured, and elapsed ticks of one core, at the last sample.
    last: Option<(u64, u64)>,
}

impl CpuMeter {
    pub(crate) fn new(of: CpuOf) -> CpuMeter {
        CpuMeter { of, last: None }
    }

    /// Use since the previous call, in percent; `None` on the first call (a delta needs two readings).
    pub fn sample(&mut self) -> io::Result<Option<f64>> {
        let stat = fs::read_to_string("/proc/stat")?;
        let ticks = match self.of {
            CpuOf::Host => host_ticks(&stat),
            CpuOf::Process(pid) => {
                let own = fs::read_to_string(format!("/proc/{pid}/stat"))?;
                host_ticks(&stat).zip(process_ticks(&own)).map(|((_, total), busy)| (busy, total / cores(&stat).max(1)))
            }
        };
        let (busy, elapsed) =
            ticks.ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "unreadable CPU tick counters"))?;
        let before = self.last.replace((busy, elapsed));
        Ok(before.and_then(|(b, e)| {
            let dt = elapsed.checked_sub(e).filter(|d| *d > 0)?;
            Some(100.0 * busy.saturating_sub(b) as f64 / dt as f64)
        }))
    }
}

/// One reading over `window`: what a stateless caller (`agent --probe`) measures.
pub(crate) fn cpu_pct_over(of: CpuOf, window: std::time::Duration) -> io::Result<f64> {
    let mut meter = CpuMeter::new(of);
    meter.sample()?;
    std::thread::sleep(window);
    meter.sample()?.ok_or_else(|| io::Error::other("no CPU ticks passed in the window"))
}

/// (busy, total) ticks of all cores, from `/proc/stat`'s `cpu` line; idle and iowait are not busy.
fn host_ticks(stat: &str) -> Option<(u64, u64)> {
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let ticks: Vec<u64> = line.split_whitespace().skip(1).map(|t| t.parse().ok()).collect::<Option<_>>()?;
    // user nice system idle iowait irq softirq steal [guest guest_nice, already inside user and nice]
    let total: u64 = ticks.iter().take(8).sum();
    let idle = ticks.get(3)? + ticks.get(4).unwrap_or(&0);
    Some((total - idle, total))
}

fn cores(stat: &str) -> u64 {
    stat.lines().filter(|l| l.starts_with("cpu") && l.as_bytes().get(3).is_some_and(u8::is_ascii_digit)).count() as u64
}

/// utime + stime (fields 14 and 15) of a `/proc/<pid>/stat` line.
fn process_ticks(stat: &str) -> Option<u64> {
    // The name (field 2) may hold spaces and parentheses; fields after the last ')' start at field 3.
    let mut rest = stat[stat.rfind(')')? + 1..].split_whitespace().skip(11);
    Some(rest.next()?.parse::<u64>().ok()? + rest.next()?.parse::<u64>().ok()?)
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

    #[test]
    fn parses_tick_counters() {
        let stat =
            "cpu  100 5 50 800 40 3 2 0 7 0\ncpu0 50 2 25 400 20 1 1 0 0 0\ncpu1 50 3 25 400 20 2 1 0 0 0\nintr 1";
        assert_eq!(host_ticks(stat), Some((160, 1000)));
        assert_eq!(cores(stat), 2);
        let own = "42 (a (b) c) S 1 42 42 0 -1 4194560 100 0 0 0 17 4 0 0 20 0 1 0 5000 1000 200";
        assert_eq!(process_ticks(own), Some(21));
    }

    /// A busy child reads far above a sleeping one; the host's share stays a share.
    #[test]
    fn a_spinning_process_uses_cpu_and_a_sleeping_one_does_not() {
        use std::os::unix::process::CommandExt;
        let spawn = |script: &str| std::process::Command::new("sh").args(["-c", script]).process_group(0).spawn();
        let (mut busy, mut idle) = (spawn("while :; do :; done").unwrap(), spawn("sleep 30").unwrap());
        let window = std::time::Duration::from_millis(500);
        let b = cpu_pct_over(CpuOf::Process(busy.id()), window).unwrap();
        let i = cpu_pct_over(CpuOf::Process(idle.id()), window).unwrap();
        let host = cpu_pct_over(CpuOf::Host, window).unwrap();
        for c in [&mut busy, &mut idle] {
            let _ = c.kill();
            let _ = c.wait();
        }
        assert!(b > 10.0 && i < 5.0 && b > 4.0 * i, "busy {b} %, sleeping {i} %");
        assert!((0.0..=100.0).contains(&host), "{host}");
    }
}
