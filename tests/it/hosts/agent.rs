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
        let mut child = Command::new(EXE)
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
