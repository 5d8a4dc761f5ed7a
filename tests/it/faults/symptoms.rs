//! The kinds whose effect is not the simulator's own state (a flood, busy threads, operator commands), injected on
//! a real simulator through the [`Injector`]: the symptom shows through the API (or, for a CPU hog, on the host, as
//! the runbook's Incident 3 step 2 checks it), and after rollback the API answers again.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use spacetime_drill::fault::FaultSpec;
use spacetime_drill::fault::connection_flood::ConnectionFloodSpec;
use spacetime_drill::fault::cpu_hog::CpuHogSpec;
use spacetime_drill::fault::exec::ExecSpec;
use spacetime_drill::fault::service::ServiceSpec;
use spacetime_sim::launch::SimOptions;

use super::sim_kinds::{injector_with, sim_ctx, tree_hashes};
use crate::support::{post, request, sim, wait_for};

/// `GET /status` on a fresh connection with a short read timeout: `Some(status)`, or `None` when the server
/// closed without answering or did not answer in time.
fn status_within(port: u16, timeout: Duration) -> Option<u16> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(timeout)).ok()?;
    s.write_all(b"GET /status HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").ok()?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).ok()?;
    String::from_utf8_lossy(&buf).split(' ').nth(1)?.parse().ok()
}

#[test]
fn a_connection_flood_drops_new_clients_until_it_is_rolled_back() {
    let s = sim(SimOptions::default());
    let dir = tempfile::tempdir().unwrap();
    let spec = FaultSpec::ConnectionFlood(ConnectionFloodSpec { connections: 100 });
    let inj = injector_with(dir.path(), sim_ctx(&s, None), vec![("flood", spec)]);
    inj.inject("flood").unwrap();
    // The holder opens its connections in the background; once all 100 are in, a new client gets no answer.
    wait_for(10, "a new client dropped without a response", || {
        request(s.ports.http, "GET", "/status", None, None).is_err().then_some(())
    });
    inj.rollback("flood").unwrap();
    wait_for(10, "a new client answered again", || {
        status_within(s.ports.http, Duration::from_secs(2)).filter(|c| *c == 200)
    });
}

#[test]
fn exec_runs_its_commands_and_the_scene_they_move_comes_back() {
    let s = sim(SimOptions::default());
    let dir = tempfile::tempdir().unwrap();
    let scene = s.project_dir.join("vr_main.tscn");
    let away = dir.path().join("vr_main.tscn.away");
    let before = tree_hashes(&s.project_dir);
    let spec = FaultSpec::Exec(ExecSpec {
        inject: format!("mv {} {}", scene.display(), away.display()),
        rollback: format!("mv {} {}", away.display(), scene.display()),
    });
    let inj = injector_with(dir.path(), sim_ctx(&s, None), vec![("exec", spec)]);
    inj.inject("exec").unwrap();
    assert_eq!(post(s.ports.http, "/scene/load", r#"{"scene_path":"res://vr_main.tscn"}"#).status, 404);
    inj.rollback("exec").unwrap();
    assert_eq!(post(s.ports.http, "/scene/load", r#"{"scene_path":"res://vr_main.tscn"}"#).status, 200);
    assert_eq!(tree_hashes(&s.project_dir), before, "the project is byte-identical");
    let events = inj.take_events();
    assert!(events.iter().any(|e| e.detail.contains("mv ")), "the commands are in the event log: {events:?}");
}

#[test]
fn a_service_stop_hangs_the_api_and_its_start_brings_it_back() {
    let s = sim(SimOptions::default());
    let dir = tempfile::tempdir().unwrap();
    let pid = s.ports.pids.bridge;
    // What `systemctl stop`/`start` would be for a real deployment; here the bridge is frozen and thawed.
    let spec =
        FaultSpec::Service(ServiceSpec { stop: format!("kill -STOP {pid}"), start: format!("kill -CONT {pid}") });
    let inj = injector_with(dir.path(), sim_ctx(&s, None), vec![("service", spec)]);
    inj.inject("service").unwrap();
    assert_eq!(status_within(s.ports.http, Duration::from_millis(800)), None, "a stopped service answers nothing");
    inj.rollback("service").unwrap();
    assert_eq!(status_within(s.ports.http, Duration::from_secs(5)), Some(200));
}

/// Busy share of all CPUs over `window`, from /proc/stat (what `top`'s Cpu line shows).
fn cpu_busy_pct(window: Duration) -> f64 {
    let sample = || {
        let stat = std::fs::read_to_string("/proc/stat").unwrap();
        let cpu: Vec<u64> =
            stat.lines().next().unwrap().split_whitespace().skip(1).map(|v| v.parse().unwrap()).collect();
        let idle = cpu[3] + cpu[4];
        (cpu.iter().sum::<u64>(), idle)
    };
    let (t0, i0) = sample();
    std::thread::sleep(window);
    let (t1, i1) = sample();
    100.0 * (1.0 - (i1 - i0) as f64 / (t1 - t0).max(1) as f64)
}

#[test]
fn a_cpu_hog_keeps_every_core_busy_while_held() {
    let s = sim(SimOptions::default());
    let dir = tempfile::tempdir().unwrap();
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get()) as u32;
    let spec = FaultSpec::CpuHog(CpuHogSpec { threads: cores });
    let inj = injector_with(dir.path(), sim_ctx(&s, None), vec![("hog", spec)]);
    inj.inject("hog").unwrap();
    let started = Instant::now();
    let busy = cpu_busy_pct(Duration::from_secs(1));
    inj.rollback("hog").unwrap();
    assert!(busy >= 80.0, "the runbook's 'High CPU usage (> 80%)': measured {busy:.0} %");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(status_within(s.ports.http, Duration::from_secs(5)), Some(200), "the API answers after the hog");
}
