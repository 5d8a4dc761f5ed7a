//! Start a simulator as a child process and find its ports: for tests, and for `run`'s embedded target.
//!
//! The simulator runs in its own process group, so dropping a [`SimProcess`] kills the bridge and its DAP/LSP
//! children together, whatever state they are in. Its stderr goes to a file ([`SimProcess::stderr`]) so start-up
//! messages (e.g. a port fallback) can be read back.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};

const START_TIMEOUT: Duration = Duration::from_secs(30);

/// The `--ports-file` JSON: `{"http":..,"telemetry":..,"dap":..,"lsp":..,"pids":{"bridge":..,"dap":..,"lsp":..}}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
/// Written once everything listens, so a reader that finds the file can connect at once. Ports are the ones
/// actually bound, after any fallback (8080 taken: 8083, ...), not the ones asked for.
pub struct Ports {
    /// The HTTP API (and the `/__sim/` control routes).
    pub http: u16,
    /// The telemetry WebSocket.
    pub telemetry: u16,
    /// The debug adapter the bridge connects to; a fault that kills DAP restarts it here.
    pub dap: u16,
    /// The language server the bridge connects to.
    pub lsp: u16,
    /// Who to signal for a process fault.
    pub pids: Pids,
}

/// The simulator's three processes, so a fault can kill one for real (`kill -9` the DAP) and check it died. The bridge
/// leads the process group: signalling its group reaches all three.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pids {
    /// The bridge (HTTP, telemetry, the main loop); its death takes DAP and LSP with it (`PR_SET_PDEATHSIG`).
    pub bridge: u32,
    /// The `sim dap` child.
    pub dap: u32,
    /// The `sim lsp` child.
    pub lsp: u32,
}

/// How to start a simulator: where its files go and any extra `sim` flags.
#[derive(Debug, Clone, Default)]
pub struct SimOptions {
    /// Default: a temporary directory owned by the [`SimProcess`].
    pub data_dir: Option<PathBuf>,
    /// HTTP port; default 0 (any free port).
    pub http_port: Option<u16>,
    /// More `sim` flags, e.g. `--jwt-secret-file F` or `--frame-work-ms 20`.
    pub extra_args: Vec<String>,
    /// Where to make the scratch directory (ports file, stderr, default data dir); default: the temp dir. A run puts
    /// it in its run directory, so a killed run's watchdog removes it.
    pub scratch_in: Option<PathBuf>,
}

/// A running simulator, killed with its whole process group when dropped, so no test or run leaves one behind.
pub struct SimProcess {
    /// As of the latest (re)start: a [`SimProcess::restart`] may bind other ports if the first ones are taken.
    pub ports: Ports,
    /// Where every scene load writes its log line and import cache, hence the disk-fill fault's default target; the
    /// same directory across restarts, as a real host's disk.
    pub data_dir: PathBuf,
    /// The generated `res://` root, `<data dir>/project`; scene faults rename, corrupt or delete files here.
    pub project_dir: PathBuf,
    /// The ports of the first start: a restart asks for them again, as a restarted service binds its configured
    /// ports (falling back only if they are taken), so clients of the old URLs find it again.
    first: Wanted,
    child: Child,
    exe: PathBuf,
    opts: SimOptions,
    /// Holds the ports file, the stderr file, and the data dir when none was given.
    scratch: tempfile::TempDir,
}

impl SimProcess {
    /// Start `exe sim ...` (`exe` is a `spacetime-drill` binary) and return once it has written its ports; fails with
    /// its stderr if it exits or stays silent for 30 s.
    pub fn spawn(exe: &Path, opts: &SimOptions) -> anyhow::Result<SimProcess> {
        let scratch = tempfile::Builder::new()
            .prefix("spacetime-sim-launch-")
            .tempdir_in(opts.scratch_in.clone().unwrap_or_else(std::env::temp_dir))?;
        let data_dir = opts.data_dir.clone().unwrap_or_else(|| scratch.path().join("data"));
        let project_dir = data_dir.join("project");
        let wanted = Wanted { http: opts.http_port.unwrap_or(0), ..Wanted::default() };
        let (child, ports) = start(exe, opts, &data_dir, scratch.path(), wanted)?;
        let first = Wanted { http: ports.http, telemetry: ports.telemetry, dap: ports.dap, lsp: ports.lsp };
        Ok(SimProcess {
            ports,
            first,
            data_dir,
            project_dir,
            child,
            exe: exe.to_path_buf(),
            opts: opts.clone(),
            scratch,
        })
    }

