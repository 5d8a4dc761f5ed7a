//! The watchdog: a small process started with the run that replays the journal if the run dies without saying
//! goodbye, even by SIGKILL, and the `recover` command for when even that could not happen (a host crash).
//!
//! The run holds the write end of the watchdog's stdin; the kernel closes it when the run dies, however it dies. On
//! that EOF the watchdog waits for the journal lock (also dropped by the kernel with the run), replays, and exits. A
//! clean run writes `disarm` first. The watchdog lives in its own session, so a signal to the run's process group
//! (Ctrl-C in a terminal, a CI runner killing the job's group, even SIGKILL) does not take it down with the run.
//!
//! Besides the journal, a watchdog may guard a run directory (the target's, cleaned through [`RunDirs`]): the
//! embedded simulator's tmpfs and every temp file of the run (the JWT secret among them) live there, and the watchdog
//! unmounts and removes it, so a SIGKILL leaves nothing in /tmp or in /proc/mounts either.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, ExitCode, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::Context;

use super::RunDirs;
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
        Self::spawn_with(exe, Some(journal), None)
    }

    /// Start a watchdog for a journal, a run directory, or both.
    pub fn spawn_with(exe: &Path, journal: Option<&Path>, run_dir: Option<&Path>) -> anyhow::Result<Watchdog> {
        let mut cmd = Command::new(exe);
        cmd.arg("watchdog");
        if let Some(journal) = journal {
            cmd.arg("--journal").arg(journal);
        }
        if let Some(dir) = run_dir {
            cmd.arg("--run-dir").arg(dir);
        }
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

/// The watchdog process: `spacetime-drill watchdog [--journal PATH] [--run-dir DIR]`; `dirs` cleans the run directory.
pub fn serve(journal: Option<&Path>, run_dir: Option<&Path>, dirs: &dyn RunDirs) -> anyhow::Result<ExitCode> {
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
    let mut code = ExitCode::SUCCESS;
    if let Some(mut journal) = journal.map(Journal::open_wait).transpose()?.flatten() {
        if journal.dirty() {
            let replay = journal.replay(None)?;
            print_replay(&mut std::io::stderr().lock(), "watchdog: the run ended without rolling back;", &replay);
            if !replay.failed.is_empty() || !replay.unreadable.is_empty() {
                code = ExitCode::from(2);
            }
        }
    }
    if let Some(dir) = run_dir {
        dirs.clean(dir)?;
    }
    Ok(code)
}

/// `spacetime-drill recover`: replay what an interrupted run left in the journal, after removing the run directories
/// (`dirs`) of runs that no longer exist.
pub fn recover(flag: Option<&Path>, dirs: &dyn RunDirs) -> anyhow::Result<ExitCode> {
    let cleaned = dirs.clean_leftovers();
    if cleaned > 0 {
        println!("recover: removed {cleaned} run director(ies) (and their simulator filesystems) left by killed runs");
    }
    let path = journal::resolve_path(flag)?;
    // Never created here: recover on a path that is not a journal must change nothing.
    let Some(mut journal) = Journal::open_existing(&path)? else {
        println!("nothing to recover ({} does not exist)", path.display());
        return Ok(ExitCode::SUCCESS);
    };
    if !journal.dirty() {
        println!("nothing to recover ({})", path.display());
        return Ok(ExitCode::SUCCESS);
    }
    let replay = journal.replay(None)?;
    print_replay(&mut std::io::stdout().lock(), "recover:", &replay);
    journal.refuse_unreadable()?;
    if replay.failed.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    anyhow::bail!(
        "{} rollback(s) failed or were refused and stay in {}; fix the cause and run recover again",
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
