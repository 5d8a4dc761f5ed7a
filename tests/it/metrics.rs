//! Live metrics (issue 14): a real Prometheus (Debian's `prometheus`, started here on a free loopback port with its
//! own TSDB in a temporary directory, killed with its process group on drop) scrapes a drill and receives its
//! remote writes (over HTTP, and over HTTPS to a Prometheus serving TLS); the dashboard is checked against a real
//! exposition; bad input fails as documented.

mod bad_input;
mod dashboard;
mod prometheus;
mod remote_write_tls;
mod sim_metrics;

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_spacetime-drill")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Start `spacetime-drill ARGS` with a private journal, in the repository.
fn spawn_run(args: &[&str], journal: &Path) -> Child {
    Command::new(bin())
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("SPACETIME_DRILL_JOURNAL", journal.join("journal.jsonl"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs")
}

fn wait_run(child: Child) -> Output {
    child.wait_with_output().expect("the run ends")
}

fn read_report(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).expect("report.json")).unwrap()
}

/// `GET http://127.0.0.1:port/path` with the body as text (`None`: nothing answered).
fn http_get(port: u16, path: &str) -> Option<String> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(s, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").ok()?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).ok()?;
    let text = String::from_utf8_lossy(&buf).into_owned();
    let (head, body) = text.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.1 200").then(|| body.to_owned())
}

/// Poll `f` every 100 ms until it returns `Some`, or panic naming `what`.
fn eventually<T>(within: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out after {within:?} waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A Prometheus server a test owns: its own TSDB and files in a temporary directory, its remote-write receiver on,
/// its process group killed when dropped.
struct PromServer {
    port: u16,
    child: Child,
    _dir: tempfile::TempDir,
}

impl PromServer {
    /// `prometheus` on a free loopback port, in its directory with `files` (`prometheus.yml` among them) written
    /// there first, so `extra` flags name them relatively.
    fn spawn(files: &[(&str, &str)], extra: &[&str]) -> PromServer {
        use std::os::unix::process::CommandExt;
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        let port = free_port();
        // The remote-write receiver flag of Prometheus 2.33-2.x (Debian 12 ships 2.42; see `prometheus --help`).
        let child = Command::new("prometheus")
            .current_dir(dir.path())
            .arg(format!("--config.file={}", dir.path().join("prometheus.yml").display()))
            .arg(format!("--storage.tsdb.path={}", dir.path().join("data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .args(["--web.enable-remote-write-receiver", "--log.level=warn"])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("prometheus runs (apt-get install prometheus)");
        PromServer { port, child, _dir: dir }
    }
}

impl Drop for PromServer {
    fn drop(&mut self) {
        use nix::sys::signal::{Signal, killpg};
        let _ = killpg(nix::unistd::Pid::from_raw(self.child.id() as i32), Signal::SIGKILL);
        let _ = self.child.wait();
    }
}
