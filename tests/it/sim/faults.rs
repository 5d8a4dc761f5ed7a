//! Issue 2, "It must fail for real", items 2-8: each fault happens to real processes, files and sockets.
//! (Item 1, the killed DAP, is in `killed_dap.rs`.)

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::json;
use spacetime_sim::launch::SimOptions;

use crate::support::{EXE, Telemetry, get, post, request, rss_bytes, sim, sim_with, wait_for};

#[test]
fn http_port_taken_falls_back_to_8083_and_the_taken_port_answers_nothing() {
    // The test holds the configured port (listening, never accepting), as another process holding 8080 would.
    let holder = TcpListener::bind("127.0.0.1:0").unwrap();
    let held = holder.local_addr().unwrap().port();
    let s = sim(SimOptions { http_port: Some(held), ..Default::default() });
    // 8083 unless something else on this shared machine holds it too; the fallback list is fixed.
    assert!([8083, 8084, 8085].contains(&s.ports.http), "fell back to {}", s.ports.http);
    assert_eq!(get(s.ports.http, "/status").status, 200);
    let said = format!("port {held} is in use, listening on fallback port {}", s.ports.http);
    assert!(s.stderr().contains(&said), "stderr says so: {}", s.stderr());
    let log = std::fs::read_to_string(s.data_dir.join("logs/spacetime.log")).unwrap();
    assert!(log.contains(&said), "the data-dir log says so: {log}");
    // A client of the held port connects (the kernel queues it) but never gets an answer.
    let mut c = TcpStream::connect(("127.0.0.1", held)).unwrap();
    c.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
    c.write_all(b"GET /status HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let err = c.read(&mut [0u8; 64]).expect_err("no answer on the held port");
    assert!(matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut), "{err}");
}

