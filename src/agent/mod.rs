//! `spacetime-drill agent`: the remote end of a host's faults, run by the harness over SSH on the host itself.
//!
//! The agent is a remote [`Injector`]: it acts with the same fault kinds, journal and watchdog as a local run, so a
//! fault on a host has the same guarantees as one on the harness's machine. It never trusts the harness to roll
//! back (an SSH session can vanish without a word, and a dropped SSH client does not kill the remote process):
//! it holds a lease that every message renews, and when the lease runs out, stdin closes, or SIGTERM/SIGHUP/SIGINT
//! arrives, it rolls back everything it injected and exits. At start it replays whatever a killed agent left in its
//! journal, and a watchdog of its own covers the agent being killed with SIGKILL.
//!
//! What it must not do: act on anything outside the allow-list the session's `hello` fixed, whatever later requests
//! ask, or inject a fault it did not preflight.

pub(crate) mod protocol;

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

use anyhow::Context;

use crate::cli::AgentArgs;
use crate::fault::runner::Planned;
use crate::fault::watchdog::Watchdog;
use crate::fault::{Allow, FaultContext, FaultEventKind, Injector, Journal, TargetHost, journal, on_host};
use crate::probe::host;
use protocol::{CpuOf, HostAllow, Probe, Reply, Request, VERSION};

/// What wakes the agent's loop.
enum Wake {
    Line(String),
    Eof,
    Signal,
}

/// `spacetime-drill agent`: serve one harness on stdin/stdout until it says bye or goes silent.
pub fn main(args: AgentArgs) -> anyhow::Result<ExitCode> {
    let path = journal::resolve_path(args.journal.as_deref())?;
    if args.recover {
        return recover(&path);
    }
    if let Some(what) = &args.probe {
        return probe_once(what);
    }
    let mut journal = Journal::open(&path)?;
    if journal.dirty() {
        let replay = journal.replay(None)?;
        eprintln!("agent: replayed {} leftover change(s) of an earlier agent", replay.rolled_back.len());
        anyhow::ensure!(replay.failed.is_empty(), "agent: leftover rollbacks failed: {:?}", replay.failed);
    }
    let exe = std::env::current_exe().context("cannot find this program")?;
    let watchdog = Watchdog::spawn(&exe, &path)?;
    let (tx, rx) = mpsc::channel();
    let signal = tx.clone();
    ctrlc::set_handler(move || {
        let _ = signal.send(Wake::Signal);
    })?;
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if tx.send(Wake::Line(line)).is_err() {
                return;
            }
        }
        let _ = tx.send(Wake::Eof);
    });
    let mut agent = Agent {
        exe,
        journal: Some(journal),
        ctx: None,
        commands: Vec::new(),
        planned: Vec::new(),
        injector: None,
        args,
    };
    let why = loop {
        match rx.recv_timeout(agent.args.lease) {
            Ok(Wake::Line(line)) => match agent.handle(&line) {
                Step::Reply(reply) => send(&reply)?,
                Step::Quiet => {}
                Step::Exit(reply, why) => {
                    let _ = send(&reply);
                    break why;
                }
            },
            Ok(Wake::Eof) => break "stdin closed".to_owned(),
            Ok(Wake::Signal) => break "a termination signal".to_owned(),
            Err(RecvTimeoutError::Timeout) => {
                break format!("no heartbeat for the lease of {}", humantime::format_duration(agent.args.lease));
            }
            Err(RecvTimeoutError::Disconnected) => break "stdin closed".to_owned(),
        }
    };
    let failed = agent.finish(&why);
    if failed { Ok(ExitCode::from(2)) } else { disarm(watchdog) }
}

fn disarm(watchdog: Watchdog) -> anyhow::Result<ExitCode> {
    watchdog.disarm();
    Ok(ExitCode::SUCCESS)
}

/// `agent --recover`: what the harness runs over SSH when it cannot ask a live agent. Waits for a live agent to let
/// go of the journal (it is rolling back on its own), then replays what is left.
fn recover(path: &Path) -> anyhow::Result<ExitCode> {
    let Some(mut journal) = Journal::open_wait(path)? else {
        println!("replayed 0 change(s), 0 failed: there is no journal");
        return Ok(ExitCode::SUCCESS);
    };
    let replay = journal.replay(None)?;
    println!("replayed {} change(s), {} failed", replay.rolled_back.len(), replay.failed.len());
    for (fault, e) in &replay.failed {
        eprintln!("FAILED `{fault}`: {e}");
    }
    Ok(if replay.failed.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(2) })
}

