//! The kinds that act on the simulator itself, injected on a real one through the [`Injector`]: the symptom shows
//! through the API or telemetry while held, and after rollback the simulator is healthy and every touched file is
//! byte-identical (compared by SHA-256).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use spacetime_drill::fault::frame_work::FrameWorkSpec;
use spacetime_drill::fault::key_rotation::KeyRotationSpec;
use spacetime_drill::fault::memory_leak::MemoryLeakSpec;
use spacetime_drill::fault::proxy::{NetworkSpec, Proxy};
use spacetime_drill::fault::restore::sha256_file;
use spacetime_drill::fault::runner::Planned;
use spacetime_drill::fault::scene::{SceneAction, SceneSpec};
use spacetime_drill::fault::{
    Allow, FaultContext, FaultSpec, Injector, ProxyHandle, SimResources, TargetHost, ensure_clean,
};
use spacetime_sim::launch::SimProcess;

use super::EXE;
use crate::support::{Telemetry, get, post, request, rss_bytes, sim, sim_with, wait_for};

/// A context for faults against `s`, as the run fills it for its embedded simulator.
pub fn sim_ctx(s: &SimProcess, secret: Option<PathBuf>) -> FaultContext {
    let target = TargetHost { host: "127.0.0.1".into(), http_port: s.ports.http };
    let sim = SimResources::new(&s.ports, s.data_dir.clone(), s.project_dir.clone(), secret);
    FaultContext { sim: Some(sim), ..FaultContext::new(EXE.into(), Allow::default(), target) }
}

pub fn injector_with(dir: &Path, ctx: FaultContext, faults: Vec<(&str, FaultSpec)>) -> Injector {
    let planned = faults
        .into_iter()
        .map(|(name, spec)| Planned { name: name.into(), fault: spec.build(), ttl: Duration::from_secs(600) })
        .collect();
    let inj = Injector::new(ensure_clean(&dir.join("journal.jsonl")).unwrap(), ctx, planned, false);
    inj.preflight_all().unwrap();
    inj
}

/// SHA-256 of every file under `dir` (a leftover backup shows up as an extra entry).
pub fn tree_hashes(dir: &Path) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    let mut todo = vec![dir.to_owned()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap().map(Result::unwrap) {
            if e.file_type().unwrap().is_dir() {
                todo.push(e.path());
            } else {
                out.insert(e.path(), sha256_file(&e.path()).unwrap().unwrap());
            }
        }
    }
    out
}

pub fn scene_spec(action: SceneAction, dependency: Option<&str>) -> FaultSpec {
    let (scene, dependency) = ("res://vr_main.tscn".into(), dependency.map(str::to_owned));
    FaultSpec::Scene(SceneSpec { scene, action, dependency, project_dir: None })
}

#[test]
fn scene_actions_fail_loads_as_the_runbook_says_and_rollback_restores_every_byte() {
    let s = sim(Default::default());
    let dir = tempfile::tempdir().unwrap();
    let load = || post(s.ports.http, "/scene/load", &json!({ "scene_path": "res://vr_main.tscn" }).to_string());
    let before = tree_hashes(&s.project_dir);
    let dep = "res://scripts/vr_setup.gd";
    let faults = vec![
        ("rename", scene_spec(SceneAction::Rename, None)),
        ("garbage", scene_spec(SceneAction::Garbage, None)),
        ("dep", scene_spec(SceneAction::RemoveDependency, Some(dep))),
    ];
    let inj = injector_with(dir.path(), sim_ctx(&s, None), faults);
    for (name, status, says) in [
        ("rename", 404, "Scene file not found: res://vr_main.tscn"),
        ("garbage", 500, "is corrupt"),
        ("dep", 500, "missing dependency res://scripts/vr_setup.gd"),
    ] {
        assert_eq!(load().status, 200);
        inj.inject(name).unwrap();
        let r = load();
        assert!(r.status == status && r.raw.contains(says), "{name}: {} {}", r.status, r.raw);
        inj.rollback(name).unwrap();
        assert_eq!(tree_hashes(&s.project_dir), before, "{name}: the project is byte-identical");
        assert_eq!(load().status, 200, "{name}: loads again");
    }
    assert!(!inj.journal_dirty());
}

