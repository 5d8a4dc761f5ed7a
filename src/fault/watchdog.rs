//! The watchdog: a small process started with the run that replays the journal if the run dies without saying
//! goodbye, even by SIGKILL, and the `recover` command for when even that could not happen (a host crash).
//!
//! The run holds the write end of the watchdog's stdin; the kernel closes it when the run dies, however it dies. On
//! that EOF the watchdog waits for the journal lock (also dropped by the kernel with the run), replays, and exits. A
//! clean run writes `disarm` first. The watchdog lives in its own session, so a signal to the run's process group
//! (Ctrl-C in a terminal, a CI runner killing the job's group) does not take it down with the run.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, ExitCode, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::Context;

use super::journal::{self, Journal, Replay};

const DISARM: &str = "disarm";
const READY: &str = "ready";

/// The run's handle on its watchdog. Dropping it without [`Watchdog::disarm`] makes the watchdog replay the journal
/// as soon as the run lets go of it.
pub struct Watchdog {
    child: Child,
    stdin: ChildStdin,
}

impl Watchdog {
    /// Start `exe watchdog --journal JOURNAL` and wait until it watches.
    pub fn spawn(exe: &Path, journal: &Path) -> anyhow::Result<Watchdog> {
        let mut cmd = Command::new(exe);
        cmd.arg("watchdog").arg("--journal").arg(journal);
        cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::inherit());
        // SAFETY: setsid is async-signal-safe and touches no memory of the parent.
        unsafe {
            cmd.pre_exec(|| nix::unistd::setsid().map(drop).map_err(std::io::Error::from));
        }
        let mut child = cmd.spawn().with_context(|| format!("starting the watchdog {}", exe.display()))?;
        let (stdin, stdout) = (child.stdin.take().context("watchdog stdin")?, child.stdout.take());
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = stdout.map(|s| BufReader::new(s).read_line(&mut line));
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(Duration::from_secs(10)).unwrap_or_default();
        if line.trim() != READY {
            let _ = child.kill();
            let _ = child.wait();
            anyhow::bail!("the watchdog did not start (said {:?})", line.trim());
        }
        Ok(Watchdog { child, stdin })
    }

    /// The watchdog's PID (tests and logs).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The run ended cleanly and rolled back itself: let the watchdog exit without replaying.
    pub fn disarm(mut self) {
        let _ = writeln!(self.stdin, "{DISARM}");
        let Watchdog { mut child, stdin } = self;
        drop(stdin);
        let _ = child.wait();
    }
}

/// The watchdog process: `spacetime-drill watchdog --journal PATH`.
pub fn serve(journal: &Path) -> anyhow::Result<ExitCode> {
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{READY}")?;
        out.flush()?;
    }
    let mut line = String::new();
    let disarmed = BufReader::new(std::io::stdin()).read_line(&mut line).is_ok_and(|_| line.trim() == DISARM);
    if disarmed {
        return Ok(ExitCode::SUCCESS);
    }
    // The run is gone (or dropped us): wait until it lets go of the journal, then put everything back.
    let mut journal = Journal::open_wait(journal)?;
    if journal.dirty() {
        let replay = journal.replay(None)?;
        print_replay(&mut std::io::stderr().lock(), "watchdog: the run ended without rolling back;", &replay);
        if !replay.failed.is_empty() {
            return Ok(ExitCode::from(2));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `spacetime-drill recover`: replay what an interrupted run left in the journal.
pub fn recover(flag: Option<&Path>) -> anyhow::Result<ExitCode> {
    let unmounted = crate::target::data_fs::unmount_leftovers();
    if unmounted > 0 {
        println!("recover: unmounted {unmounted} simulator data filesystem(s) left by killed runs");
    }
    let path = journal::resolve_path(flag)?;
    let mut journal = Journal::open(&path)?;
    if !journal.dirty() {
        println!("nothing to recover ({})", path.display());
        return Ok(ExitCode::SUCCESS);
    }
    let replay = journal.replay(None)?;
    print_replay(&mut std::io::stdout().lock(), "recover:", &replay);
    if replay.failed.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    anyhow::bail!(
        "{} rollback(s) failed and stay in {}; fix the cause and run recover again",
        replay.failed.len(),
        path.display()
    )
}

/// Ignoring write errors: the terminal of a dead run may be gone too.
fn print_replay(err: &mut dyn Write, head: &str, replay: &Replay) {
    let _ = writeln!(err, "{head} {} rolled back, {} failed", replay.rolled_back.len(), replay.failed.len());
    for (fault, detail) in &replay.rolled_back {
        let _ = writeln!(err, "  rolled back `{fault}`: {detail}");
    }
    for (fault, error) in &replay.failed {
        let _ = writeln!(err, "  FAILED `{fault}`: {error}");
    }
}
