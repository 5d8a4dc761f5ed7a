//! `merge` is exact: two shards' reports merged give the p95/p99/count of one recorder that saw every sample.

use std::path::Path;
use std::time::{Duration, Instant};

use spacetime_drill::api::Endpoint;
use spacetime_drill::record::{Outcome, Record, Recorder};
use spacetime_drill::report::{self, Report};

use super::fixture::{bin, drill_report, tmp};

/// Feed the same deterministic samples to `all`, split between `a` and `b`.
fn record(all: &Recorder, a: &Recorder, b: &Recorder, start: Instant) {
    for r in [all, a, b] {
        r.enter_phase(0, start);
    }
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for i in 0..6000u64 {
        if i == 3000 {
            for r in [all, a, b] {
                r.enter_phase(1, start + Duration::from_secs(5));
            }
        }
        // xorshift: a wide, uneven latency spread, so percentiles depend on every sample.
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let latency = Duration::from_micros(500 + x % 400_000);
        let intended = start + Duration::from_micros(i * 10_000 / 6 + 1);
        let ep = Endpoint::ALL[(x % 4) as usize];
        let outcome = if x % 50 == 0 { Outcome::Unavailable } else { Outcome::Ok };
        let phase = usize::from(i >= 3000);
        for r in [all, if x % 3 == 0 { a } else { b }] {
            r.request(phase, ep, intended, intended, intended + latency, outcome);
        }
    }
    for r in [all, a, b] {
        r.end_phase(start + Duration::from_secs(10));
    }
}

fn as_report(template: &Report, record: Record) -> Report {
    Report { phases: report::summarize(&record), record, verdict: None, expectations: Vec::new(), ..template.clone() }
}

#[test]
fn two_shards_merge_to_the_figures_of_one_run() {
    let names = vec!["first".to_string(), "second".to_string()];
    let start = Instant::now();
    let (all, a, b) = (Recorder::new(start, &names), Recorder::new(start, &names), Recorder::new(start, &names));
    record(&all, &a, &b, start);
    let template = drill_report();
    let dir = tmp("merge");
    let write = |name: &str, r: &Recorder| {
        let path = dir.join(name);
        report::write_json(&as_report(&template, r.finish()), &path).unwrap();
        path
    };
    let (pa, pb) = (write("a.json", &a), write("b.json", &b));
    let out = dir.join("merged");
    let o = bin(&["merge", pa.to_str().unwrap(), pb.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let merged = report::read_json(&out.join("report.json")).unwrap();
    let one = all.finish();
    let whole = report::summarize(&one);

    assert_eq!(merged.record.phases, one.phases, "per-phase histograms and counters equal exactly");
    // (Summaries compared recomputed: a float read back from JSON may differ in its last bit.)
    assert_eq!(report::summarize(&merged.record), whole, "so every summary figure is equal");
    for (m, w) in merged.phases.iter().zip(&whole) {
        let (mp, wp) = (m.latency_ms.unwrap(), w.latency_ms.unwrap());
        assert_eq!((m.requests, mp.p95, mp.p99), (w.requests, wp.p95, wp.p99));
        assert!(m.requests == 3000 && m.errors > 0);
    }
    assert_eq!(merged.record.seconds.len(), one.seconds.len());
    for (m, w) in merged.record.seconds.iter().zip(&one.seconds) {
        assert_eq!(m.t, w.t);
        for (me, we) in m.endpoints.iter().zip(&w.endpoints) {
            assert_eq!((me.count, me.errors, me.outcomes), (we.count, we.errors, we.outcomes), "second {}", m.t);
            assert_eq!((me.p95_ms, me.p99_ms), (we.p95_ms, we.p99_ms), "second {}", m.t);
        }
    }
    assert!(merged.verdict.is_none(), "a merged report is judged again, not merged");
}

#[test]
fn reports_of_different_scenarios_do_not_merge() {
    let dir = tmp("merge-mismatch");
    let drill = drill_report();
    let mut other = drill.clone();
    other.scenario.name = "something-else".into();
    let (pa, pb) = (dir.join("a.json"), dir.join("b.json"));
    report::write_json(&drill, &pa).unwrap();
    report::write_json(&other, &pb).unwrap();
    let out = dir.join("out");
    let o = bin(&["merge", pa.to_str().unwrap(), pb.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("\"something-else\""));
    assert!(!Path::new(&out.join("report.json")).exists());
}