fn mint(secret: &Path) -> String {
    let out = Command::new(EXE).args(["sim", "token", "--ttl", "10m", "--secret-file"]).arg(secret).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn key_rotation_refuses_old_tokens_on_every_route_until_rollback() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("jwt.secret");
    std::fs::write(&secret, "first-secret\n").unwrap();
    let s = sim_with(&["--jwt-secret-file", secret.to_str().unwrap()]);
    let before = sha256_file(&secret).unwrap();
    let token = mint(&secret);
    let p = s.ports.http;
    let routes = [("GET", "/status", ""), ("POST", "/connect", "{}"), ("POST", "/scene/load", "{}"), ("GET", "/x", "")];
    let statuses = || routes.map(|(m, path, b)| request(p, m, path, Some(b), Some(&token)).unwrap().status);
    assert!(statuses().iter().all(|s| *s != 401));
    let spec = FaultSpec::KeyRotation(KeyRotationSpec { secret_file: None });
    let inj = injector_with(dir.path(), sim_ctx(&s, Some(secret.clone())), vec![("rotate", spec)]);
    inj.inject("rotate").unwrap();
    wait_for(2, "the old token refused", || (statuses() == [401; 4]).then_some(()));
    inj.rollback("rotate").unwrap();
    assert_eq!(sha256_file(&secret).unwrap(), before, "the secret is byte-identical");
    wait_for(2, "the old token accepted", || {
        (request(p, "GET", "/status", None, Some(&token)).unwrap().status == 200).then_some(())
    });
    assert!(statuses().iter().all(|s| *s != 401));
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(names.iter().all(|n| !n.to_string_lossy().contains("spacetime-drill")), "a backup is left: {names:?}");
}

fn knob(s: &SimProcess, name: &str) -> serde_json::Value {
    get(s.ports.http, "/__sim/knobs").body[name].clone()
}

#[test]
fn memory_leak_grows_rss_while_held_and_is_refused_without_the_simulator() {
    const MIB: u64 = 1024 * 1024;
    let s = sim(Default::default());
    let dir = tempfile::tempdir().unwrap();
    let spec = FaultSpec::MemoryLeak(MemoryLeakSpec { bytes_per_request: MIB });
    let e = spec.build().preflight(&super::ctx(Allow::default())).unwrap_err().to_string();
    assert!(e.contains("memory_leak") && e.contains("embedded simulator") && e.contains("fix:"), "{e}");
    let inj = injector_with(dir.path(), sim_ctx(&s, None), vec![("leak", spec)]);
    inj.inject("leak").unwrap();
    let before = rss_bytes(s.ports.pids.bridge);
    for _ in 0..64 {
        assert_eq!(get(s.ports.http, "/status").status, 200);
    }
    let grown = rss_bytes(s.ports.pids.bridge) - before;
    assert!(grown >= 56 * MIB, "RSS grew only {} MiB for 64 MiB leaked", grown / MIB);
    inj.rollback("leak").unwrap();
    assert_eq!(knob(&s, "leak_bytes_per_request"), json!(0));
}

#[test]
fn frame_work_drops_fps_below_85_while_held() {
    let s = sim(Default::default());
    let dir = tempfile::tempdir().unwrap();
    let mut t = Telemetry::connect(&s.telemetry_url());
    t.until(10, "fps at rest", |m| m["data"]["fps"].as_f64().filter(|f| *f >= 85.0));
    let spec = FaultSpec::FrameWork(FrameWorkSpec { ms: 20.0 });
    let inj = injector_with(dir.path(), sim_ctx(&s, None), vec![("slow", spec)]);
    inj.inject("slow").unwrap();
    t.until(10, "fps below 85", |m| m["data"]["fps"].as_f64().filter(|f| *f < 85.0));
    inj.rollback("slow").unwrap();
    assert_eq!(knob(&s, "frame_work_ms"), json!(0.0));
    t.until(10, "fps recovered", |m| m["data"]["fps"].as_f64().filter(|f| *f >= 85.0));
}

#[test]
fn network_latency_through_the_runs_proxy_until_rollback() {
    let s = sim(Default::default());
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let upstream = ([127, 0, 0, 1], s.ports.http).into();
    let proxy = Arc::new(rt.block_on(Proxy::start(([127, 0, 0, 1], 0).into(), upstream)).unwrap());
    let port = proxy.local_addr().port();
    let mut ctx = sim_ctx(&s, None);
    ctx.proxy = Some(ProxyHandle::new(&proxy));
    let spec = FaultSpec::Network(NetworkSpec { latency: Some(Duration::from_millis(300)), ..Default::default() });
    let inj = injector_with(dir.path(), ctx, vec![("slow-net", spec)]);
    let timed = || {
        let t = Instant::now();
        assert_eq!(request(port, "GET", "/status", None, None).unwrap().status, 200);
        t.elapsed()
    };
    inj.inject("slow-net").unwrap();
    let held = timed();
    assert!(held >= Duration::from_millis(300), "{held:?}");
    inj.rollback("slow-net").unwrap();
    let best = (0..3).map(|_| timed()).min().unwrap();
    assert!(best < Duration::from_millis(50), "{best:?}");
    rt.block_on(Arc::into_inner(proxy).unwrap().shutdown());
}
