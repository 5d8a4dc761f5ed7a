//! Fuzzing on stable Rust (issue 13): the scenario loader and the report.json readers behind `report`, `compare` and
//! `merge`, on structure-aware mutations of real inputs ([`targets`], where the choice of `arbitrary` is explained).
//!
//! `SPACETIME_DRILL_FUZZ=N` inputs per target (default 300, a second or two), from a seed printed on failure and set
//! with `SPACETIME_DRILL_FUZZ_SEED` to replay. A failing input is written to the temp dir, to be kept as a fixture
//! under tests/fixtures/fuzzed. The million-input run is `cargo bench --bench fuzz`.

mod generated;
pub mod targets;

use arbitrary::Unstructured;
use rand::{Rng, SeedableRng};

/// Run `target` on `n` inputs of random bytes; a panic names the seed and iteration that replays it.
fn drive(name: &str, mut target: impl FnMut(&mut Unstructured) -> arbitrary::Result<()>) {
    let n: usize = std::env::var("SPACETIME_DRILL_FUZZ").ok().and_then(|v| v.parse().ok()).unwrap_or(300);
    let seed: u64 =
        std::env::var("SPACETIME_DRILL_FUZZ_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or_else(rand::random);
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut bytes = vec![0u8; 4096];
    for i in 0..n {
        rng.fill(&mut bytes[..]);
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| target(&mut Unstructured::new(&bytes))));
        if result.is_err() {
            let saved = std::env::temp_dir().join(format!("spacetime-drill-fuzz-{name}-{seed}-{i}.bin"));
            std::fs::write(&saved, &bytes).unwrap();
            panic!("{name}: input {i} panicked (SPACETIME_DRILL_FUZZ_SEED={seed}); its bytes: {}", saved.display());
        }
    }
    eprintln!("fuzz {name}: {n} inputs, no panic (seed {seed})");
}

#[test]
fn scenario_loader_never_panics() {
    let corpus = targets::scenario_corpus();
    drive("scenario", |u| targets::scenario_target(u, &corpus));
}

#[test]
fn report_readers_never_panic() {
    let golden = targets::report_corpus();
    drive("report", |u| targets::report_target(u, &golden));
}

/// Every crash the fuzzers found, kept as a fixture (tests/fixtures/fuzzed): read, compared and merged with the golden
/// report without a panic. `merge_count_overflow.json`: counts of u64::MAX overflowed `merge`'s sums (found by the
/// 1 M benchmark, report target, input 40180); merge now refuses it as an overflow.
#[test]
fn fuzzed_fixtures_stay_fixed() {
    use spacetime_drill::report;
    let (_, golden) = targets::report_corpus();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fuzzed");
    let mut seen = 0;
    for file in std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()) {
        seen += 1;
        let Ok(r) = report::read_json(&file) else { continue };
        // Refused (the same run twice, a count past u64) or merged: either way an answer, never a panic.
        if let Ok(merged) = report::merge(&[golden.clone(), r.clone()]) {
            let _ = report::render_table(&merged);
        }
        let _ = report::compare(&golden, &r, &Default::default()).map(|c| c.render(false));
    }
    assert!(seen >= 1);
}
