//! The HTML report opened in headless Chromium: it renders, shows the verdict and the SVG charts, loads nothing
//! from the network; a screenshot is kept under `target/` as a CI artifact.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use spacetime_drill::report::render_html;

use super::fixture::{drill_report, render};

/// A child in its own process group, killed with the group when dropped (Chromium forks helpers).
struct Group(std::process::Child);

impl Drop for Group {
    fn drop(&mut self) {
        let pgid = nix::unistd::Pid::from_raw(self.0.id() as i32);
        let _ = nix::sys::signal::killpg(pgid, nix::sys::signal::Signal::SIGKILL);
        let _ = self.0.wait();
    }
}

fn chromium() -> Option<PathBuf> {
    ["chromium", "chromium-browser"].iter().find_map(|name| {
        let ok = Command::new(name).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status();
        ok.is_ok_and(|s| s.success()).then(|| PathBuf::from(name))
    })
}

/// Run headless Chromium on `page` with `extra` flags; `(stdout, stderr)` once it exits (at most 120 s).
fn headless(exe: &Path, page: &Path, extra: &[String]) -> (String, String) {
    let profile = tempfile::tempdir().unwrap();
    let out = tempfile::NamedTempFile::new().unwrap();
    let err = tempfile::NamedTempFile::new().unwrap();
    let mut cmd = Command::new(exe);
    cmd.args(["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"])
        .args(["--disable-background-networking", "--disable-component-update", "--disable-sync"])
        .args(["--enable-logging=stderr", "--window-size=1280,2400"])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(out.reopen().unwrap())
        .stderr(err.reopen().unwrap());
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut child = Group(cmd.spawn().expect("chromium starts"));
    let deadline = Instant::now() + Duration::from_secs(120);
    while child.0.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "chromium did not finish within 120 s");
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(child);
    let read = |f: &tempfile::NamedTempFile| std::fs::read_to_string(f.path()).unwrap();
    (read(&out), read(&err))
}

#[test]
fn the_html_report_renders_in_headless_chromium() {
    let drill = drill_report();
    let html = render(render_html, &drill);
    // Self-contained: no scripts, no external resources of any kind.
    for external in ["<script", " src=", "href=", "@import", "url("] {
        assert!(!html.contains(external), "{external:?} in the page");
    }
    assert!(html.matches("<svg").count() >= 5, "charts inline");
    assert!(html.contains("fault: dap-down"), "fault window labelled on the charts");

    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("reports-html");
    std::fs::create_dir_all(&dir).unwrap();
    let page = dir.join("report.html");
    std::fs::write(&page, &html).unwrap();
    let Some(exe) = chromium() else {
        println!("SKIPPED: chromium is not installed (apt-get install chromium); the page is at {}", page.display());
        return;
    };
    let (dom, err) = headless(&exe, &page, &["--dump-dom".into()]);
    assert!(dom.contains("id=\"verdict\"") && dom.contains("FAIL: high_error_rate P1"), "verdict missing:\n{err}");
    assert!(dom.contains("<svg"), "no chart in the DOM");
    assert!(dom.contains("p95 latency per endpoint") && dom.contains("Event timeline"));
    assert!(!err.contains("Uncaught") && !err.contains("net::ERR_"), "page errors:\n{err}");

    let shot = dir.join("report.png");
    let _ = std::fs::remove_file(&shot);
    headless(&exe, &page, &[format!("--screenshot={}", shot.display())]);
    let png = std::fs::read(&shot).expect("screenshot written");
    assert!(png.starts_with(b"\x89PNG") && png.len() > 20_000, "a real screenshot, {} bytes", png.len());
    println!("screenshot (CI artifact): {}", shot.display());
}
