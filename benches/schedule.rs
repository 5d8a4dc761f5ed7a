//! The scheduler's own cost per request (issue 7's "the scheduler's per-request overhead"): the next arrival's
//! deadline and endpoint, for a constant rate and for a ramp, next to the clock read every send makes anyway.
//! What the pacer adds on top (one timerfd arm and one poller wake-up per request) is a syscall, measured end to end
//! by `benches/loadgen.py` rather than here.
//!
//! `cargo bench --bench schedule`; criterion prints the figures.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use spacetime_drill::load::{Arrivals, Mixer, PhasePlan};
use spacetime_drill::scenario::Mix;

fn phase(r0: f64, r1: f64) -> PhasePlan {
    PhasePlan {
        name: "bench".into(),
        duration: Duration::from_secs(1_000_000),
        rate_start: r0,
        rate_end: r1,
        users: 1,
        mix: Mix::default(),
    }
}

fn schedule(c: &mut Criterion) {
    for (name, p) in [("constant 2,000 req/s", phase(2000.0, 2000.0)), ("ramp 0 to 20,000 req/s", phase(0.0, 2e4))] {
        let mut arrivals = Arrivals::new(&p);
        let mut mixer = Mixer::new(&p.mix);
        c.bench_function(&format!("next arrival + endpoint, {name}"), |b| {
            b.iter(|| (black_box(arrivals.next()), black_box(mixer.next_endpoint())))
        });
    }
    c.bench_function("Instant::now", |b| b.iter(Instant::now));
}

criterion_group!(benches, schedule);
criterion_main!(benches);
