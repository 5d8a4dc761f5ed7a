//! Diagnostics on stderr: no colour codes in a pipe or a file, none on a terminal with `NO_COLOR` set (the terminal
//! is a real one, tmux's, so the check can see colour when it is there), and JSON lines with `--log-format json`.
//! The logging process is the debug adapter (`sim dap`), which logs one INFO line once it listens.

use std::path::Path;
use std::process::{Child, Command, Stdio};

use crate::support::{EXE, wait_for};

/// `sim dap` logging at INFO with `extra` flags, stderr into `stderr`; killed when the returned guard drops.
struct Dap(Child);

impl Drop for Dap {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn dap_args(dir: &Path) -> Vec<String> {
    let port_file = dir.join("port");
    ["--log", "info", "sim", "dap", "--port", "0", "--project-dir"]
        .iter()
        .map(|s| s.to_string())
        .chain([dir.display().to_string(), "--port-file".into(), port_file.display().to_string()])
        .collect()
}

/// The debug adapter's stderr, written to a file, once its "listening" line is there.
fn logged_to_file(extra: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let stderr = dir.path().join("stderr");
    let child = Command::new(EXE)
        .args(extra)
        .args(dap_args(dir.path()))
        .env_remove("NO_COLOR")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&stderr).unwrap())
        .spawn()
        .unwrap();
    let _dap = Dap(child);
    wait_for(20, "the debug adapter's log line", || {
        std::fs::read_to_string(&stderr).ok().filter(|t| t.contains("listening"))
    })
}

#[test]
fn logs_written_to_a_file_have_no_escape_codes() {
    let text = logged_to_file(&[]);
    assert!(text.contains("INFO") && text.contains("debug adapter listening"), "{text}");
    assert!(!text.contains('\x1b'), "escape codes in a file: {text:?}");
}

#[test]
fn log_format_json_writes_one_json_object_per_line() {
    let text = logged_to_file(&["--log-format", "json"]);
    let line = text.lines().find(|l| l.contains("listening")).unwrap();
    let v: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
    assert_eq!(v["level"], "INFO", "{v}");
    assert_eq!(v["fields"]["message"], "debug adapter listening", "{v}");
    assert!(v["timestamp"].is_string(), "{v}");
}

/// The debug adapter in a tmux pane (a real terminal), and the pane's screen with its colour attributes as escape
/// codes (`capture-pane -e`). The tmux server is private to this call and killed with the adapter.
fn screen_in_tmux(no_color: bool) -> String {
    let dir = tempfile::tempdir().unwrap();
    let socket = format!("spacetime-drill-test-{}-{no_color}", std::process::id());
    let tmux = |args: &[&str]| {
        Command::new("tmux").arg("-L").arg(&socket).args(args).output().expect("tmux runs (.ci/run installs it)")
    };
    let env = if no_color { "env NO_COLOR=1" } else { "env -u NO_COLOR" };
    let line = format!("{env} {EXE} {}", dap_args(dir.path()).join(" "));
    let started = tmux(&["new-session", "-d", "-x", "200", "-y", "20", &line]);
    assert!(started.status.success(), "{}", String::from_utf8_lossy(&started.stderr));
    struct Server<'a>(&'a dyn Fn(&[&str]) -> std::process::Output);
    impl Drop for Server<'_> {
        fn drop(&mut self) {
            (self.0)(&["kill-server"]);
        }
    }
    let _server = Server(&tmux);
    wait_for(20, "the log line on the tmux screen", || {
        let shot = tmux(&["capture-pane", "-p", "-e"]);
        let text = String::from_utf8_lossy(&shot.stdout).into_owned();
        text.contains("listening").then_some(text)
    })
}

#[test]
fn a_terminal_shows_colour_unless_no_color_is_set() {
    let coloured = screen_in_tmux(false);
    assert!(coloured.contains("\x1b["), "a terminal without NO_COLOR gets colour (else this check sees nothing)");
    let plain = screen_in_tmux(true);
    assert!(plain.contains("debug adapter listening"), "{plain}");
    assert!(!plain.contains('\x1b'), "NO_COLOR=1 on a terminal: {plain:?}");
}
