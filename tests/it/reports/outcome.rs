//! One outcome per run (issue 12): for each outcome (pass, fail on a check, fail on an expectation, harness error,
//! interrupted, baseline regression) every format says what report.json's outcome says, and the exit code and the
//! console headline follow from it; then real runs: without `[expect]` an incident exits 1, observe-only exits 0.

use quick_xml::events::Event;
use spacetime_drill::judge::{Expected, Severity};
use spacetime_drill::report::{self, BaselineCheck, Conclusion, Format, Report, RunStatus};
use spacetime_drill::scenario::Expect;

use super::fixture::{drill_report, judged, quiet_drill_report, tmp};

/// The drill's expectation, as one that holds: the killed DAP is a P1 high error rate.
fn holds() -> Option<Expect> {
    let incident = Expected::try_from("high_error_rate".to_owned()).unwrap();
    Some(Expect { incident: Some(incident), severity: Some(Severity::P1), ..Expect::default() })
}

fn rejudged(mut r: Report, expect: Option<Expect>) -> Report {
    r.scenario.file.expect = expect;
    judged(r)
}

/// `(name, report, conclusion, exit code, a reason it must give)` for every outcome.
fn cases() -> Vec<(&'static str, Report, Conclusion, u8, &'static str)> {
    let pass = rejudged(drill_report(), holds());
    let mut on_check = quiet_drill_report();
    // Requests take 4-8 ms: a 6 ms p95 threshold breaks the check, while no incident rule fires (P3 starts at 300).
    on_check.scenario.file.thresholds = toml::from_str("p95_ms = 6.0").unwrap();
    let on_check = rejudged(on_check, None);
    let on_expectation = drill_report();
    let mut harness = rejudged(drill_report(), holds());
    harness.errors.push("fault kill-lsp failed: inject: no such process".into());
    harness.outcome = report::decide(&harness);
    let mut interrupted = drill_report();
    (interrupted.status, interrupted.verdict, interrupted.expectations) = (RunStatus::Interrupted, None, Vec::new());
    interrupted.outcome = report::decide(&interrupted);
    let mut regressed = rejudged(drill_report(), holds());
    let comparison =
        report::compare(&quiet_drill_report(), &regressed, &report::Tolerance::default().resolved()).unwrap();
    let regressions = comparison.regressions().map(report::Delta::describe).collect();
    let tolerance = report::Tolerance::default().resolved();
    regressed.baseline = Some(BaselineCheck { path: "baseline.json".into(), tolerance, regressions });
    regressed.outcome = report::decide(&regressed);
    vec![
        ("pass", pass, Conclusion::Passed, 0, ""),
        ("fail-on-check", on_check, Conclusion::Failed, 1, "baseline: p95_ms failed"),
        ("fail-on-expectation", on_expectation, Conclusion::Failed, 1, "expectation severity broken"),
        ("harness-error", harness, Conclusion::Error, 2, "fault kill-lsp failed"),
        ("interrupted", interrupted, Conclusion::Interrupted, 2, "interrupted before the timeline ended"),
        ("baseline-regression", regressed, Conclusion::Failed, 1, "regression: error_rate of all in phase fault"),
    ]
}

/// The `run/outcome` test case of a junit.xml: its element (`failure`, `error` or none) and message.
fn junit_outcome(xml: &str) -> (Option<String>, Option<String>) {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut inside = false;
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(e) | Event::Empty(e) if e.name().as_ref() == b"testcase" => {
                let attr = |k: &[u8]| e.try_get_attribute(k).unwrap().map(|a| a.unescape_value().unwrap().into_owned());
                inside = attr(b"classname").as_deref() == Some("run") && attr(b"name").as_deref() == Some("outcome");
                if inside && matches!(reader.read_event(), Ok(Event::End(_))) {
                    return (None, None);
                }
            }
            Event::Start(e) | Event::Empty(e) if inside && matches!(e.name().as_ref(), b"failure" | b"error") => {
                let message = e.try_get_attribute("message").unwrap().map(|a| a.unescape_value().unwrap().into_owned());
                return (Some(String::from_utf8_lossy(e.name().as_ref()).into_owned()), message);
            }
            Event::End(e) if inside && e.name().as_ref() == b"testcase" => return (None, None),
            Event::Eof => panic!("no run/outcome test case in {xml}"),
            _ => {}
        }
    }
}

