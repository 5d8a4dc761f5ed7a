//! An hour-long drill, recorded: what judging its windows and serializing its report cost (issue 7's "judging an hour
//! of windows" and "serializing a report"). The record is built through the real [`Recorder`], 100 requests a second
//! over the four endpoints with a killed DAP in the middle third, a `/status` probe, FPS, memory and disk each
//! second: the shape a real run has, 3,600 times over.
//!
//! `cargo bench --bench hour`; criterion prints the figures, and the report's size is printed once.

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use spacetime_drill::api::{Endpoint, ServiceState};
use spacetime_drill::judge::{self, Profile};
use spacetime_drill::record::{EventKind, Outcome, Record, Recorder, StatusSample};
use spacetime_drill::report::{self, Report, RunStatus, ScenarioInfo, TargetInfo, Tool};
use spacetime_drill::scenario::Scenario;

const HOUR: u64 = 3600;

const SCENARIO: &str = r#"
[[phase]]
name = "baseline"
duration = "20m"
[[phase]]
name = "fault"
duration = "20m"
faults = ["dap-down"]
[[phase]]
name = "recovery"
duration = "20m"
[[fault]]
name = "dap-down"
[fault.kill_process]
sim = "dap"
"#;

fn hour_record(start: Instant) -> Record {
    let names = ["baseline", "fault", "recovery"].map(String::from);
    let rec = Recorder::new(start, &names);
    let at = |s: f64| start + Duration::from_secs_f64(s);
    for t in 0..HOUR {
        let phase = (t / 1200) as usize;
        if t % 1200 == 0 {
            rec.enter_phase(phase, at(t as f64));
        }
        if t == 1200 {
            rec.event(at(1200.0), EventKind::FaultInjected { fault: "dap-down".into(), detail: "SIGKILL".into() });
        }
        if t == 2400 {
            rec.event(at(2400.0), EventKind::FaultRolledBack { fault: "dap-down".into(), detail: "restarted".into() });
        }
        let down = phase == 1;
        for k in 0..100u64 {
            let ep = Endpoint::ALL[(k % 4) as usize];
            let intended = at(t as f64 + k as f64 / 100.0);
            let done = intended + Duration::from_micros(2_000 + (k * 37 + t) % 5_000);
            let outcome = if down && ep == Endpoint::DebugEvaluate { Outcome::Unavailable } else { Outcome::Ok };
            rec.request(phase, ep, intended, intended, done, outcome);
        }
        let dap = if down { ServiceState::Disconnected } else { ServiceState::Connected };
        let sample = StatusSample {
            reachable: true,
            latency_ms: 2.0,
            overall_ready: Some(!down),
            dap: Some(dap),
            lsp: Some(ServiceState::Connected),
        };
        rec.status(at(t as f64 + 0.5), sample);
        rec.fps(at(t as f64 + 0.5), 90.0, Some(120.0 + (t % 7) as f64));
        rec.disk(at(t as f64 + 0.5), 41.0);
    }
    rec.end_phase(at(HOUR as f64));
    rec.finish()
}

fn hour(c: &mut Criterion) {
    let start = Instant::now();
    let record = hour_record(start);
    let spans = judge::fault_spans(&record.events);
    let profile = Profile::default();

    c.bench_function("judge::run_from_record (an hour)", |b| {
        b.iter(|| judge::run_from_record(black_box(&record), &spans, None))
    });
    let run = judge::run_from_record(&record, &spans, None);
    c.bench_function("judge::judge (an hour: 3,596 windows of 5 s)", |b| {
        b.iter(|| judge::judge(black_box(&run), &profile))
    });

    let scenario = Scenario::parse(Path::new("hour.toml"), SCENARIO).expect("the bench scenario parses");
    let verdict = judge::judge(&run, &profile);
    let report = Report {
        schema_version: report::SCHEMA_VERSION,
        tool: Tool::current(),
        scenario: ScenarioInfo {
            name: scenario.name,
            path: "hour.toml".into(),
            hash: ScenarioInfo::hash_of(&scenario.file),
            file: scenario.file,
        },
        target: TargetInfo {
            url: "http://127.0.0.1:8080".into(),
            telemetry: None,
            embedded: true,
            insecure: false,
            authenticated: false,
        },
        started_at: "2026-11-29T10:00:00Z".into(),
        duration_s: HOUR as f64,
        status: RunStatus::Completed,
        outcome: report::Outcome::UNDECIDED,
        errors: Vec::new(),
        run_id: "hour".into(),
        shard: None,
        baseline: None,
        phases: report::summarize(&record),
        verdict: Some(verdict),
        expectations: Vec::new(),
        record,
    };
    let mut out = Vec::new();
    report::render_json(&report, &mut out).expect("the report serializes");
    println!("report.json of an hour: {:.1} MiB", out.len() as f64 / (1 << 20) as f64);
    c.bench_function("report::render_json (an hour)", |b| {
        b.iter(|| {
            out.clear();
            report::render_json(black_box(&report), &mut out).expect("the report serializes");
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = hour
}
criterion_main!(benches);
