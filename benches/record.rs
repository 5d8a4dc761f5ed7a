//! The recorder's hot path: what one request costs to record (issue 7's "recording one sample": per-phase histograms,
//! per-second series and outcome counters, under the recorder's lock), next to one bare histogram increment.
//!
//! `cargo bench --bench record`; criterion prints the figures.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use spacetime_drill::api::Endpoint;
use spacetime_drill::record::{Hist, Outcome, Recorder};

fn record(c: &mut Criterion) {
    let mut h = Hist::new();
    let mut v = 1_000u64;
    c.bench_function("Hist::record (3 sigfig)", |b| {
        b.iter(|| {
            v = (v * 7 + 13) % 2_000_000;
            h.record(black_box(v));
        })
    });

    // Intended times advance 50 µs per sample (20 k req/s), so per-second rows are created, compacted and recycled
    // as in a run.
    let start = Instant::now();
    let rec = Recorder::new(start, &["baseline".into(), "fault".into()]);
    let mut i = 0u64;
    c.bench_function("Recorder::request (one sample)", |b| {
        b.iter(|| {
            i += 1;
            let intended = start + Duration::from_micros(i * 50);
            let sent = intended + Duration::from_micros(50);
            let done = sent + Duration::from_micros(800 + i % 20_000);
            let ep = Endpoint::ALL[(i % 4) as usize];
            rec.request(black_box((i % 2) as usize), ep, intended, sent, done, Outcome::Ok);
        })
    });

    let r = rec.finish();
    let bytes: usize = r.seconds.iter().flat_map(|s| &s.endpoints).map(|e| e.latency.size()).sum();
    println!(
        "per-second rows: {} rows, {} B of compacted histograms ({} B per endpoint-second)",
        r.seconds.len(),
        bytes,
        bytes / (r.seconds.len() * 4).max(1)
    );
}

criterion_group!(benches, record);
criterion_main!(benches);