#[test]
fn every_format_agrees_with_the_outcome_for_every_outcome() {
    for (name, report, conclusion, code, reason) in cases() {
        assert_eq!(report.outcome.conclusion, conclusion, "{name}: {:?}", report.outcome);
        assert_eq!(report.outcome.conclusion.exit_code(), code, "{name}");
        let gave = report.outcome.reasons.iter().any(|r| r.contains(reason));
        assert!(
            gave || (reason.is_empty() && report.outcome.reasons.is_empty()),
            "{name}: {:?}",
            report.outcome.reasons
        );
        let headline = report::headline(&report);
        assert!(headline.starts_with(&format!("{}: ", conclusion.word())), "{name}: {headline}");
        let console = report::headline_and_reasons(&report);
        assert_eq!(console.lines().next(), Some(headline.as_str()), "{name}: the console's first line");

        let dir = tmp(&format!("outcome-{name}"));
        report::render_all(&report, &dir, &[Format::Json, Format::Html, Format::Junit, Format::Md]).unwrap();
        let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap();
        let back = report::read_json(&dir.join("report.json")).unwrap();
        assert_eq!(back.outcome, report.outcome, "{name}: report.json carries the outcome");
        assert_eq!(back.errors, report.errors, "{name}: and the errors");
        assert!(read("summary.md").contains(&format!("**{headline}**")), "{name}: summary.md");
        assert!(read("postmortem.md").contains(&format!("**Drill outcome:** {headline}")), "{name}: postmortem.md");
        let cls = if code == 0 { "pass" } else { "fail" };
        let html = read("report.html");
        assert!(html.contains(&format!("<p class=\"verdict {cls}\" id=verdict>{headline}</p>")), "{name}: report.html");
        let (element, message) = junit_outcome(&read("junit.xml"));
        let want = match conclusion {
            Conclusion::Passed | Conclusion::Observed => None,
            Conclusion::Failed => Some("failure"),
            Conclusion::Error | Conclusion::Interrupted => Some("error"),
        };
        assert_eq!(element.as_deref(), want, "{name}: junit.xml");
        assert_eq!(message, want.map(|_| headline.clone()), "{name}: junit.xml's message is the headline");
        for r in &report.outcome.reasons {
            assert!(read("summary.md").contains(r.as_str()) || r.contains('|'), "{name}: reason {r:?} in summary.md");
        }
    }
}

/// Baseline 2 s, the DAP killed for 5 s, recovery 3 s; `expect` is the `[expect]` table or nothing.
fn killed_dap(expect: &str) -> String {
    format!(
        "[load]\nrate = 100\n[[phase]]\nname = \"baseline\"\nduration = \"2s\"\n[[phase]]\nname = \"fault\"\n\
         duration = \"5s\"\nfaults = [\"dap\"]\n[[phase]]\nname = \"recovery\"\nduration = \"3s\"\n[[fault]]\n\
         name = \"dap\"\n[fault.kill_process]\nsim = \"dap\"\nsignal = \"KILL\"\nrestart = true\n{expect}"
    )
}

#[test]
fn without_expect_an_incident_fails_and_observe_only_passes() {
    let run = |name: &str, body: String| {
        let dir = tmp(name);
        std::fs::write(dir.join("s.toml"), body).unwrap();
        let journal = dir.join("journal.jsonl");
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_spacetime-drill"))
            .args(["run", dir.join("s.toml").to_str().unwrap(), "--quiet", "--format", "md"])
            .arg("--out")
            .arg(dir.join("out"))
            .env("SPACETIME_DRILL_JOURNAL", journal)
            .output()
            .unwrap();
        let summary = std::fs::read_to_string(dir.join("out/summary.md")).unwrap_or_default();
        (o.status.code(), String::from_utf8_lossy(&o.stdout).into_owned(), summary)
    };
    let (gate, observe) = std::thread::scope(|s| {
        let gate = s.spawn(|| run("outcome-no-expect", killed_dap("")));
        let observe = s.spawn(|| run("outcome-observe", killed_dap("[expect]\nincident = \"any\"\n")));
        (gate.join().unwrap(), observe.join().unwrap())
    });
    let (code, stdout, summary) = gate;
    assert_eq!(code, Some(1), "no [expect] means healthy, and the DAP died:\n{stdout}");
    let headline = stdout.lines().find(|l| l.starts_with("FAIL: ")).unwrap_or_else(|| panic!("{stdout}"));
    assert!(headline.contains("high_error_rate P1"), "{headline}");
    assert!(summary.contains(&format!("**{headline}**")), "the console and summary.md agree: {summary}");
    assert!(stdout.contains("expectation healthy broken"), "{stdout}");
    let (code, stdout, summary) = observe;
    assert_eq!(code, Some(0), "observe-only exits 0 whatever it saw:\n{stdout}");
    let headline = stdout.lines().find(|l| l.starts_with("OBSERVED: ")).unwrap_or_else(|| panic!("{stdout}"));
    assert!(headline.contains("high_error_rate P1"), "{headline}");
    assert!(summary.contains(&format!("**{headline}**")), "{summary}");
}

