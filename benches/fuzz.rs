//! A million fuzz inputs per target (issue 13): the scenario loader and the report.json readers, on the same
//! structure-aware mutations the bounded test runs (tests/it/fuzz). Prints, per target: inputs run, panics, inputs
//! taking over 1 s of CPU (hangs), the slowest input (CPU and wall time), wall time and the process's peak memory
//! (ru_maxrss). An input over 1 s of wall time is saved too, with its CPU time, to tell a hang from a busy machine.
//!
//! `cargo bench --bench fuzz` (1 000 000 each); `SPACETIME_DRILL_FUZZ=N` for fewer, `SPACETIME_DRILL_FUZZ_SEED` to
//! replay. A panicking input's bytes are written to the temp dir; `SPACETIME_DRILL_FUZZ_REPLAY=FILE` runs them again
//! and prints the input's text, to become a fixture under tests/fixtures/fuzzed.
//! Run it with `CARGO_PROFILE_BENCH_OVERFLOW_CHECKS=true CARGO_PROFILE_BENCH_DEBUG_ASSERTIONS=true`: a release
//! build wraps integer overflow silently, and an overflow is exactly what this benchmark found first.

#[path = "../tests/it/fuzz/targets.rs"]
mod targets;

use std::time::{Duration, Instant};

use arbitrary::Unstructured;
use rand::{Rng, SeedableRng};

fn peak_rss_mib() -> f64 {
    let usage = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_SELF).unwrap();
    usage.max_rss() as f64 / 1024.0
}

/// CPU time of this thread: what an input costs itself, which wall time on a loaded machine does not say (a nice
/// 19 benchmark among busy builds waits whole seconds for a core).
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: ts is a valid timespec for the call to fill.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

fn run(name: &str, n: usize, seed: u64, mut target: impl FnMut(&mut Unstructured) -> arbitrary::Result<()>) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut bytes = vec![0u8; 4096];
    let (mut panics, mut hangs, mut slowest, mut slowest_wall) = (0usize, 0usize, Duration::ZERO, Duration::ZERO);
    let start = Instant::now();
    let save = |i: usize, bytes: &[u8], why: &str| {
        let saved = std::env::temp_dir().join(format!("spacetime-drill-fuzz-{name}-{seed}-{i}.bin"));
        std::fs::write(&saved, bytes).unwrap();
        eprintln!("{name}: input {i} {why}, bytes in {}", saved.display());
    };
    for i in 0..n {
        rng.fill(&mut bytes[..]);
        let (t, cpu) = (Instant::now(), thread_cpu());
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| target(&mut Unstructured::new(&bytes))));
        let (took, wall) = (thread_cpu().saturating_sub(cpu), t.elapsed());
        slowest = slowest.max(took);
        slowest_wall = slowest_wall.max(wall);
        hangs += usize::from(took > Duration::from_secs(1));
        if result.is_err() {
            panics += 1;
            save(i, &bytes, "panicked");
        } else if wall > Duration::from_secs(1) {
            save(
                i,
                &bytes,
                &format!("took {:.0} ms ({:.1} ms of CPU)", wall.as_secs_f64() * 1e3, took.as_secs_f64() * 1e3),
            );
        }
        // Progress, so a run cut short by a deadline still says how far it got.
        if (i + 1) % 100_000 == 0 {
            eprintln!(
                "{name}: {} inputs, {panics} panics, {hangs} hangs, slowest {:.1} ms CPU ({:.1} ms wall), {:.0} s, \
                 {:.0} MiB",
                i + 1,
                slowest.as_secs_f64() * 1000.0,
                slowest_wall.as_secs_f64() * 1000.0,
                start.elapsed().as_secs_f64(),
                peak_rss_mib()
            );
        }
    }
    println!(
        "| {name} | {n} | {panics} | {hangs} | {:.1} | {:.1} | {:.0} | {:.0} |",
        slowest.as_secs_f64() * 1000.0,
        slowest_wall.as_secs_f64() * 1000.0,
        start.elapsed().as_secs_f64(),
        peak_rss_mib()
    );
}

/// `SPACETIME_DRILL_FUZZ_REPLAY=FILE cargo bench --bench fuzz -- TARGET`: one saved input again, its text on
/// stdout (what becomes the fixture), and its panic, if it still panics.
fn replay(file: &std::path::Path, target: &str) {
    let bytes = std::fs::read(file).unwrap();
    let u = || Unstructured::new(&bytes);
    if target == "scenario" {
        let corpus = targets::scenario_corpus();
        println!("{}", targets::scenario_input(&mut u(), &corpus).unwrap());
        targets::scenario_target(&mut u(), &corpus).unwrap();
    } else {
        let golden = targets::report_corpus();
        println!("{}", targets::report_input(&mut u(), &golden.0).unwrap());
        targets::report_target(&mut u(), &golden).unwrap();
    }
    eprintln!("{} ran without a panic", file.display());
}

fn main() {
    // Keep freed memory in the process: every input allocates and frees a few MiB of dense histograms, and glibc's
    // defaults hand that back to the kernel and fault it in again each time, which cost three times the inputs' own
    // work (measured: 500 report inputs, 0.37 s of system time against 0.18 s of user time; 0.02 s with this).
    // Every input still runs in full, and the peak memory printed is the same.
    // SAFETY: mallopt only tunes the allocator, before any thread starts.
    unsafe {
        libc::mallopt(libc::M_TRIM_THRESHOLD, 512 << 20);
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
    }
    let only = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    if let Some(file) = std::env::var_os("SPACETIME_DRILL_FUZZ_REPLAY") {
        return replay(std::path::Path::new(&file), only.as_deref().unwrap_or("report"));
    }
    let n: usize = std::env::var("SPACETIME_DRILL_FUZZ").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let seed: u64 =
        std::env::var("SPACETIME_DRILL_FUZZ_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or_else(rand::random);
    std::panic::set_hook(Box::new(|info| eprintln!("panic: {info}")));
    println!("seed {seed}");
    println!(
        "| target | inputs | panics | hangs > 1 s CPU | slowest ms CPU | slowest ms wall | wall s | peak RSS MiB |"
    );
    println!("|---|--:|--:|--:|--:|--:|--:|--:|");
    if only.as_deref().is_none_or(|o| "scenario".contains(o)) {
        let corpus = targets::scenario_corpus();
        run("scenario", n, seed, |u| targets::scenario_target(u, &corpus));
    }
    if only.as_deref().is_none_or(|o| "report".contains(o)) {
        let golden = targets::report_corpus();
        run("report", n, seed, |u| targets::report_target(u, &golden));
    }
}