fn send(reply: &Reply) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer(&mut out, reply)?;
    out.write_all(b"\n")?;
    out.flush().context("the harness is gone")
}

enum Step {
    Reply(Reply),
    Quiet,
    Exit(Reply, String),
}

struct Agent {
    exe: PathBuf,
    /// Until the first injection, when the injector takes it.
    journal: Option<Journal>,
    /// Set by `hello`, with the allow-list fixed for the session.
    ctx: Option<FaultContext>,
    /// The commands `hello`'s allow-list names: all that faults may run here.
    commands: Vec<String>,
    planned: Vec<Planned>,
    injector: Option<Injector>,
    args: AgentArgs,
}

impl Agent {
    fn handle(&mut self, line: &str) -> Step {
        let request = match serde_json::from_str::<Request>(line) {
            Ok(r) => r,
            Err(e) => return Step::Reply(Reply::err(format!("unreadable request: {e}"))),
        };
        let reply = match request {
            Request::Heartbeat => return Step::Quiet,
            Request::Bye => return Step::Exit(Reply::ok("bye"), "the harness said bye".into()),
            Request::Hello { version, allow } => return self.hello(version, allow),
            _ if self.ctx.is_none() => Reply::err("say hello first"),
            Request::Preflight { name, spec, ttl_ms } => self.preflight(name, spec, ttl_ms),
            Request::Inject { name } => self.inject(&name),
            Request::Rollback { name } => self.rollback(&name),
            Request::Probe { probe } => probe_reply(&probe),
        };
        Step::Reply(reply)
    }

    fn hello(&mut self, version: u32, allow: HostAllow) -> Step {
        let ours = self.args.protocol.unwrap_or(VERSION);
        if version != ours {
            let what = format!(
                "the agent speaks protocol {ours} and the harness protocol {version}; fix: install the harness's \
                 spacetime-drill version on the host, or set `upload = true` on the [[host]]"
            );
            return Step::Exit(Reply::err(what), "a protocol mismatch".into());
        }
        if self.ctx.is_some() {
            return Step::Reply(Reply::err("hello was already said; the allow-list is fixed for the session"));
        }
        self.commands = allow.commands;
        let allow = Allow {
            paths: allow.paths,
            ports: allow.ports,
            processes: allow.processes,
            pids: Vec::new(),
            units: allow.units,
        };
        let target = TargetHost { host: "127.0.0.1".into(), http_port: 0 };
        self.ctx = Some(FaultContext::new(self.exe.clone(), allow, target));
        let version = env!("CARGO_PKG_VERSION");
        Step::Reply(Reply::ok(format!("spacetime-drill {version} agent, protocol {ours}")))
    }

    fn preflight(&mut self, name: String, spec: crate::fault::FaultSpec, ttl_ms: u64) -> Reply {
        if let Some(why) = on_host::host_refusal(spec.name()) {
            return Reply::err(format!("refused: a {} fault cannot act on a host: {why}", spec.name()));
        }
        if self.injector.is_some() || self.planned.iter().any(|p| p.name == name) {
            return Reply::err(format!("refused: `{name}` comes after the first injection or twice"));
        }
        if let Some((key, cmd)) = on_host::unlisted_command(&spec, &self.commands) {
            return Reply::err(format!(
                "refused: `{name}` would run `{cmd}` ({key}), which this host's allow-list does not name; fix: add \
                 the exact command to the host's [host.allow] commands"
            ));
        }
        let fault = spec.build();
        if let Err(e) = fault.preflight(self.ctx.as_ref().expect("hello")) {
            return Reply::err(e.to_string());
        }
        let describe = fault.describe();
        self.planned.push(Planned { name, fault, ttl: Duration::from_millis(ttl_ms) });
        Reply::ok(describe)
    }

    fn inject(&mut self, name: &str) -> Reply {
        let injector = self.injector.get_or_insert_with(|| {
            let journal = self.journal.take().expect("the journal until the first injection");
            let ctx = self.ctx.clone().expect("hello");
            Injector::new(journal, ctx, std::mem::take(&mut self.planned), false)
        });
        let result = injector.inject(name);
        outcome(injector, result.map_err(|e| e.to_string()))
    }

    fn rollback(&mut self, name: &str) -> Reply {
        match &self.injector {
            Some(injector) => {
                let result = injector.rollback(name).map_err(|e| e.to_string());
                outcome(injector, result)
            }
            None => Reply::ok("nothing was injected"),
        }
    }

