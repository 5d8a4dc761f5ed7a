//! The embedded simulator under the run's control: stop it, start it, and bring back a process a fault killed
//! ([`ServiceControl`], for `port_conflict` with `restart` and `kill_process` with `restart`).
//!
//! One thread owns the simulator and every process started to revive a part of it. Why: they all die with the
//! *thread* that spawned them (`PR_SET_PDEATHSIG`, so nothing outlives a run killed with SIGKILL), and the calls come
//! from short-lived threads (a fault's TTL timer, the blocking pool); spawning there would kill the new process again
//! as soon as that thread ended.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::Context;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use parking_lot::Mutex;

use crate::fault::ServiceControl;
use crate::secret::Secret;
use spacetime_sim::launch::{Ports, SimOptions, SimProcess, die_with_parent};

const PEER_START: Duration = Duration::from_secs(15);
const PORT_FREE: Duration = Duration::from_secs(5);

/// What the simulator looked like when it first came up (ports and PIDs change with a restart or a revive).
#[derive(Debug, Clone)]
pub struct Started {
    pub(crate) ports: Ports,
    pub(crate) data_dir: PathBuf,
    pub(crate) project_dir: PathBuf,
}

enum Op {
    Stop,
    Start,
    Revive(u32),
}

type Reply = mpsc::Sender<Result<String, String>>;

/// Handle on the owning thread; dropping it stops the simulator and everything revived.
pub struct SimControl {
    calls: Mutex<Option<mpsc::Sender<(Op, Reply)>>>,
    thread: Option<JoinHandle<()>>,
}

impl SimControl {
    /// Start the simulator on a new owning thread and wait until it listens.
    pub fn spawn(exe: PathBuf, opts: SimOptions, token: Option<Secret>) -> anyhow::Result<(SimControl, Started)> {
        let (calls, rx) = mpsc::channel::<(Op, Reply)>();
        let (ready_tx, ready) = mpsc::channel();
        let thread = std::thread::Builder::new().name("simulator".into()).spawn(move || {
            let process = match SimProcess::spawn(&exe, &opts) {
                Ok(p) => p,
                Err(e) => return drop(ready_tx.send(Err(e))),
            };
            let started = Started {
                ports: process.ports,
                data_dir: process.data_dir.clone(),
                project_dir: process.project_dir.clone(),
            };
            let _ = ready_tx.send(Ok(started));
            let mut owner = Owner { process, exe, token, revived: Vec::new(), stopped: false };
            for (op, reply) in rx {
                let _ = reply.send(owner.act(op));
            }
            owner.kill_revived();
        })?;
        let started = ready.recv().context("the simulator thread ended")??;
        Ok((SimControl { calls: Mutex::new(Some(calls)), thread: Some(thread) }, started))
    }

    fn call(&self, op: Op) -> Result<String, String> {
        let (tx, rx) = mpsc::channel();
        let calls = self.calls.lock();
        calls.as_ref().ok_or("the simulator is shut down")?.send((op, tx)).map_err(|_| "the simulator thread ended")?;
        drop(calls);
        rx.recv().map_err(|_| "the simulator thread ended".to_string())?
    }
}

