//! The agent alone, spoken to directly on its stdin: what it refuses whatever the harness asks, the version check,
//! and the lease.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::{Value, json};

use super::{EXE, free_port, journal_clean, listening, within};

struct Agent {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
}

impl Agent {
    fn start(journal: &std::path::Path, extra: &[&str]) -> Agent {
        Agent::start_with_path(journal, extra, None)
    }

    /// With `bin` first on the agent's PATH (a fake `systemctl`).
    fn start_with_path(journal: &std::path::Path, extra: &[&str], bin: Option<&std::path::Path>) -> Agent {
        let mut cmd = Command::new(EXE);
        if let Some(bin) = bin {
            cmd.env("PATH", format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default()));
        }
        let mut child = cmd
            .args(["agent", "--lease", "1s", "--journal"])
            .arg(journal)
            .args(extra)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        Agent { child, stdin, stdout }
    }

    fn ask(&mut self, request: Value) -> Value {
        writeln!(self.stdin.as_mut().unwrap(), "{request}").unwrap();
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        serde_json::from_str(&line).unwrap_or_else(|_| panic!("not a reply: {line:?}"))
    }

    fn hello(&mut self, ports: &[u16]) -> Value {
        self.ask(json!({"op": "hello", "version": 1, "allow": {"ports": ports}}))
    }

    fn exited(&mut self, limit: Duration) -> Option<Duration> {
        within(limit, || self.child.try_wait().unwrap().is_some())
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn hold(port: u16) -> Value {
    json!({"op": "preflight", "name": "hold", "spec": {"port_conflict": {"port": port}}, "ttl_ms": 60000})
}

#[test]
fn the_agent_refuses_what_its_allow_list_does_not_name_whatever_the_harness_asks() {
    let dir = tempfile::tempdir().unwrap();
    let (allowed, other) = (free_port(), free_port());
    // This test process itself listens here: an agent that signalled it would end the test.
    let me = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let my_port = me.local_addr().unwrap().port();
    let mut agent = Agent::start(&dir.path().join("j.jsonl"), &[]);
    let early = agent.ask(hold(allowed));
    assert_eq!(early["ok"], false, "nothing before hello: {early}");
    assert_eq!(agent.hello(&[allowed])["ok"], true);
    let widen = agent.hello(&[allowed, other]);
    assert!(widen["ok"] == false && widen["detail"].as_str().unwrap().contains("fixed"), "{widen}");
    let fine = json!({"op": "preflight", "name": "fine", "spec": {"port_conflict": {"port": allowed}}, "ttl_ms": 1});
    assert_eq!(agent.ask(fine)["ok"], true, "the allowed port is fine");
    let crafted = [
        (hold(other), "not in the allow-list"),
        (json!({"op": "preflight", "name": "k", "spec": {"kill_process": {"port": my_port}}, "ttl_ms": 1}), "allow"),
        (
            json!({"op": "preflight", "name": "x", "spec": {"exec": {"inject": "true", "rollback": "true"}}, "ttl_ms": 1}),
            "cannot act on a host",
        ),
        (
            json!({"op": "preflight", "name": "n", "spec": {"network": {"latency": "1s"}}, "ttl_ms": 1}),
            "cannot act on a host",
        ),
        (json!({"op": "inject", "name": "never-preflighted"}), "no fault named"),
        (json!({"op": "launch", "cmd": "rm -rf /"}), "unreadable request"),
    ];
    for (request, why) in crafted {
        let reply = agent.ask(request.clone());
        assert_eq!(reply["ok"], false, "{request} must be refused: {reply}");
        assert!(reply["detail"].as_str().unwrap().contains(why), "{request}: {reply}");
    }
    assert!(!listening(other), "nothing was held");
}

#[test]
fn the_agent_runs_no_command_its_allow_list_does_not_name() {
    let dir = tempfile::tempdir().unwrap();
    let (ran, fine) = (dir.path().join("ran"), dir.path().join("fine"));
    let (allowed, undo) = (format!("touch {}", fine.display()), format!("rm -f {}", fine.display()));
    let sneaky = format!("touch {}", ran.display());
    let mut agent = Agent::start(&dir.path().join("j.jsonl"), &[]);
    let allow = json!({"commands": [allowed, undo], "ports": [free_port()]});
    let hello = agent.ask(json!({"op": "hello", "version": 1, "allow": allow}));
    assert_eq!(hello["ok"], true, "{hello}");
    let preflight = |name: &str, spec: Value| json!({"op": "preflight", "name": name, "spec": spec, "ttl_ms": 60000});
    let crafted = [
        preflight("a", json!({"service": {"stop": sneaky, "start": allowed}})),
        preflight("b", json!({"service": {"stop": allowed, "start": sneaky}})),
        // The allowed text as a prefix is not the allowed command.
        preflight("c", json!({"service": {"stop": format!("{allowed}; {sneaky}"), "start": allowed}})),
        preflight("d", json!({"kill_process": {"port": free_port(), "restart": true, "restart_command": sneaky}})),
        preflight("e", json!({"port_conflict": {"port": free_port(), "restart": true, "restart_command": sneaky}})),
    ];
    for request in crafted {
        let reply = agent.ask(request.clone());
        let detail = reply["detail"].as_str().unwrap();
        assert!(reply["ok"] == false && detail.contains("allow-list does not name"), "{request}: {reply}");
        assert!(detail.contains("[host.allow] commands"), "the fix is named: {detail}");
    }
    assert!(!ran.exists(), "no refused command ran");
    // The list's own commands do run: the refusals are the list's, not an agent that runs nothing.
    assert_eq!(agent.ask(preflight("ok", json!({"service": {"stop": allowed, "start": undo}})))["ok"], true);
    assert_eq!(agent.ask(json!({"op": "inject", "name": "ok"}))["ok"], true);
    assert!(fine.exists() && !ran.exists());
    assert_eq!(agent.ask(json!({"op": "bye"}))["ok"], true);
    assert!(agent.exited(Duration::from_secs(5)).is_some() && !fine.exists(), "rolled back at bye");
}

/// `kill_process` by systemd unit, with a fake `systemctl` first on the agent's PATH (the container has no systemd)
/// that reports a real process the test started as the unit's main PID: the kill is real, and the restart command
/// brings up a new main process, as `systemctl restart` would.
#[test]
fn kill_process_by_unit_signals_the_units_main_process_and_restarts_it() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let systemctl = format!(
        "#!/bin/sh\n# `systemctl show -p MainPID --value -- UNIT`: the main PID, 0 when absent or stopped.\n\
         for unit; do :; done\n\
         case \"$unit\" in drill-test.service|other.service) [ -s {d}/main.pid ] && exec cat {d}/main.pid;; esac; echo 0\n"
    );
    std::fs::write(bin.join("systemctl"), systemctl).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(bin.join("systemctl"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let start = format!(
        "setsid -f sh -c 'echo $$ > {d}/main.tmp && mv {d}/main.tmp {d}/main.pid && exec sleep 30' \
         </dev/null >/dev/null 2>&1; for i in $(seq 100); do [ -s {d}/main.pid ] && exit 0; sleep 0.05; done; exit 1"
    );
    let restart = format!("rm -f {d}/main.pid; {start}");
    let main_pid = || std::fs::read_to_string(dir.path().join("main.pid")).ok()?.trim().parse::<i32>().ok();
    let _service = KillPidIn(dir.path().join("main.pid"));
    let mut agent = Agent::start_with_path(&dir.path().join("j.jsonl"), &[], Some(&bin));
    let allow = json!({"units": ["drill-test.service"], "commands": [restart]});
    assert_eq!(agent.ask(json!({"op": "hello", "version": 1, "allow": allow}))["ok"], true);
    let preflight = |unit: &str| {
        let spec =
            json!({"kill_process": {"unit": unit, "signal": "KILL", "restart": true, "restart_command": restart}});
        json!({"op": "preflight", "name": "k", "spec": spec, "ttl_ms": 60000})
    };
    let stopped = agent.ask(preflight("drill-test.service"));
    let says = stopped["detail"].as_str().unwrap();
    assert!(stopped["ok"] == false && says.contains("`drill-test.service` is absent or not running"), "{stopped}");
    assert!(Command::new("sh").arg("-c").arg(&start).status().unwrap().success(), "the unit starts");
    let old = main_pid().expect("a main PID");
    let other = agent.ask(preflight("other.service"));
    let says = other["detail"].as_str().unwrap();
    assert!(
        other["ok"] == false && says.contains("not in the allow-list") && says.contains("other.service"),
        "{other}"
    );
    let ok = agent.ask(preflight("drill-test.service"));
    assert_eq!(ok["ok"], true, "{ok}");
    let injected = agent.ask(json!({"op": "inject", "name": "k"}));
    assert!(injected["ok"] == true && injected["detail"].as_str().unwrap().contains(&old.to_string()), "{injected}");
    let dead = || spacetime_drill::fault::procfs::state(old as u32).is_none_or(|s| s == 'Z');
    assert!(within(Duration::from_secs(5), dead).is_some(), "the unit's main process was killed");
    assert_eq!(agent.ask(json!({"op": "rollback", "name": "k"}))["ok"], true);
    let new = main_pid().expect("restarted");
    assert!(new != old && kill(Pid::from_raw(new), None).is_ok(), "a new main process runs: {new} after {old}");
}

/// Kills the process whose PID the file holds when dropped.
struct KillPidIn(std::path::PathBuf);

impl Drop for KillPidIn {
    fn drop(&mut self) {
        if let Some(pid) = std::fs::read_to_string(&self.0).ok().and_then(|t| t.trim().parse::<i32>().ok()) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
    }
}

#[test]
fn an_agent_of_another_protocol_version_says_both_versions_and_exits() {
    let dir = tempfile::tempdir().unwrap();
    let mut agent = Agent::start(&dir.path().join("j.jsonl"), &["--protocol", "7"]);
    let reply = agent.hello(&[]);
    let detail = reply["detail"].as_str().unwrap();
    assert!(reply["ok"] == false && detail.contains("protocol 7") && detail.contains("protocol 1"), "{reply}");
    assert!(detail.contains("upload = true"), "the fix is named: {detail}");
    assert!(agent.exited(Duration::from_secs(5)).is_some());
}

/// Inject a held port, then go silent (the lease) or close stdin (the session dropped): the agent rolls back,
/// leaves a clean journal and exits. Returns how long the rollback took from the last message.
fn held_then(end: impl FnOnce(&mut Agent)) -> Duration {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("j.jsonl");
    let port = free_port();
    let mut agent = Agent::start(&journal, &[]);
    agent.hello(&[port]);
    assert_eq!(agent.ask(hold(port))["ok"], true);
    let injected = agent.ask(json!({"op": "inject", "name": "hold"}));
    assert_eq!(injected["ok"], true, "{injected}");
    assert!(listening(port) && !journal_clean(&journal));
    end(&mut agent);
    let took = within(Duration::from_secs(10), || !listening(port)).expect("the port is let go");
    assert!(agent.exited(Duration::from_secs(5)).is_some(), "the agent exits");
    assert!(journal_clean(&journal), "nothing pending on the host");
    took
}

#[test]
fn the_agent_rolls_back_when_heartbeats_stop_stdin_closes_or_a_signal_comes() {
    let silent = held_then(|_| {});
    eprintln!("agent lease 1 s, silence: rolled back after {silent:?}");
    assert!(silent >= Duration::from_millis(900) && silent < Duration::from_secs(4), "{silent:?}");
    let closed = held_then(|a| drop(a.stdin.take()));
    eprintln!("agent stdin closed: rolled back after {closed:?}");
    assert!(closed < Duration::from_millis(900), "EOF does not wait for the lease: {closed:?}");
    for signal in [Signal::SIGTERM, Signal::SIGHUP] {
        let took = held_then(|a| kill(Pid::from_raw(a.child.id() as i32), signal).unwrap());
        assert!(took < Duration::from_millis(900), "{signal}: {took:?}");
    }
}
