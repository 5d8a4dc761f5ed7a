//! The harness's end of one host's agent: an `ssh` child in its own process group (killed on drop), requests and
//! their replies in order, and a heartbeat thread that renews the agent's lease while this client lives.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::CommandExt;
use std::process::{Child, ChildStdin, Stdio};
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::Duration;

use parking_lot::Mutex;

use super::ssh::SshTarget;
use crate::agent::protocol::{HostAllow, Reply, Request, VERSION};
use crate::fault::on_host::HostLink;

/// Longest a request may take: the agent bounds every fault command to 60 s.
const REPLY_TIMEOUT: Duration = Duration::from_secs(90);
/// Long enough for `ConnectTimeout=10` and a slow login.
const HELLO_TIMEOUT: Duration = Duration::from_secs(30);

/// A connection failure a user can act on: what happened, and the fix.
#[derive(Debug, Clone)]
pub struct ConnectError {
    pub what: String,
    pub fix: String,
}

pub struct HostClient {
    target: SshTarget,
    writer: Arc<Mutex<ChildStdin>>,
    replies: Mutex<Receiver<String>>,
    child: Mutex<Child>,
    stderr: Arc<Mutex<VecDeque<String>>>,
    /// Dropping it stops the heartbeats.
    _heartbeat: mpsc::Sender<()>,
}