impl Drop for SimControl {
    fn drop(&mut self) {
        self.calls.lock().take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl ServiceControl for SimControl {
    fn stop(&self) -> Result<(), String> {
        self.call(Op::Stop).map(drop)
    }
    fn start(&self) -> Result<(), String> {
        self.call(Op::Start).map(drop)
    }
    fn revive(&self, pid: u32, _name: &str) -> Result<(), String> {
        self.call(Op::Revive(pid)).map(drop)
    }
}

/// A DAP or LSP process started by the run to replace one a fault killed.
struct Revived {
    peer: &'static str,
    child: Child,
}

struct Owner {
    process: SimProcess,
    exe: PathBuf,
    token: Option<Secret>,
    revived: Vec<Revived>,
    stopped: bool,
}

impl Owner {
    fn act(&mut self, op: Op) -> Result<String, String> {
        match op {
            Op::Stop => self.stop(),
            Op::Start => self.start(),
            Op::Revive(pid) if pid == self.process.ports.pids.bridge => self.start(),
            Op::Revive(pid) if pid == self.process.ports.pids.dap => self.revive("dap", self.process.ports.dap),
            Op::Revive(pid) if pid == self.process.ports.pids.lsp => self.revive("lsp", self.process.ports.lsp),
            Op::Revive(pid) => Err(format!("pid {pid} is not one of the simulator's processes")),
        }
    }

    /// Kill the simulator's process group (bridge, DAP, LSP) and whatever was revived, then wait for the HTTP port to
    /// refuse connections, so a fault can take it.
    fn stop(&mut self) -> Result<String, String> {
        let _ = killpg(Pid::from_raw(self.process.ports.pids.bridge as i32), Signal::SIGKILL);
        self.kill_revived();
        self.stopped = true;
        let port = self.process.ports.http;
        let deadline = Instant::now() + PORT_FREE;
        while TcpStream::connect(("127.0.0.1", port)).is_ok() {
            if Instant::now() > deadline {
                return Err(format!("port {port} still answers 5 s after the simulator was killed"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok("simulator stopped".into())
    }

    /// Start the simulator again on its HTTP port (it falls back to 8083-8085 if that is taken now).
    fn start(&mut self) -> Result<String, String> {
        self.kill_revived();
        self.process.restart().map_err(|e| format!("{e:#}"))?;
        self.stopped = false;
        Ok(format!("simulator started, HTTP on port {}", self.process.ports.http))
    }

    /// Start a new `sim dap|lsp` on the dead one's port, then ask the bridge to reconnect now (`POST /connect`, the
    /// runbook's own recovery step) rather than wait out its backoff.
    fn revive(&mut self, peer: &'static str, port: u16) -> Result<String, String> {
        if self.stopped {
            return Err(format!("the simulator is stopped; cannot revive its {peer}"));
        }
        let port_file = self.process.data_dir.join("run").join(format!("{peer}.revived.port"));
        let _ = std::fs::remove_file(&port_file);
        let mut cmd = Command::new(&self.exe);
        cmd.args(["sim", peer, "--port", &port.to_string(), "--project-dir"])
            .arg(&self.process.project_dir)
            .arg("--port-file")
            .arg(&port_file)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0);
        die_with_parent(&mut cmd);
        let child = cmd.spawn().map_err(|e| format!("cannot start a new {peer}: {e}"))?;
        let pid = child.id();
        self.revived.push(Revived { peer, child });
        wait_port_file(&port_file, PEER_START).map_err(|e| format!("the new {peer}: {e}"))?;
        match peer {
            "dap" => self.process.ports.pids.dap = pid,
            _ => self.process.ports.pids.lsp = pid,
        }
        let connect = post_connect(self.process.ports.http, self.token.as_ref());
        Ok(format!("started a new {peer} (pid {pid}) on port {port}; POST /connect: {connect}"))
    }

    fn kill_revived(&mut self) {
        for mut r in self.revived.drain(..) {
            tracing::debug!("stopping the revived {}", r.peer);
            let _ = r.child.kill();
            let _ = r.child.wait();
        }
    }
}

fn wait_port_file(path: &Path, timeout: Duration) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    while std::fs::read_to_string(path).ok().and_then(|s| s.trim().parse::<u16>().ok()).is_none() {
        if Instant::now() > deadline {
            return Err(format!("did not listen within {timeout:?}"));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok(())
}

/// The status line of `POST /connect`, or why there was none (the bridge also reconnects by itself, with backoff).
fn post_connect(port: u16, token: Option<&Secret>) -> String {
    let attempt = || -> std::io::Result<String> {
        let mut s = TcpStream::connect(("127.0.0.1", port))?;
        s.set_read_timeout(Some(Duration::from_secs(5)))?;
        let auth = token.map(|t| format!("Authorization: Bearer {}\r\n", t.expose())).unwrap_or_default();
        let head = format!(
            "POST /connect HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n{auth}Content-Length: 0\r\n\r\n"
        );
        s.write_all(head.as_bytes())?;
        let mut buf = Vec::new();
        s.read_to_end(&mut buf)?;
        let text = String::from_utf8_lossy(&buf);
        Ok(text.lines().next().unwrap_or("no response").to_owned())
    };
    attempt().unwrap_or_else(|e| format!("failed ({e})"))
}