/// `(code, meaning)` of `EXIT_CODES`, continuation lines joined.
fn exit_codes() -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in spacetime_drill::cli::EXIT_CODES.lines().skip(1) {
        match line.strip_prefix("  ").and_then(|l| l.split_once("  ")) {
            Some((code, text)) if code.parse::<u8>().is_ok() => out.push((code.into(), text.into())),
            _ => {
                let last = out.last_mut().expect("a continuation follows a code");
                last.1 = format!("{} {}", last.1, line.trim());
            }
        }
    }
    out
}

#[test]
fn the_readme_exit_code_table_is_the_help_text() {
    let codes = exit_codes();
    assert_eq!(codes.iter().map(|(c, _)| c.as_str()).collect::<Vec<_>>(), ["0", "1", "2"]);
    let readme = std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    for (code, text) in &codes {
        assert!(readme.contains(&format!("| {code} | {text} |")), "README.md lacks the row `| {code} | {text} |`");
    }
    let help = super::fixture::bin(&["--help"]);
    let help = String::from_utf8(help.stdout).unwrap();
    assert!(help.contains(spacetime_drill::cli::EXIT_CODES), "--help prints the table: {help}");
    // And the words match what the outcome exits with.
    for (conclusion, code) in
        [(Conclusion::Passed, "0"), (Conclusion::Observed, "0"), (Conclusion::Failed, "1"), (Conclusion::Error, "2")]
    {
        let (_, text) = codes.iter().find(|(c, _)| c == code).unwrap();
        let word = format!("{conclusion:?}").to_lowercase();
        assert!(text.contains(&word), "exit {code} should say {word}: {text}");
    }
    assert!(codes[2].1.contains("interrupted"));
}

/// Kills the simulator it holds when dropped.
struct Sim(std::process::Child);

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_real_run_whose_signal_was_not_measured_is_an_error_everywhere() {
    let dir = tmp("outcome-harness-error");
    let ports = dir.join("ports.json");
    let sim = std::process::Command::new(env!("CARGO_BIN_EXE_spacetime-drill"))
        .args(["sim", "--http-port", "0", "--telemetry-port", "0", "--dap-port", "0", "--lsp-port", "0"])
        .arg("--ports-file")
        .arg(&ports)
        .arg("--data-dir")
        .arg(dir.join("data"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let _sim = Sim(sim);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let ports: serde_json::Value = loop {
        if let Some(v) = std::fs::read_to_string(&ports).ok().and_then(|t| serde_json::from_str(&t).ok()) {
            break v;
        }
        assert!(std::time::Instant::now() < deadline, "the simulator did not start");
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    // A telemetry port nothing listens on, and a baseline of another scenario: two harness errors.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    std::fs::write(dir.join("s.toml"), "[load]\nrate = 30\n[[phase]]\nname = \"p\"\nduration = \"2s\"\n").unwrap();
    let golden = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/reports/v3.json");
    let out = dir.join("out");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_spacetime-drill"))
        .args(["run", dir.join("s.toml").to_str().unwrap(), "--quiet", "--format", "md,junit"])
        .args(["--target", &format!("http://127.0.0.1:{}", ports["http"])])
        .args(["--telemetry", &format!("ws://127.0.0.1:{closed}")])
        .arg("--baseline")
        .arg(&golden)
        .arg("--out")
        .arg(&out)
        .env("SPACETIME_DRILL_JOURNAL", dir.join("journal.jsonl"))
        .output()
        .unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert_eq!(o.status.code(), Some(2), "{stdout}{stderr}");
    let report = report::read_json(&out.join("report.json")).unwrap();
    assert_eq!(report.outcome.conclusion, Conclusion::Error);
    let wanted = ["telemetry was not measured", "does not compare: different scenarios"];
    for says in wanted {
        assert!(report.errors.iter().any(|e| e.contains(says)), "{says}: {:?}", report.errors);
        assert!(stderr.contains(says), "{says} on stderr: {stderr}");
    }
    let headline = report::headline(&report);
    assert!(headline.starts_with("ERROR: ") && stdout.contains(&headline), "{stdout}");
    let summary = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(summary.contains(&format!("**{headline}**")), "{summary}");
    assert_eq!(junit_outcome(&std::fs::read_to_string(out.join("junit.xml")).unwrap()).0.as_deref(), Some("error"));
}

#[test]
fn run_refuses_a_tolerance_that_is_not_one_naming_the_flag() {
    let o = super::fixture::bin(&["run", "scenarios/ci-gate.toml", "--baseline", "x.json", "--fps-drop", "nan"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("--fps-drop") && err.contains("not a tolerance"), "{err}");
}
