//! Drills with every fault on a host: the simulator runs as a separate process "on" the test's sshd host, the run
//! reaches it as an external `[target]`, and the faults go through the agent. Same verdicts as the local drills, and
//! everything restored after. They take turns with the local drills, whose load they would otherwise measure.

use std::process::Command;

use serde_json::Value;
use spacetime_sim::launch::{SimOptions, SimProcess};

use super::sshd::Sshd;
use super::{EXE, journal_clean};

/// Run `scenario`; returns the exit code, its output and the report.
fn drive(dir: &std::path::Path, scenario: &str) -> (Option<i32>, String, Value) {
    let path = dir.join("s.toml");
    std::fs::write(&path, scenario).unwrap();
    let out = dir.join("out");
    let o = Command::new(EXE)
        .args(["run", "--format", "json,md", "--out"])
        .arg(&out)
        .arg(&path)
        .env("SPACETIME_DRILL_JOURNAL", dir.join("harness.jsonl"))
        .output()
        .unwrap();
    let err = format!("{}\n{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    let report =
        std::fs::read_to_string(out.join("report.json")).map_or(Value::Null, |t| serde_json::from_str(&t).unwrap());
    (o.status.code(), err, report)
}

fn events<'a>(report: &'a Value, kind: &str) -> Vec<&'a str> {
    let all = report["record"]["events"].as_array().unwrap().iter().filter(|e| e["event"] == kind);
    all.map(|e| e["detail"].as_str().unwrap_or_default()).collect()
}

#[test]
fn a_dap_killed_on_the_host_is_a_high_error_rate_detected_and_recovered() {
    let _one = crate::run::one_at_a_time();
    let sshd = Sshd::start();
    let dir = tempfile::tempdir().unwrap();
    let sim = SimProcess::spawn(EXE.as_ref(), &SimOptions::default()).unwrap();
    let (dap, port_file) = (sim.ports.dap, dir.path().join("dap.port"));
    // What an operator's unit file would do: start a new DAP on its port, and wait until it serves.
    let restart = format!(
        "setsid -f {EXE} sim dap --port {dap} --project-dir {} --port-file {pf} >/dev/null 2>&1 </dev/null; \
         for i in $(seq 100); do [ -s {pf} ] && exit 0; sleep 0.05; done; exit 1",
        sim.project_dir.display(),
        pf = port_file.display()
    );
    let host_journal = dir.path().join("host.jsonl");
    let scenario = format!(
        "[target]\nurl = \"http://127.0.0.1:{http}\"\ntelemetry = \"ws://127.0.0.1:{tel}\"\n[load]\nrate = 100\n\
         [[phase]]\nname = \"baseline\"\nduration = \"3s\"\n[[phase]]\nname = \"fault\"\nduration = \"6s\"\n\
         faults = [\"f\"]\n[[phase]]\nname = \"recovery\"\nduration = \"8s\"\n[[fault]]\nname = \"f\"\n\
         host = \"h\"\n[fault.kill_process]\nport = {dap}\nsignal = \"KILL\"\nrestart = true\n\
         restart_command = '''{restart}'''\n[expect]\nincident = \"high_error_rate\"\ndetect_within = \"6s\"\n\
         recover_within = \"8s\"\n{}",
        sshd.host_entry("h", &host_journal, &format!("[host.allow]\nports = [{dap}]\ncommands = ['''{restart}''']")),
        http = sim.ports.http,
        tel = sim.ports.telemetry,
    );
    let (code, err, report) = drive(dir.path(), &scenario);
    let revived = spacetime_drill::probe::pid_listening_on(dap).unwrap();
    if let Some(pid) = revived {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), nix::sys::signal::Signal::SIGKILL);
    }
    assert_eq!(code, Some(0), "every expectation holds, as in the local drill: {err}");
    let injected = events(&report, "fault_injected");
    assert!(injected.len() == 1 && injected[0].contains("on host h"), "{injected:?}");
    let rolled_back = events(&report, "fault_rolled_back");
    assert!(rolled_back.iter().any(|d| d.contains("on host h") && d.contains("exited 0")), "{rolled_back:?}");
    assert!(revived.is_some_and(|p| p != sim.ports.pids.dap), "a new DAP serves the port after the drill");
    assert!(journal_clean(&host_journal) && journal_clean(&dir.path().join("harness.jsonl")));
}

