//! `merge` is exact: two shards' reports merged give the p95/p99/count of one recorder that saw every sample.

use std::time::{Duration, Instant};

use spacetime_drill::api::Endpoint;
use spacetime_drill::record::{Outcome, Record, Recorder};
use spacetime_drill::report::{self, Report, ScenarioInfo, ShardInfo};

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

/// A shard's report: the template's scenario, `record`, shard `index` of `count`, a run id of its own.
fn as_report(template: &Report, record: Record, index: u32, count: u32) -> Report {
    Report {
        phases: report::summarize(&record),
        record,
        verdict: None,
        expectations: Vec::new(),
        run_id: format!("run-{index}-of-{count}"),
        shard: Some(ShardInfo { index, count }),
        ..template.clone()
    }
}

#[test]
fn two_shards_merge_to_the_figures_of_one_run() {
    let names = vec!["first".to_string(), "second".to_string()];
    let start = Instant::now();
    let (all, a, b) = (Recorder::new(start, &names), Recorder::new(start, &names), Recorder::new(start, &names));
    record(&all, &a, &b, start);
    let template = drill_report();
    let dir = tmp("merge");
    let write = |name: &str, r: &Recorder, index| {
        let path = dir.join(name);
        report::write_json(&as_report(&template, r.finish(), index, 2), &path).unwrap();
        path
    };
    let (pa, pb) = (write("a.json", &a, 0), write("b.json", &b, 1));
    let out = dir.join("merged");
    let o = bin(&["merge", pa.to_str().unwrap(), pb.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    let merged = report::read_json(&out.join("report.json")).expect("merged");
    let code = merged.outcome.conclusion.exit_code();
    assert_eq!(
        o.status.code(),
        Some(i32::from(code)),
        "merge exits with its outcome: {}",
        String::from_utf8_lossy(&o.stderr)
    );
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
    // Judged again, by the judge `run` uses, on the merged record.
    let (verdict, _) = spacetime_drill::judge::judge_record(&merged.record, &merged.scenario.file, None);
    let merged_verdict = merged.verdict.as_ref().expect("judged");
    // (Compared by what was concluded: a float read back from JSON may differ in its last bit.)
    let shape = |v: &spacetime_drill::judge::Verdict| {
        let phases: Vec<_> =
            v.phases.iter().map(|p| (p.worst, p.checks.iter().map(|c| c.state).collect::<Vec<_>>())).collect();
        (v.seen(), v.windows.len(), phases)
    };
    assert_eq!(shape(merged_verdict), shape(&verdict), "the merged record is judged, not the shards' verdicts merged");
    assert!(!merged_verdict.seen().is_empty(), "2 % of the merged requests failed: {:?}", merged_verdict.seen());
}

/// Write `reports` as `0.json`, `1.json`, ... and merge them; returns the exit code and stderr.
fn merge_written(name: &str, reports: &[Report]) -> (Option<i32>, String, std::path::PathBuf) {
    let dir = tmp(name);
    let mut args: Vec<String> = vec!["merge".into()];
    for (i, r) in reports.iter().enumerate() {
        let path = dir.join(format!("{i}.json"));
        report::write_json(r, &path).unwrap();
        args.push(path.to_str().unwrap().into());
    }
    let out = dir.join("out");
    args.extend(["--out".into(), out.to_str().unwrap().into()]);
    let o = bin(&args.iter().map(String::as_str).collect::<Vec<_>>());
    (o.status.code(), String::from_utf8_lossy(&o.stderr).into_owned(), out)
}

fn shard(index: u32, count: u32) -> Report {
    let drill = drill_report();
    Report { run_id: format!("run-{index}"), shard: Some(ShardInfo { index, count }), ..drill }
}

fn refused(name: &str, reports: &[Report], says: &str) {
    let (code, err, out) = merge_written(name, reports);
    assert_eq!(code, Some(2), "{name}: {err}");
    assert!(err.contains(says), "{name}: should say {says:?}: {err}");
    assert!(!out.join("report.json").exists(), "{name}: nothing written");
}

#[test]
fn shards_that_are_not_one_drill_do_not_merge() {
    let foreign = {
        let mut r = shard(1, 2);
        r.scenario.file.description = Some("another drill".into());
        r.scenario.hash = ScenarioInfo::hash_of(&r.scenario.file);
        r
    };
    refused("merge-foreign", &[shard(0, 2), foreign], "is of another scenario");
    refused("merge-same-report", &[shard(0, 2), shard(0, 2)], "are the same report (run id run-0)");
    let twin = Report { run_id: "another-run".into(), ..shard(0, 2) };
    refused("merge-same-shard", &[shard(0, 2), twin], "reports 0 and 1 are both shard 0/2");
    refused("merge-missing", &[shard(0, 3), shard(1, 3)], "shard [2] of 3 missing");
    let unsharded = Report { shard: None, ..shard(1, 2) };
    refused("merge-mixed", &[shard(0, 2), unsharded], "report 1 is not a shard, report 0 is shard 0/2");
    let mut fewer = shard(1, 2);
    for p in &mut fewer.record.phases {
        p.endpoints[3] = Default::default();
    }
    for s in &mut fewer.record.seconds {
        s.endpoints[3] = Default::default();
    }
    refused("merge-endpoints", &[shard(0, 2), fewer], "different endpoint sets");
    let mut coarse = shard(1, 2);
    coarse.record.phases[0].fps = spacetime_drill::record::Hist::with_sigfig(2);
    refused("merge-bounds", &[shard(0, 2), coarse], "histogram has bounds");
    let (mut a, mut b) = (shard(0, 2), shard(1, 2));
    a.record.phases[0].late = u64::MAX;
    b.record.phases[0].late = 1;
    refused("merge-overflow", &[a, b], "late overflows when added");
}

#[test]
fn merge_reads_a_directory_or_a_glob_and_never_writes_over_an_input() {
    let dir = tmp("merge-dir");
    for i in 0..2 {
        let shard_dir = dir.join(format!("shards/shard-{i}"));
        std::fs::create_dir_all(&shard_dir).unwrap();
        report::write_json(&shard(i, 2), &shard_dir.join("report.json")).unwrap();
    }
    let shards = dir.join("shards");
    let out = dir.join("merged");
    let o = bin(&["merge", shards.to_str().unwrap(), "--out", out.to_str().unwrap(), "--format", "json,junit"]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(1),
        "the drill breaks two expectations: {stdout}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let merged = report::read_json(&out.join("report.json")).unwrap();
    assert_eq!(merged.record.phases[0].endpoints[0].count(), 2 * shard(0, 2).record.phases[0].endpoints[0].count());
    assert!(stdout.starts_with(&report::headline(&merged)), "{stdout}");
    // A retry of the same merge rewrites its own output.
    let again = bin(&["merge", shards.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert_eq!(again.status.code(), Some(1), "{}", String::from_utf8_lossy(&again.stderr));

    let pattern = format!("{}/shard-*/report.json", shards.display());
    let globbed = dir.join("globbed");
    let o = bin(&["merge", &pattern, "--out", globbed.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(report::read_json(&globbed.join("report.json")).unwrap().record, merged.record);
    let none =
        bin(&["merge", &format!("{}/nothing-*/report.json", shards.display()), "--out", globbed.to_str().unwrap()]);
    assert_eq!(none.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&none.stderr).contains("the pattern matches no file"));

    // --out at an input's directory, or inside the directory merged: refused, the shard untouched.
    let shard0 = shards.join("shard-0");
    let before = std::fs::read(shard0.join("report.json")).unwrap();
    for (out, says) in [(shard0.clone(), "it is an input"), (shards.join("merged"), "a directory of input reports")] {
        let o = bin(&["merge", shards.to_str().unwrap(), "--out", out.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(err.contains("refusing to") && err.contains(says) && err.contains("--force"), "{err}");
    }
    assert_eq!(std::fs::read(shard0.join("report.json")).unwrap(), before, "the input is untouched");
    assert!(!shards.join("merged").exists());
    // Another report's files in --out are not ours to overwrite.
    let other = dir.join("other");
    std::fs::create_dir_all(&other).unwrap();
    report::write_json(&Report { run_id: "someone-else".into(), ..drill_report() }, &other.join("report.json"))
        .unwrap();
    let o = bin(&["merge", shards.to_str().unwrap(), "--out", other.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("another report wrote it"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = bin(&["merge", shards.to_str().unwrap(), "--out", other.to_str().unwrap(), "--force"]);
    assert_eq!(o.status.code(), Some(1), "--force lifts the guard: {}", String::from_utf8_lossy(&o.stderr));
}