impl HostClient {
    /// Start the agent over SSH and say hello with the host's allow-list.
    pub fn connect(mut target: SshTarget, allow: HostAllow) -> Result<HostClient, ConnectError> {
        if target.upload {
            target.binary = upload(&target)?;
        }
        let mut cmd = target.command(&target.agent_line(false));
        cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).process_group(0);
        let mut child = cmd.spawn().map_err(|e| ConnectError {
            what: format!("cannot start `ssh` for host {}: {e}", target.name),
            fix: "install the OpenSSH client (Debian: openssh-client)".into(),
        })?;
        let writer = Arc::new(Mutex::new(child.stdin.take().expect("piped")));
        let (tx, rx) = mpsc::channel();
        let stdout = child.stdout.take().expect("piped");
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(VecDeque::new()));
        let (lines, name, pipe) = (stderr.clone(), target.name.clone(), child.stderr.take().expect("piped"));
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                tracing::info!("host {name}: {line}");
                let mut lines = lines.lock();
                lines.push_back(line);
                if lines.len() > 20 {
                    lines.pop_front();
                }
            }
        });
        let heartbeat = heartbeat(writer.clone(), target.lease);
        let client = HostClient {
            target,
            writer,
            replies: Mutex::new(rx),
            child: Mutex::new(child),
            stderr,
            _heartbeat: heartbeat,
        };
        match client.ask(&Request::Hello { version: VERSION, allow }, HELLO_TIMEOUT) {
            Ok(r) if r.ok => Ok(client),
            Ok(r) => Err(ConnectError {
                what: format!("the agent on host {} refused the session: {}", client.target.name, r.detail),
                fix: "see above".into(),
            }),
            Err(_) => Err(client.diagnose()),
        }
    }

    /// Send `request` and wait for its reply; `Err` when the agent is gone or silent.
    pub fn request(&self, request: &Request) -> Result<Reply, String> {
        self.ask(request, REPLY_TIMEOUT).map_err(|()| {
            let e = self.diagnose();
            format!("{}; fix: {}", e.what, e.fix)
        })
    }

    fn ask(&self, request: &Request, timeout: Duration) -> Result<Reply, ()> {
        let replies = self.replies.lock();
        let line = serde_json::to_string(request).map_err(drop)?;
        writeln!(self.writer.lock(), "{line}").map_err(drop)?;
        let reply = replies.recv_timeout(timeout).map_err(drop)?;
        serde_json::from_str(&reply).map_err(drop)
    }

    /// Why the session ended, from ssh's exit status and its last words.
    fn diagnose(&self) -> ConnectError {
        let status = {
            let mut child = self.child.lock();
            let deadline = std::time::Instant::now() + Duration::from_secs(2);
            loop {
                match child.try_wait() {
                    Ok(Some(s)) => break s.code(),
                    _ if std::time::Instant::now() >= deadline => break None,
                    _ => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        };
        std::thread::sleep(Duration::from_millis(50));
        let said = self.stderr.lock().iter().cloned().collect::<Vec<_>>().join(" | ");
        let (t, ssh) = (&self.target, self.target.describe());
        let (what, fix) =
            if said.contains("Host key verification failed") || said.contains("IDENTIFICATION HAS CHANGED") {
                (
                    format!("the host key of {} is unknown or changed ({ssh})", t.name),
                    "check the key's fingerprint with the host's owner, then add it to known_hosts (e.g. \
                 `ssh-keyscan -p PORT HOST >> ~/.ssh/known_hosts`); the harness never accepts an unverified key"
                        .to_owned(),
                )
            } else if status == Some(127) || said.contains("not found") || said.contains("No such file") {
                (
                    format!("`{}` is not on host {} ({said})", t.binary, t.name),
                    "install the harness's spacetime-drill version there and set `spacetime_drill` to its path, or \
                 set `upload = true`"
                        .to_owned(),
                )
            } else if status == Some(255) {
                (
                    format!("cannot reach or log in to host {} with `{ssh}`: {said}", t.name),
                    format!("make `{ssh} true` work without a prompt (address, port, key, ssh-agent)"),
                )
            } else {
                (format!("the agent on host {} ended (exit {status:?}): {said}", t.name), "see its output above".into())
            };
        ConnectError { what, fix }
    }
}

impl HostLink for HostClient {
    fn rollback(&self, fault: &str) -> Result<String, String> {
        match self.request(&Request::Rollback { name: fault.into() })? {
            r if r.ok => Ok(r.detail),
            r => Err(r.detail),
        }
    }
}

impl Drop for HostClient {
    /// Say bye (the agent rolls back what is left and exits), then end the ssh child and its group, and remove an
    /// uploaded binary.
    fn drop(&mut self) {
        let _ = self.ask(&Request::Bye, Duration::from_secs(10));
        let mut child = self.child.lock();
        let _ =
            nix::sys::signal::killpg(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::Signal::SIGKILL);
        let _ = child.wait();
        if self.target.upload {
            // The copy is needed by a replay after a crash, so it goes only once everything is rolled back.
            remove_upload(&self.target);
        }
    }
}

/// Remove the uploaded copy `target.binary` from the host.
pub(super) fn remove_upload(target: &SshTarget) {
    let rm = format!("rm -f {}", shlex::try_quote(&target.binary).unwrap_or_default());
    let _ = target.command(&rm).stdin(Stdio::null()).output();
}

/// Renew the lease ten times per lease (at most every second) until the returned sender drops.
fn heartbeat(writer: Arc<Mutex<ChildStdin>>, lease: Duration) -> mpsc::Sender<()> {
    let (tx, rx) = mpsc::channel::<()>();
    let every = (lease / 10).clamp(Duration::from_millis(50), Duration::from_secs(1));
    let line = serde_json::to_string(&Request::Heartbeat).expect("serializable");
    std::thread::spawn(move || {
        while rx.recv_timeout(every) == Err(RecvTimeoutError::Timeout) {
            if writeln!(writer.lock(), "{line}").is_err() {
                break;
            }
        }
    });
    tx
}

/// Copy the running binary to a fresh temp file on the host; returns its path there.
pub(super) fn upload(target: &SshTarget) -> Result<String, ConnectError> {
    let fail = |what: String| ConnectError {
        what: format!("uploading spacetime-drill to host {}: {what}", target.name),
        fix: format!("make `{} true` work and /tmp writable there, or install it and set `spacetime_drill`", {
            target.describe()
        }),
    };
    let exe = std::env::current_exe().map_err(|e| fail(e.to_string()))?;
    let file = std::fs::File::open(&exe).map_err(|e| fail(e.to_string()))?;
    let script = "f=$(mktemp /tmp/spacetime-drill.XXXXXX) && cat > \"$f\" && chmod 700 \"$f\" && echo \"$f\"";
    let out = target.command(script).stdin(file).output().map_err(|e| fail(e.to_string()))?;
    let path = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    if !out.status.success() || path.is_empty() {
        return Err(fail(String::from_utf8_lossy(&out.stderr).trim().to_owned()));
    }
    Ok(path)
}