/// A tmpfs the test mounts, unmounted (lazily, whatever still uses it) when dropped.
struct Tmpfs(std::path::PathBuf);

impl Tmpfs {
    fn mount(at: std::path::PathBuf, mib: u32) -> Tmpfs {
        std::fs::create_dir_all(&at).unwrap();
        let size = format!("size={mib}m");
        let ok = Command::new("mount").args(["-t", "tmpfs", "-o", &size, "tmpfs"]).arg(&at).status().unwrap();
        assert!(ok.success(), "mounting a tmpfs (tests run as root)");
        Tmpfs(at)
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

#[test]
fn a_disk_filled_on_the_host_is_a_disk_exhaustion_judged_by_the_hosts_probe() {
    let _one = crate::run::one_at_a_time();
    let sshd = Sshd::start();
    let dir = tempfile::tempdir().unwrap();
    let data = Tmpfs::mount(dir.path().join("data"), 32);
    let sim = SimProcess::spawn(EXE.as_ref(), &SimOptions { data_dir: Some(data.0.clone()), ..Default::default() });
    let sim = sim.unwrap();
    let host_journal = dir.path().join("host.jsonl");
    let host = sshd.host_entry(
        "h",
        &host_journal,
        &format!(
            "[host.allow]\npaths = [\"{d}\"]\n[host.probe]\ndisk_path = \"{d}\"\ncpu = true",
            d = data.0.display()
        ),
    );
    let scenario = format!(
        "[target]\nurl = \"http://127.0.0.1:{http}\"\n[load]\nrate = 50\n[[phase]]\nname = \"baseline\"\n\
         duration = \"3s\"\n[[phase]]\nname = \"at-96\"\nduration = \"6s\"\nfaults = [\"fill\"]\n[[phase]]\n\
         name = \"recovery\"\nduration = \"4s\"\n[[fault]]\nname = \"fill\"\nhost = \"h\"\n[fault.disk_fill]\n\
         path = \"{d}\"\npercent = 96\n[expect]\nincident = \"disk_exhaustion\"\nseverity = \"P1\"\n\
         detect_within = \"6s\"\n{host}",
        http = sim.ports.http,
        d = data.0.display(),
    );
    let (code, err, report) = drive(dir.path(), &scenario);
    assert_eq!(code, Some(0), "disk_exhaustion P1 as in the local drill: {err}");
    assert!(events(&report, "fault_injected")[0].contains("on host h"));
    let notes = report["record"]["events"].as_array().unwrap().iter().filter_map(|e| e["message"].as_str());
    assert!(
        notes.into_iter().any(|m| m == "memory and disk probes read on host h"),
        "the report names the probes' host"
    );
    let hosts = &report["record"]["probe_hosts"];
    assert!(hosts["disk_pct"] == "h" && hosts["cpu_pct"] == "h", "each series names its host: {hosts}");
    let seconds = report["record"]["seconds"].as_array().unwrap();
    let cpu: Vec<f64> = seconds.iter().filter_map(|s| s["cpu_pct"].as_f64()).collect();
    // Each sample is an SSH login plus the window, within the one-second probe timeout: on a loaded CI box some time
    // out (a probe failure, not a value), so only that there are samples is asserted.
    assert!(!cpu.is_empty() && cpu.iter().all(|c| (0.0..=100.0).contains(c)), "the host's CPU: {cpu:?}");
    let postmortem = std::fs::read_to_string(dir.path().join("out/postmortem.md")).unwrap();
    let rows: Vec<&str> = postmortem.lines().filter(|l| l.contains("fault fill ")).collect();
    assert!(rows.len() == 2 && rows.iter().all(|l| l.contains("on host h")), "the timeline names the host: {rows:?}");
    assert!(
        postmortem.contains("probe samples of cpu_pct, disk_pct measured on host h"),
        "the timeline names the probes' host: {postmortem}"
    );
    let used = spacetime_drill::probe::disk_used_pct(&data.0).unwrap();
    assert!(used < 50.0, "the ballast is gone after the drill: {used} %");
    assert!(journal_clean(&host_journal) && journal_clean(&dir.path().join("harness.jsonl")));
    drop(sim);
}

#[test]
fn the_api_port_held_on_the_host_while_it_restarts_is_api_unresponsive() {
    let _one = crate::run::one_at_a_time();
    let sshd = Sshd::start();
    let dir = tempfile::tempdir().unwrap();
    let [http, tel, dap, lsp] = [0; 4].map(|_| super::free_port());
    let (ports_file, pid_file) = (dir.path().join("ports.json"), dir.path().join("sim.pid"));
    // The service restarted as its unit file would: the old one (its whole group) killed, a new one started on the
    // same ports after a pause (systemd's RestartSec), and the restart done once it serves. `setsid` makes the new one's PID its group.
    let restart = format!(
        "[ -s {pid} ] && kill -KILL -$(cat {pid}) 2>/dev/null; rm -f {pf}; sleep 0.5; \
         setsid -f sh -c 'echo $$ > {pid}; exec {EXE} sim --http-port {http} --telemetry-port {tel} \
         --dap-port {dap} --lsp-port {lsp} --data-dir {data} --ports-file {pf}' >/dev/null 2>&1 </dev/null; \
         for i in $(seq 200); do [ -s {pf} ] && exit 0; sleep 0.05; done; exit 1",
        pf = ports_file.display(),
        pid = pid_file.display(),
        data = dir.path().join("data").display(),
    );
    let _service = KillGroupIn(pid_file.clone());
    assert!(Command::new("sh").arg("-c").arg(&restart).status().unwrap().success(), "the service starts");
    let host_journal = dir.path().join("host.jsonl");
    let scenario = format!(
        "[target]\nurl = \"http://127.0.0.1:{http}\"\n[load]\nrate = 100\ntimeout = \"2s\"\n[[phase]]\n\
         name = \"baseline\"\nduration = \"3s\"\n[[phase]]\nname = \"port-held\"\nduration = \"5s\"\n\
         faults = [\"hold\"]\n[[phase]]\nname = \"recovery\"\nduration = \"8s\"\n\
         [[fault]]\nname = \"hold\"\nhost = \"h\"\n[fault.port_conflict]\nport = {http}\nmode = \"listen\"\n\
         restart = true\nrestart_command = '''{restart}'''\n[expect]\nincident = \"api_unresponsive\"\n\
         severity = \"P0\"\ndetect_within = \"3s\"\nrecover_within = \"10s\"\n{}",
        sshd.host_entry("h", &host_journal, &format!("[host.allow]\nports = [{http}]\ncommands = ['''{restart}''']")),
    );
    let (code, err, report) = drive(dir.path(), &scenario);
    let serving = super::listening(http);
    assert_eq!(code, Some(0), "api_unresponsive P0 as in the local drill: {err}");
    let injected = events(&report, "fault_injected");
    assert!(injected.len() == 1 && injected[0].contains("on host h"), "{injected:?}");
    assert!(serving, "the service serves its own port again after the drill");
    assert!(journal_clean(&host_journal) && journal_clean(&dir.path().join("harness.jsonl")));
}

/// Kills the process group whose id the file holds (a service the test started with `setsid`) when dropped, so a
/// failed assertion leaves nothing running.
struct KillGroupIn(std::path::PathBuf);

impl Drop for KillGroupIn {
    fn drop(&mut self) {
        let group = std::fs::read_to_string(&self.0).unwrap_or_default();
        if let Ok(pgid) = group.trim().parse::<i32>() {
            let _ = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(pgid), nix::sys::signal::Signal::SIGKILL);
        }
    }
}