/// A small tmpfs, unmounted on drop (even when the test fails).
struct Tmpfs(PathBuf, #[allow(dead_code)] tempfile::TempDir);

impl Tmpfs {
    fn mount(size: &str) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data");
        std::fs::create_dir(&path).unwrap();
        let ok =
            Command::new("mount").args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"]).arg(&path).status();
        ok.is_ok_and(|s| s.success()).then(|| Tmpfs(path, dir))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Write a ballast file until the filesystem refuses.
fn fill(dir: &Path) -> PathBuf {
    let path = dir.join("ballast");
    let mut f = std::fs::File::create(&path).unwrap();
    let chunk = vec![0x5Au8; 16 * 1024];
    for _ in 0..100_000 {
        match f.write(&chunk) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.raw_os_error() == Some(libc::ENOSPC) => break,
            Err(e) => panic!("filling {}: {e}", dir.display()),
        }
    }
    path
}

#[test]
fn full_data_disk_fails_scene_loads_until_space_is_freed() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipped: mounting a tmpfs needs root");
        return;
    }
    let Some(fs) = Tmpfs::mount("1m") else {
        eprintln!("skipped: cannot mount a tmpfs here");
        return;
    };
    let s = sim(SimOptions { data_dir: Some(fs.0.clone()), ..Default::default() });
    assert_eq!(post(s.ports.http, "/scene/load", "").status, 200, "works before the disk fills");
    let ballast = fill(&fs.0);
    let r = post(s.ports.http, "/scene/load", r#"{"scene_path":"res://scenes/player.tscn"}"#);
    assert_eq!(r.status, 500, "{}", r.raw);
    let msg = r.body["message"].as_str().unwrap();
    assert!(msg.starts_with("Scene load failed: ") && msg.contains("No space left on device"), "{msg}");
    std::fs::remove_file(ballast).unwrap();
    let r = post(s.ports.http, "/scene/load", r#"{"scene_path":"res://scenes/player.tscn"}"#);
    assert_eq!(r.status, 200, "works again once space is freed: {}", r.raw);
}

#[test]
fn renamed_corrupt_and_incomplete_scenes_fail_like_the_engine() {
    let s = sim(Default::default());
    let p = s.ports.http;
    let load = |scene: &str| post(p, "/scene/load", &json!({ "scene_path": scene }).to_string());
    let main = s.project_dir.join("vr_main.tscn");
    std::fs::rename(&main, s.project_dir.join("vr_main.tscn.bak")).unwrap();
    let r = load("res://vr_main.tscn");
    assert_eq!((r.status, r.body["message"].as_str()), (404, Some("Scene file not found: res://vr_main.tscn")));
    std::fs::rename(s.project_dir.join("vr_main.tscn.bak"), &main).unwrap();
    assert_eq!(load("res://vr_main.tscn").status, 200);

    std::fs::write(s.project_dir.join("scenes/space_station.tscn"), b"\x00\xffPK garbage\n[[[").unwrap();
    let r = load("res://scenes/space_station.tscn");
    assert_eq!(r.status, 500, "{}", r.raw);
    assert!(r.body["message"].as_str().unwrap().starts_with("Scene load failed: "), "{}", r.raw);

    std::fs::remove_file(s.project_dir.join("scripts/vr_setup.gd")).unwrap();
    let r = load("res://vr_main.tscn");
    assert_eq!(r.status, 500);
    assert!(r.body["message"].as_str().unwrap().contains("res://scripts/vr_setup.gd"), "names it: {}", r.raw);
}

fn mint(secret: &Path, extra: &[&str]) -> String {
    let out = Command::new(EXE).args(["sim", "token", "--secret-file"]).arg(secret).args(extra).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn rotated_secret_invalidates_old_tokens_on_every_route() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("jwt.secret");
    std::fs::write(&secret, "first-secret\n").unwrap();
    let s = sim_with(&["--jwt-secret-file", secret.to_str().unwrap()]);
    let p = s.ports.http;
    let routes = [
        ("GET", "/status", ""),
        ("POST", "/connect", "{}"),
        ("POST", "/scene/load", "{}"),
        ("POST", "/debug/evaluate", r#"{"expression":"player.health"}"#),
        ("POST", "/lsp/completion", r#"{"textDocument":{"uri":"file:///a.gd"},"position":{"line":0,"character":0}}"#),
        ("POST", "/disconnect", "{}"),
        ("GET", "/nowhere", ""),
    ];
    let unauthorized = json!({"error":"Unauthorized","message":"Missing or invalid authentication token",
                              "details":"Include 'Authorization: Bearer <token>' header"});
    let all = |token: Option<&str>| routes.map(|(m, path, b)| request(p, m, path, Some(b), token).unwrap());
    for r in all(None) {
        assert_eq!((r.status, &r.body), (401, &unauthorized));
    }
    let old = mint(&secret, &[]);
    for r in all(Some(&old)) {
        assert_ne!(r.status, 401, "{}", r.raw);
    }
    let expired = mint(&secret, &["--expired", "30s"]);
    assert_eq!(request(p, "GET", "/status", None, Some(&expired)).unwrap().status, 401);
    // Rotate the key the way an operator replaces a file: write elsewhere, rename over.
    std::fs::write(dir.path().join("new"), "second-secret").unwrap();
    std::fs::rename(dir.path().join("new"), &secret).unwrap();
    wait_for(2, "the old token refused", || {
        (request(p, "GET", "/status", None, Some(&old)).unwrap().status == 401).then_some(())
    });
    for r in all(Some(&old)) {
        assert_eq!((r.status, &r.body), (401, &unauthorized));
    }
    let new = mint(&secret, &["--ttl", "5m"]);
    assert_eq!(request(p, "GET", "/status", None, Some(&new)).unwrap().status, 200);
}

#[test]
fn the_101st_connection_is_dropped_without_a_response() {
    let s = sim(Default::default());
    let p = s.ports.http;
    let mut idle: Vec<TcpStream> = (0..100).map(|_| TcpStream::connect(("127.0.0.1", p)).unwrap()).collect();
    // Accepted after the 100 idle ones (the accept queue is FIFO), so over the cap.
    let r = request(p, "GET", "/status", None, None);
    assert!(r.is_err(), "dropped without a response: {r:?}");
    drop(idle.pop());
    wait_for(5, "a freed slot", || request(p, "GET", "/status", None, None).ok().map(|r| assert_eq!(r.status, 200)));
}

#[test]
fn leak_knob_grows_resident_memory_and_telemetry_shows_it() {
    const MIB: u64 = 1024 * 1024;
    let s = sim_with(&["--leak-bytes-per-request", &MIB.to_string()]);
    let mut t = Telemetry::connect(&s.telemetry_url());
    let before_mb = t.fps()["memory_usage_mb"].as_f64().unwrap();
    let before = rss_bytes(s.ports.pids.bridge);
    for _ in 0..64 {
        assert_eq!(get(s.ports.http, "/status").status, 200);
    }
    let grown = rss_bytes(s.ports.pids.bridge) - before;
    assert!((56 * MIB..=96 * MIB).contains(&grown), "RSS grew {} MiB for 64 MiB leaked", grown / MIB);
    let after_mb = t.until(5, "memory in fps", |m| {
        let mb = m["data"]["memory_usage_mb"].as_f64()?;
        (m["event"] == "fps" && mb - before_mb >= 56.0).then_some(mb)
    });
    assert!(after_mb - before_mb <= 96.0, "{before_mb} -> {after_mb}");
    // Knob traffic is not API traffic: reading the knobs leaks nothing.
    let leaked = get(s.ports.http, "/__sim/knobs").body["leaked_bytes"].clone();
    assert_eq!(get(s.ports.http, "/__sim/knobs").body["leaked_bytes"], leaked);
    assert_eq!(leaked, json!(64 * MIB));
}

#[test]
fn frame_work_knob_drops_fps_below_85_and_alerts() {
    let s = sim(Default::default());
    let mut t = Telemetry::connect(&s.telemetry_url());
    let rest = t.until(10, "fps at rest", |m| m["data"]["fps"].as_f64().filter(|f| *f >= 85.0));
    assert!(rest <= 95.0, "{rest}");
    let r = post(s.ports.http, "/__sim/knobs", r#"{"frame_work_ms":20}"#);
    assert_eq!(r.status, 200);
    let low = t.until(10, "fps below 85", |m| m["data"]["fps"].as_f64().filter(|f| *f < 85.0));
    assert!(low < 60.0, "20 ms frames run under 50 FPS: {low}");
    t.until(5, "alert", |m| {
        (m["type"] == "alert" && m["level"] == "warning" && m["message"] == "FPS dropped below 85").then_some(())
    });
    post(s.ports.http, "/__sim/knobs", r#"{"frame_work_ms":0}"#);
    t.until(10, "fps recovered", |m| m["data"]["fps"].as_f64().filter(|f| *f >= 85.0));
}