    /// Always plain `http://127.0.0.1`: a TLS simulator's URL is built by whoever passed `--tls-cert`.
    pub fn http_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.ports.http)
    }

    /// Always plain `ws://127.0.0.1`, as [`SimProcess::http_url`].
    pub fn telemetry_url(&self) -> String {
        format!("ws://127.0.0.1:{}", self.ports.telemetry)
    }

    /// What the simulator wrote on stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.scratch.path().join("stderr")).unwrap_or_default()
    }

    /// Kill the whole simulator and start it again on the ports it first had (each falls back if it is taken now,
    /// as with a port conflict).
    pub fn restart(&mut self) -> anyhow::Result<()> {
        self.kill();
        let (child, ports) = start(&self.exe, &self.opts, &self.data_dir, self.scratch.path(), self.first)?;
        self.child = child;
        self.ports = ports;
        Ok(())
    }

    fn kill(&mut self) {
        // The group may already be gone; then there is nothing to do.
        let _ = killpg(Pid::from_raw(self.child.id() as i32), Signal::SIGKILL);
        let _ = self.child.wait();
    }
}

impl Drop for SimProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Ports to ask for (0 = any free one).
#[derive(Debug, Clone, Copy, Default)]
struct Wanted {
    http: u16,
    telemetry: u16,
    dap: u16,
    lsp: u16,
}

fn start(
    exe: &Path,
    opts: &SimOptions,
    data_dir: &Path,
    scratch: &Path,
    want: Wanted,
) -> anyhow::Result<(Child, Ports)> {
    let ports_file = scratch.join("ports.json");
    let _ = std::fs::remove_file(&ports_file);
    let stderr = std::fs::File::create(scratch.join("stderr"))?;
    let mut cmd = Command::new(exe);
    cmd.arg("sim")
        .args(["--http-port", &want.http.to_string(), "--telemetry-port", &want.telemetry.to_string()])
        .args(["--dap-port", &want.dap.to_string(), "--lsp-port", &want.lsp.to_string()])
        .arg("--ports-file")
        .arg(&ports_file)
        .arg("--data-dir")
        .arg(data_dir);
    cmd.args(&opts.extra_args).stdin(Stdio::null()).stdout(Stdio::null()).stderr(stderr).process_group(0);
    // An embedded simulator must not outlive a run killed with SIGKILL.
    die_with_parent(&mut cmd);
    let mut child = cmd.spawn().with_context(|| format!("cannot start {}", exe.display()))?;
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        if let Some(ports) = std::fs::read(&ports_file).ok().and_then(|b| serde_json::from_slice(&b).ok()) {
            return Ok((child, ports));
        }
        let failed = match child.try_wait() {
            Ok(Some(status)) => Some(format!("exited with {status}")),
            Ok(None) if Instant::now() > deadline => Some("did not write its ports file within 30 s".into()),
            Ok(None) => None,
            Err(e) => Some(e.to_string()),
        };
        if let Some(why) = failed {
            let _ = killpg(Pid::from_raw(child.id() as i32), Signal::SIGKILL);
            let _ = child.wait();
            let err = std::fs::read_to_string(scratch.join("stderr")).unwrap_or_default();
            anyhow::bail!("the simulator {why}; its stderr:\n{err}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Have the kernel SIGKILL the child when the thread that spawned it dies (`PR_SET_PDEATHSIG`), so no simulator
/// process outlives whoever started it, even one killed with SIGKILL. Spawn from a long-lived thread: the signal
/// follows the spawning *thread*, not the process.
pub fn die_with_parent(cmd: &mut Command) {
    // SAFETY: prctl is async-signal-safe and touches no memory of the parent.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}
