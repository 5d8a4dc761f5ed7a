//! Holder children: a fault that holds something in a process (a port, busy threads, idle connections) holds it in a
//! small child, `spacetime-drill watchdog --hold SPEC`, never in the run itself.
//!
//! Why a child: it can be killed by PID from a journal record, its CPU use is the target host's and not the run's,
//! and it is bound to the run by its stdin pipe: when the run dies, even by SIGKILL, the pipe closes and the holder
//! exits, so a held port never outlives the run, journal or not.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{FaultContext, FaultErrorKind, Intent, Undo, procfs};

/// How long a holder may take to set up before the fault fails.
const READY_TIMEOUT: Duration = Duration::from_secs(15);
/// Per-connection connect timeout for `connection_flood`.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// What a holder child holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "hold", rename_all = "snake_case")]
pub enum HoldSpec {
    /// Listen on 127.0.0.1:`port`; never accept (clients hang), or accept and reset at once. With `wait_ms`, keep
    /// trying to bind for that long: the port is taken the moment a restarting service lets go of it.
    Port {
        port: u16,
        accept_close: bool,
        #[serde(default)]
        wait_ms: u64,
    },
    /// Spin `threads` busy threads.
    Cpu { threads: usize },
    /// Open `count` TCP connections to `addr` and send nothing.
    Connections { addr: SocketAddr, count: usize },
}

impl HoldSpec {
    /// The TCP port it binds or connects to, which a journal entry's scope must allow; busy threads touch none.
    pub fn port(&self) -> Option<u16> {
        match self {
            HoldSpec::Port { port, .. } => Some(*port),
            HoldSpec::Connections { addr, .. } => Some(addr.port()),
            HoldSpec::Cpu { .. } => None,
        }
    }
}

/// A running holder.
#[derive(Debug)]
pub struct Held {
    pub pid: u32,
    start_time: u64,
    /// What the holder reported once ready, e.g. "holding 100 of 120 connections".
    pub detail: String,
    port: Option<u16>,
}

impl Held {
    /// How to stop it, naming the port it touches so a replay can check that port against the entry's scope.
    pub fn undo(&self) -> Undo {
        Undo::KillHolder { pid: self.pid, start_time: self.start_time, port: self.port }
    }
}

/// What the holder `pid` started at `start_time` holds, read from its command line (`watchdog --hold SPEC`):
/// `None` once that process is gone (its PID may be someone else's by now), an error when it is not a holder.
pub fn running(pid: u32, start_time: u64) -> Result<Option<HoldSpec>, String> {
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    if procfs::start_time(pid) != Some(start_time) || cmdline.is_empty() {
        return Ok(None);
    }
    let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
    let spec = args.windows(3).find(|w| w[0] == b"watchdog" && w[1] == b"--hold");
    spec.and_then(|w| serde_json::from_slice(w[2]).ok())
        .map(Some)
        .ok_or_else(|| format!("pid {pid} is not a spacetime-drill holder"))
}

/// Start a holder and wait until it holds (or failed to).
pub fn spawn(exe: &Path, spec: &HoldSpec) -> Result<Held, FaultErrorKind> {
    let json = serde_json::to_string(spec).map_err(|e| FaultErrorKind::io("encoding the holder spec")(e.into()))?;
    let mut child = Command::new(exe)
        .args(["watchdog", "--hold", &json])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(FaultErrorKind::io(format!("starting the holder {}", exe.display())))?;
    let (stdin, stdout) = (child.stdin.take(), child.stdout.take());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = stdout.map(|s| BufReader::new(s).read_line(&mut line));
        let _ = tx.send(line);
    });
    let line = rx.recv_timeout(READY_TIMEOUT).unwrap_or_else(|_| "no answer in time".into());
    let pid = child.id();
    let start_time = procfs::start_time(pid);
    // The reaper keeps our end of the stdin pipe open for exactly as long as the holder lives.
    std::thread::spawn(move || {
        let _stdin = stdin;
        let _ = child.wait();
    });
    match (line.trim().strip_prefix("ready "), start_time) {
        (Some(detail), Some(start_time)) => Ok(Held { pid, start_time, detail: detail.to_owned(), port: spec.port() }),
        _ => {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), nix::sys::signal::Signal::SIGKILL);
            Err(FaultErrorKind::Command { cmd: format!("hold {json}"), output: line.trim().to_owned() })
        }
    }
}

/// Start a holder for a fault and journal how to stop it. The record follows the start (the PID is not known
/// before), which is safe because a holder dies with the run anyway; the record is for a rollback while the run lives.
pub fn start(ctx: &FaultContext, intent: &mut dyn Intent, spec: &HoldSpec) -> Result<String, FaultErrorKind> {
    let held = spawn(&ctx.exe, spec)?;
    let undo = held.undo();
    if let Err(e) = intent.record(undo.clone()) {
        let _ = undo.rollback(None);
        return Err(e);
    }
    Ok(format!("{} (holder pid {})", held.detail, held.pid))
}

/// The holder child's side: set up, say `ready <detail>` (or `error <why>`) on stdout, hold until stdin closes.
pub fn serve(spec_json: &str) -> anyhow::Result<()> {
    let spec: HoldSpec = serde_json::from_str(spec_json)?;
    let mut out = std::io::stdout();
    let _held = match hold(&spec) {
        Ok((held, detail)) => {
            writeln!(out, "ready {detail}")?;
            held
        }
        Err(e) => {
            writeln!(out, "error {e}")?;
            return Err(e.into());
        }
    };
    out.flush()?;
    // Hold until the run closes the pipe: by rollback (it kills us) or by dying.
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    Ok(())
}

type Holding = Box<dyn std::any::Any>;

fn hold(spec: &HoldSpec) -> std::io::Result<(Holding, String)> {
    match *spec {
        HoldSpec::Port { port, accept_close, wait_ms } => {
            let listener = bind_within(port, Duration::from_millis(wait_ms))?;
            if !accept_close {
                return Ok((Box::new(listener), format!("listening on 127.0.0.1:{port}, never accepting")));
            }
            std::thread::spawn(move || {
                for stream in listener.incoming().flatten() {
                    reset(stream);
                }
            });
            Ok((Box::new(()), format!("listening on 127.0.0.1:{port}, resetting every connection")))
        }
        HoldSpec::Cpu { threads } => {
            for _ in 0..threads {
                std::thread::spawn(|| {
                    loop {
                        std::hint::spin_loop();
                    }
                });
            }
            Ok((Box::new(()), format!("{threads} busy threads")))
        }
        HoldSpec::Connections { addr, count } => {
            let conns: Vec<TcpStream> =
                (0..count).filter_map(|_| TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT).ok()).collect();
            let detail = format!("holding {} of {count} idle connections to {addr}", conns.len());
            if conns.is_empty() {
                return Err(std::io::Error::other(format!("no connection to {addr} succeeded")));
            }
            Ok((Box::new(conns), detail))
        }
    }
}

/// Bind 127.0.0.1:`port`, retrying every millisecond while it is in use until `within` has passed.
fn bind_within(port: u16, within: Duration) -> std::io::Result<TcpListener> {
    let deadline = std::time::Instant::now() + within;
    loop {
        match TcpListener::bind(("127.0.0.1", port)) {
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse && std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(1));
            }
            result => return result,
        }
    }
}

/// Close with a reset (SO_LINGER 0), which is what "the service crashed under me" looks like to a client.
fn reset(stream: TcpStream) {
    let linger = nix::libc::linger { l_onoff: 1, l_linger: 0 };
    let _ = nix::sys::socket::setsockopt(&stream, nix::sys::socket::sockopt::Linger, &linger);
}
