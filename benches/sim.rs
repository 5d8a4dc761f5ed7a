//! The simulator under load (issue 2, "Performance"): it must serve at least 5,000 requests/s of a mixed `/status` +
//! `/scene/load` + `/debug/evaluate` + `/lsp/completion` load with p95 under 20 ms at rest, on this 2-core machine.
//!
//! `cargo bench --bench sim` starts a simulator (its own process group, killed at the end), then drives the default
//! mix (4:1:2:2) with the open model at rising rates, 10 s each, and prints one row per rate. Rates and duration can
//! be overridden: `SIM_BENCH_RATES=2000,5000 SIM_BENCH_SECONDS=5 cargo bench --bench sim`. The generator shares the
//! machine with the simulator, as it does in a real run against the embedded target. Not a timed test: it prints.

use std::time::Duration;

use spacetime_drill::load::{LoadPlan, bench};
use spacetime_drill::scenario::Scenario;
use spacetime_sim::launch::{SimOptions, SimProcess};

/// Below the bridge's 100-connection cap, so the generator itself never trips it.
const MAX_IN_FLIGHT: usize = 90;

fn main() -> anyhow::Result<()> {
    let rates: Vec<f64> = std::env::var("SIM_BENCH_RATES")
        .unwrap_or_else(|_| "2000,5000,6000".into())
        .split(',')
        .map(|r| r.trim().parse())
        .collect::<Result<_, _>>()?;
    let secs: u64 = std::env::var("SIM_BENCH_SECONDS").map_or(Ok(10), |s| s.parse())?;
    let sim = SimProcess::spawn(env!("CARGO_BIN_EXE_spacetime-drill").as_ref(), &SimOptions::default())?;
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    println!("simulator at {}, default mix 4:1:2:2, {secs} s per rate, in-flight cap {MAX_IN_FLIGHT}", sim.http_url());
    println!("| rate req/s | achieved req/s | requests | errors | dropped | late | p50 ms | p95 ms | p99 ms |");
    println!("|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
    for rate in rates {
        let toml = format!(
            "[load]\nrate = {rate:.1}\nmax_in_flight = {MAX_IN_FLIGHT}\n[[phase]]\nname = \"r{rate}\"\nduration = \"{secs}s\""
        );
        let scenario =
            Scenario::parse(std::path::Path::new("sim-bench.toml"), &toml).map_err(|e| anyhow::anyhow!("{e:?}"))?;
        let plan = LoadPlan::from_scenario(&scenario, &sim.http_url(), None)?;
        let r = rt.block_on(bench::fixed_rate(&plan))?;
        let ms = |v: Option<f64>| v.map_or("-".into(), |v| format!("{v:.2}"));
        println!(
            "| {rate:.0} | {:.0} | {} | {} | {} | {} | {} | {} | {} |",
            r.rps,
            r.requests,
            r.errors,
            r.dropped,
            r.late,
            ms(r.p50_ms),
            ms(r.p95_ms),
            ms(r.p99_ms)
        );
        std::thread::sleep(Duration::from_secs(1));
    }
    Ok(())
}
