//! Issue 13's acceptance property: scenarios generated across the schema's ranges (edges, one past them, and values
//! in between), and every one `validate` accepts must run. In-process for many (the checked scenario must give a
//! load plan, a timeline that fits an `Instant`, and a fault for every entry), through the real binary for a few
//! (`run --dry-run` with one-second phases must start and exit 0 or 1, never a harness error).

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use arbitrary::Unstructured;
use rand::{Rng, SeedableRng};
use spacetime_drill::load::LoadPlan;
use spacetime_drill::scenario::Scenario;
use spacetime_drill::scenario::limits::*;

use super::super::faults::EXE;

/// A value from `lo..=hi` as a boundary test would pick: an edge, one past an edge, or anything between.
fn pick(u: &mut Unstructured, lo: i128, hi: i128) -> arbitrary::Result<i128> {
    Ok(match u.int_in_range(0..=39)? {
        0..=3 => lo,
        4..=7 => hi,
        8 => lo - 1,
        9 => hi + 1,
        _ => u.int_in_range(lo..=hi)?,
    })
}

fn duration(u: &mut Unstructured, max_s: u64, quick: bool) -> arbitrary::Result<String> {
    if quick {
        return Ok("1s".into());
    }
    Ok(match u.int_in_range(0..=19)? {
        0..=8 => format!("{}ms", pick(u, 1, 1000)?.max(0)),
        9..=17 => format!("{}s", pick(u, 1, max_s as i128)?.max(0)),
        18 => "0s".into(),
        _ => format!("{}s", u.arbitrary::<u64>()?),
    })
}

/// One scenario's text; `quick` keeps it short and free of faults whose preflight depends on the host.
fn scenario(u: &mut Unstructured, quick: bool) -> arbitrary::Result<String> {
    let mut t = String::new();
    let users = u.ratio(1, 4)?;
    let auth = u.arbitrary::<bool>()?;
    t += &format!("[sim]\nauth = {auth}\n");
    if u.ratio(1, 4)? {
        t += &format!("frame_work_ms = {}\n", pick(u, 0, 10_000)?);
    }
    if u.ratio(1, 4)? {
        t += &format!("leak_bytes_per_request = {}\n", pick(u, 0, 16 << 20)?.max(0));
    }
    t += &format!("[load]\nmodel = \"{}\"\n", if users { "users" } else { "open" });
    t += &format!("rate = {}.0\n", pick(u, 1, MAX_RATE as i128)?);
    t += &format!("max_in_flight = {}\n", pick(u, 1, MAX_IN_FLIGHT as i128)?.max(0));
    t += &format!("users = {}\n", pick(u, 1, if quick { 8 } else { MAX_USERS as i128 })?.max(0));
    t += &format!("timeout = \"{}\"\n", duration(u, 3600, false)?);
    t += &format!("[probe]\ninterval = \"{}ms\"\n", pick(u, 100, 3_600_000)?.max(0));
    let kinds: &[&str] = if quick {
        &["noop", "memory_leak", "frame_work", "cpu_hog", "network", "exec"]
    } else {
        &[
            "noop",
            "memory_leak",
            "frame_work",
            "cpu_hog",
            "connection_flood",
            "network",
            "exec",
            "expired_token",
            "disk_fill",
        ]
    };
    let mut faults = Vec::new();
    for i in 0..u.int_in_range(0..=2)? {
        let kind = *u.choose(kinds)?;
        let body = match kind {
            "memory_leak" => format!("bytes_per_request = {}", pick(u, 1, 16 << 20)?.max(0)),
            "frame_work" => format!("ms = {}.0", pick(u, 1, 10_000)?),
            "cpu_hog" => format!("threads = {}", pick(u, 1, if quick { 1 } else { 256 })?.max(0)),
            "connection_flood" => format!("connections = {}", pick(u, 1, 10_000)?.max(0)),
            "network" => {
                format!("latency = \"{}\"\njitter = \"{}ms\"", duration(u, 3600, false)?, pick(u, 0, 1000)?.max(0))
            }
            "exec" => "inject = \"true\"\nrollback = \"true\"".into(),
            "expired_token" => format!("share = {}", u.int_in_range(0..=10)? as f64 / 10.0),
            "disk_fill" => format!("percent = {}.0", pick(u, 1, 100)?),
            _ => String::new(),
        };
        faults.push(format!("[[fault]]\nname = \"f{i}\"\n[fault.{kind}]\n{body}\n"));
    }
    for p in 0..u.int_in_range(1..=3)? {
        t += &format!("[[phase]]\nname = \"p{p}\"\nduration = \"{}\"\n", duration(u, 24 * 3600, quick)?);
        if !faults.is_empty() {
            t += &format!("faults = [\"f{}\"]\n", u.choose_index(faults.len())?);
        }
        if users && u.ratio(1, 4)? {
            t += &format!("load = {{ users = {} }}\n", pick(u, 1, 8)?.max(0));
        }
    }
    Ok(t + &faults.concat())
}

