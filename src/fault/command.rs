//! Running a configured shell command (`exec`, `service`, restart commands) with a bounded time and its exit status
//! and output kept for the event log.

use std::io::{Read, Seek};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::{FaultErrorKind, Intent, Undo};

/// Longest a fault command may run; a hung `systemctl` must not hang the rollback of everything after it.
pub const TIMEOUT: Duration = Duration::from_secs(60);
/// Output kept per command, so one noisy command cannot swamp the event log.
const MAX_OUTPUT: usize = 2000;

/// Run `cmd` through `sh -c`; success is exit status 0. The detail (or the error) holds the status and the output.
pub fn run(cmd: &str) -> Result<String, FaultErrorKind> {
    let err = |output: String| FaultErrorKind::Command { cmd: cmd.into(), output };
    // Output goes to a file rather than a pipe, so a chatty command can never block on a full pipe while we wait.
    let mut out = tempfile::tempfile().map_err(FaultErrorKind::io("creating a file for command output"))?;
    let out2 = out.try_clone().map_err(FaultErrorKind::io("creating a file for command output"))?;
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .stdin(Stdio::null())
        .stdout(out.try_clone().map_err(FaultErrorKind::io("creating a file for command output"))?)
        .stderr(out2)
        .process_group(0)
        .spawn()
        .map_err(FaultErrorKind::io(format!("starting `sh -c {cmd}`")))?;
    let deadline = Instant::now() + TIMEOUT;
    let status = loop {
        match child.try_wait().map_err(FaultErrorKind::io(format!("waiting for `{cmd}`")))? {
            Some(status) => break Some(status),
            None if Instant::now() >= deadline => {
                // Its own process group, so whatever it started goes too.
                let _ = nix::sys::signal::killpg(
                    nix::unistd::Pid::from_raw(child.id() as i32),
                    nix::sys::signal::Signal::SIGKILL,
                );
                let _ = child.wait();
                break None;
            }
            None => std::thread::sleep(Duration::from_millis(20)),
        }
    };
    let mut text = String::new();
    let _ = out.rewind().and_then(|()| out.read_to_string(&mut text));
    let text = text.trim();
    let text = match text.char_indices().nth(MAX_OUTPUT) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_owned(),
    };
    let detail = |what: String| if text.is_empty() { what } else { format!("{what}; output: {text}") };
    match status {
        Some(s) if s.success() => Ok(detail(format!("`{cmd}` exited 0"))),
        Some(s) => Err(err(detail(format!("{s}")))),
        None => Err(err(detail(format!("timed out after {}s and was killed", TIMEOUT.as_secs())))),
    }
}

/// Run `cmd` after journaling `undo_cmd` as its undo: the shape of `exec` and `service`.
pub fn run_with_undo(intent: &mut dyn Intent, cmd: &str, undo_cmd: &str) -> Result<String, FaultErrorKind> {
    intent.record(Undo::RunCommand { cmd: undo_cmd.into() })?;
    run(cmd)
}

/// Commands are checked for being non-empty at preflight; what they do is the user's to decide.
pub fn require_nonempty(field: &str, cmd: &str) -> Result<(), FaultErrorKind> {
    if cmd.trim().is_empty() {
        return Err(FaultErrorKind::NotFound {
            what: format!("`{field}` is empty"),
            fix: format!("set `{field}` to a shell command"),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn keeps_status_and_output() {
        let ok = super::run("echo hello").unwrap();
        assert!(ok.contains("exited 0") && ok.contains("hello"), "{ok}");
        let e = super::run("echo oops >&2; exit 3").unwrap_err().to_string();
        assert!(e.contains("exit status: 3") && e.contains("oops"), "{e}");
    }
}