    /// Roll back everything, for `why`; returns whether a rollback failed (the journal keeps it for the watchdog).
    fn finish(&mut self, why: &str) -> bool {
        let Some(injector) = &self.injector else { return false };
        let errors = injector.rollback_all();
        for e in injector.take_events() {
            eprintln!("agent ({why}): {} {:?} {}", e.fault, e.kind, e.detail);
        }
        for e in &errors {
            eprintln!("agent: {e}");
        }
        !errors.is_empty() || injector.journal_dirty()
    }
}

/// The injector's events since the last call, as the reply's detail.
fn outcome(injector: &Injector, result: Result<(), String>) -> Reply {
    let details: Vec<String> = injector
        .take_events()
        .into_iter()
        .filter(|e| !matches!(e.kind, FaultEventKind::Failed { .. }))
        .map(|e| e.detail)
        .collect();
    match result {
        Ok(()) => Reply::ok(if details.is_empty() { "nothing to do".into() } else { details.join("; ") }),
        Err(e) => Reply::err(e),
    }
}

/// `agent --probe WHAT`: one measurement on stdout, what the run's probe commands read over SSH.
fn probe_once(what: &str) -> anyhow::Result<ExitCode> {
    let process = |what: &str| match what.split_once(':') {
        Some(("port", p)) => p.parse().ok().map(CpuOf::Port),
        Some(("process", name)) => Some(CpuOf::Process(name.into())),
        Some(("unit", unit)) => Some(CpuOf::Unit(unit.into())),
        _ => None,
    };
    let probe = match what.split_once(':') {
        _ if what == "cpu" => Some(Probe::Cpu(CpuOf::Host)),
        Some(("cpu", of)) => process(of).map(Probe::Cpu),
        Some(("disk", path)) => Some(Probe::DiskUsed(path.into())),
        Some(("port", p)) => p.parse().ok().map(Probe::PortRss),
        Some(("process", name)) => Some(Probe::ProcessRss(name.into())),
        Some(("unit", unit)) => Some(Probe::UnitRss(unit.into())),
        _ => None,
    };
    let Some(probe) = probe else {
        anyhow::bail!(
            "--probe {what}: give port:PORT, process:NAME, unit:UNIT, disk:PATH, cpu, or cpu:port:PORT (etc.)"
        )
    };
    let reply = probe_reply(&probe);
    anyhow::ensure!(reply.ok, "{}", reply.detail);
    println!("{}", reply.value.unwrap_or_default());
    Ok(ExitCode::SUCCESS)
}

/// How long a CPU probe watches: short enough for a one-second probe interval over SSH, long enough for 20 ticks
/// a core.
const CPU_WINDOW: Duration = Duration::from_millis(200);

/// The one process a probe selects.
fn pid_of(of: &CpuOf) -> Result<u32, String> {
    match of {
        CpuOf::Process(name) => match crate::fault::procfs::pids_named(name)[..] {
            [pid] => Ok(pid),
            ref pids => Err(format!("{} processes are named `{name}`; name exactly one", pids.len())),
        },
        CpuOf::Port(port) => match host::pid_listening_on(*port) {
            Ok(Some(pid)) => Ok(pid),
            Ok(None) => Err(format!("nothing listens on port {port}")),
            Err(e) => Err(e.to_string()),
        },
        CpuOf::Unit(unit) => crate::fault::kill_process::unit_main_pid(unit)?
            .ok_or_else(|| format!("unit `{unit}` is absent or not running")),
        CpuOf::Host => Err("the host is not one process".into()),
    }
}

fn probe_reply(probe: &Probe) -> Reply {
    let rss = |of: CpuOf| pid_of(&of).and_then(|pid| host::resident_mb(pid).map_err(|e| e.to_string()));
    let value = match probe {
        Probe::ProcessRss(name) => rss(CpuOf::Process(name.clone())),
        Probe::PortRss(port) => rss(CpuOf::Port(*port)),
        Probe::UnitRss(unit) => rss(CpuOf::Unit(unit.clone())),
        Probe::DiskUsed(path) => host::disk_used_pct(path).map_err(|e| e.to_string()),
        Probe::Cpu(CpuOf::Host) => host::cpu_pct_over(host::CpuOf::Host, CPU_WINDOW).map_err(|e| e.to_string()),
        Probe::Cpu(of) => pid_of(of).and_then(|pid| {
            host::cpu_pct_over(host::CpuOf::Process(pid), CPU_WINDOW).map_err(|e| format!("process {pid}: {e}"))
        }),
    };
    match value {
        Ok(v) => Reply { ok: true, detail: String::new(), value: Some(v) },
        Err(e) => Reply::err(e),
    }
}