#[test]
fn every_generated_scenario_validate_accepts_builds_a_runnable_plan() {
    let n: usize = std::env::var("SPACETIME_DRILL_FUZZ").ok().and_then(|v| v.parse().ok()).unwrap_or(300) * 3;
    let seed: u64 = rand::random();
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut bytes = vec![0u8; 1024];
    let (mut accepted, mut refused) = (0, 0);
    for _ in 0..n {
        rng.fill(&mut bytes[..]);
        let Ok(text) = scenario(&mut Unstructured::new(&bytes), false) else { continue };
        let Ok(s) = Scenario::parse(Path::new("gen.toml"), &text) else {
            refused += 1;
            continue;
        };
        accepted += 1;
        let plan = LoadPlan::from_scenario(&s, "http://127.0.0.1:1", None).unwrap();
        let total = plan.total();
        assert!(Instant::now().checked_add(total).is_some(), "seed {seed}:\n{text}");
        assert!(plan.phases.iter().all(|p| p.expected_requests().is_finite()), "seed {seed}:\n{text}");
        for f in &s.faults {
            assert!(Instant::now().checked_add(f.ttl).is_some(), "seed {seed}:\n{text}");
            let _ = f.kind.build().describe();
        }
    }
    eprintln!("generated {n} scenarios (seed {seed}): {accepted} accepted, {refused} refused");
    assert!(accepted > n / 20 && refused > n / 20, "the generator must reach both sides of the ranges");
}

#[test]
fn a_few_generated_scenarios_validate_accepts_start_under_run_dry_run() {
    let seed: u64 = rand::random();
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let dir = tempfile::tempdir().unwrap();
    let mut ran = 0;
    for i in 0..200 {
        if ran == 4 {
            break;
        }
        let mut bytes = vec![0u8; 1024];
        rng.fill(&mut bytes[..]);
        let Ok(text) = scenario(&mut Unstructured::new(&bytes), true) else { continue };
        if Scenario::parse(Path::new("gen.toml"), &text).map(|s| s.phases.len() > 1).unwrap_or(true) {
            continue;
        }
        let file = dir.path().join(format!("gen{i}.toml"));
        std::fs::write(&file, &text).unwrap();
        let out = Command::new(EXE)
            .args(["run", file.to_str().unwrap(), "--dry-run", "--quiet", "--out"])
            .arg(dir.path().join(format!("out{i}")))
            .arg("--journal")
            .arg(dir.path().join(format!("journal{i}.jsonl")))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(matches!(out.status.code(), Some(0 | 1)), "seed {seed}: {:?}\n{stderr}\n{text}", out.status);
        assert!(!stderr.contains("panicked"), "seed {seed}:\n{stderr}\n{text}");
        ran += 1;
    }
    assert_eq!(ran, 4, "seed {seed}: four one-phase scenarios accepted and run");
}
