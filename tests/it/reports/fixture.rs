//! Reports to render: one from a real short run of the binary (made once per test process), and a killed-DAP drill
//! recorded in-process through the real `Recorder` with synthetic clocks, judged by the real judge.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use spacetime_drill::api::{Endpoint, ServiceState};
use spacetime_drill::judge;
use spacetime_drill::record::{EventKind, Outcome, Recorder, StatusSample};
use spacetime_drill::report::{self, Report, RunStatus, ScenarioInfo, TargetInfo, Tool};
use spacetime_drill::scenario::Scenario;

pub fn bin(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_spacetime-drill")).args(args).output().expect("the binary runs")
}

pub fn tmp(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("reports-it").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A 6 s run against the embedded simulator with JWT auth on, so a token exists that no report may contain.
pub const SHORT: &str = r#"
name = "short"
description = "two short phases, authenticated"
[sim]
auth = true
frame_work_ms = FRAME_WORK
[load]
rate = 60
[expect]
incident = "any"         # a report to render, whatever the machine's load does to it
[[phase]]
name = "baseline"
duration = "3s"
[[phase]]
name = "after"
duration = "3s"
"#;

/// Run [`SHORT`] (with extra frame work in ms) into a new directory; returns its `report.json`.
pub fn run_short(dir: &str, frame_work_ms: f64) -> PathBuf {
    let dir = tmp(dir);
    let scenario = dir.join("short.toml");
    std::fs::write(&scenario, SHORT.replace("FRAME_WORK", &format!("{frame_work_ms:.1}"))).unwrap();
    let out = dir.join("out");
    let o = bin(&["run", scenario.to_str().unwrap(), "--out", out.to_str().unwrap(), "--quiet"]);
    assert!(o.status.success(), "run failed: {}", String::from_utf8_lossy(&o.stderr));
    out.join("report.json")
}

/// The healthy short run's report, shared by the tests of this process.
pub fn short_report() -> &'static Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| run_short("short", 0.0))
}

/// Judge `report` with its scenario's `[thresholds]` and `[expect]`, as `run` does, and decide its outcome.
pub fn judged(mut report: Report) -> Report {
    let record = &report.record;
    let run = judge::run_from_record(record, &judge::fault_spans(&record.events), None);
    let verdict = judge::judge(&run, &report.scenario.file.thresholds.resolve());
    report.expectations = judge::expectations(report.scenario.file.expect.as_ref(), &verdict);
    report.verdict = Some(verdict);
    report.outcome = report::decide(&report);
    report
}

pub const DRILL: &str = r#"
name = "dap-killed"
[[phase]]
name = "baseline"
duration = "10s"
[[phase]]
name = "fault"
duration = "10s"
faults = ["dap-down"]
[[phase]]
name = "recovery"
duration = "15s"
[[fault]]
name = "dap-down"
[fault.kill_process]
sim = "dap"
signal = "KILL"
restart = true
[expect]
incident = "high_error_rate"
severity = "P2"          # broken on purpose: the drill reaches P1
detect_within = "500ms"  # broken on purpose: windows are whole seconds
recover_within = "30s"
"#;

/// Expectations [`DRILL`] breaks.
pub const DRILL_BROKEN: [&str; 2] = ["severity", "detect_within"];

/// A request per endpoint every 50 ms of `[t, t+1)`; during the fault the debug adapter answers 503.
fn second(rec: &Recorder, start: Instant, t: u64, phase: usize, fault: bool) {
    let at = |ms: u64| start + Duration::from_millis(t * 1000 + ms);
    for k in 0..20 {
        for ep in Endpoint::ALL {
            let intended = at(k * 50);
            let done = intended + Duration::from_micros(4_000 + 150 * k + 1_000 * ep.index() as u64);
            let outcome = if fault && ep == Endpoint::DebugEvaluate { Outcome::Unavailable } else { Outcome::Ok };
            rec.request(phase, ep, intended, intended, done, outcome);
        }
    }
    let dap = if fault { ServiceState::Disconnected } else { ServiceState::Connected };
    let probe = StatusSample {
        reachable: true,
        latency_ms: 3.0,
        overall_ready: Some(!fault),
        dap: Some(dap),
        lsp: Some(ServiceState::Connected),
    };
    rec.status(at(500), probe);
    rec.fps(at(500), 90.0, Some(120.0));
    rec.disk(at(500), 41.0);
}

/// The killed-DAP drill: baseline 0-10 s, DAP killed 10-20 s, recovery 20-35 s; judged.
pub fn drill_report() -> Report {
    recorded_drill(true)
}

/// The same drill's scenario with a fault that did nothing: healthy throughout (the event log still says injected).
pub fn quiet_drill_report() -> Report {
    recorded_drill(false)
}

fn recorded_drill(fault_works: bool) -> Report {
    let path = Path::new("dap-killed.toml");
    let scenario = Scenario::parse(path, DRILL).expect("the drill scenario parses");
    let names: Vec<String> = scenario.file.phases.iter().map(|p| p.name.clone()).collect();
    let start = Instant::now();
    let rec = Recorder::new(start, &names);
    let s = |secs: f64| start + Duration::from_secs_f64(secs);
    rec.event(start, EventKind::RunStarted { target: "http://127.0.0.1:8080".into() });
    for t in 0..35u64 {
        let phase = match t {
            0..10 => 0,
            10..20 => 1,
            _ => 2,
        };
        if t == 0 || t == 10 || t == 20 {
            rec.enter_phase(phase, s(t as f64));
        }
        if t == 10 {
            let detail = "SIGKILL to the DAP server (pid 4242)".into();
            rec.event(s(10.0), EventKind::FaultInjected { fault: "dap-down".into(), detail });
        }
        if t == 20 {
            let detail = "DAP server restarted (pid 4250)".into();
            rec.event(s(20.0), EventKind::FaultRolledBack { fault: "dap-down".into(), detail });
        }
        second(&rec, start, t, phase, fault_works && phase == 1);
    }
    rec.end_phase(s(35.0));
    rec.event(s(35.0), EventKind::RunEnded { status: "completed".into() });
    let record = rec.finish();
    judged(Report {
        schema_version: report::SCHEMA_VERSION,
        tool: Tool::current(),
        scenario: ScenarioInfo {
            name: scenario.name.clone(),
            path: path.into(),
            hash: ScenarioInfo::hash_of(&scenario.file),
            file: scenario.file,
        },
        target: TargetInfo {
            url: "http://127.0.0.1:8080".into(),
            telemetry: None,
            embedded: true,
            authenticated: true,
            insecure: false,
        },
        started_at: "2025-06-01T10:00:00+00:00".into(),
        duration_s: 35.0,
        status: RunStatus::Completed,
        outcome: report::Outcome::UNDECIDED,
        errors: Vec::new(),
        run_id: "0123456789abcdef0123456789abcdef".into(),
        shard: None,
        baseline: None,
        phases: report::summarize(&record),
        verdict: None,
        expectations: Vec::new(),
        record,
    })
}

/// Render with one renderer into a string.
pub fn render(f: fn(&Report, &mut dyn std::io::Write) -> anyhow::Result<()>, report: &Report) -> String {
    let mut buf = Vec::new();
    f(report, &mut buf).expect("renders");
    String::from_utf8(buf).expect("UTF-8")
}
