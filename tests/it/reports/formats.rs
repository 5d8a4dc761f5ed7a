//! Every format from a real run's report (via `spacetime-drill report`) and from a judged drill, and the JUnit
//! parsed back.

use quick_xml::events::Event;
use spacetime_drill::judge::CheckState;
use spacetime_drill::report::{self, Format, render_junit};

use super::fixture::{DRILL_BROKEN, bin, drill_report, judged, render, short_report, tmp};

const ALL: [&str; 5] = ["report.json", "report.html", "junit.xml", "summary.md", "postmortem.md"];

#[test]
fn every_format_renders_from_a_real_run_and_holds_no_token() {
    let report = short_report();
    let out = tmp("rerender");
    let o =
        bin(&["report", report.to_str().unwrap(), "--format", "json,html,junit,md", "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let printed = String::from_utf8_lossy(&o.stdout);
    for name in ALL {
        let text = std::fs::read_to_string(out.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(printed.contains(name), "{name} not listed in {printed}");
        // The run used a minted JWT (every JWT starts with a base64 `{"`): it must not leak into any format.
        assert!(!text.contains("eyJ") && !text.contains("Bearer"), "{name} holds a token");
    }
    let back = report::read_json(&out.join("report.json")).expect("re-rendered JSON reads back");
    assert_eq!(back.record, report::read_json(report).unwrap().record, "JSON re-render is lossless");
    assert!(back.target.authenticated);
    let summary = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(summary.contains("### baseline") && summary.contains("### after") && summary.contains("| /status |"));
    // Judged by the run itself: a healthy simulator shows no incident (a check may still dip on a busy machine).
    assert!(summary.contains(": no incident**"), "{summary}");
}

#[test]
fn every_format_renders_from_a_judged_report() {
    let healthy = judged(report::read_json(short_report()).unwrap());
    let summary = render(report::render_summary, &healthy);
    assert!(summary.contains(": no incident**"), "{summary}");

    let drill = drill_report();
    let dir = tmp("judged");
    let files = report::render_all(&drill, &dir, &[Format::Md, Format::Junit, Format::Html, Format::Json, Format::Md])
        .expect("renders");
    let names: Vec<_> = files.iter().map(|f| f.file_name().unwrap().to_str().unwrap().to_owned()).collect();
    assert_eq!(names, ALL, "each format once, in format order");
    let back = report::read_json(&dir.join("report.json")).unwrap();
    assert_eq!(back.verdict, drill.verdict, "the verdict survives JSON");
    let summary = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    assert!(summary.contains("**FAIL: high_error_rate P1**"), "{summary}");
    assert!(summary.contains("| severity | ❌ FAIL | P1 | high_error_rate P2 |"), "{summary}");
    assert!(summary.contains("Failed checks: error_rate_pct"), "{summary}");
}

/// `(classname, name, failure message)` of every test case.
fn cases(xml: &str) -> Vec<(String, String, Option<String>)> {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut out: Vec<(String, String, Option<String>)> = Vec::new();
    let attr = |e: &quick_xml::events::BytesStart, key: &[u8]| {
        e.try_get_attribute(key).unwrap().map(|a| a.unescape_value().unwrap().into_owned()).unwrap_or_default()
    };
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(e) | Event::Empty(e) if e.name().as_ref() == b"testcase" => {
                out.push((attr(&e, b"classname"), attr(&e, b"name"), None));
            }
            Event::Start(e) | Event::Empty(e) if e.name().as_ref() == b"failure" => {
                out.last_mut().expect("failure inside a testcase").2 = Some(attr(&e, b"message"));
            }
            Event::Eof => return out,
            _ => {}
        }
    }
}

#[test]
fn junit_has_one_failing_case_per_broken_expectation_and_check() {
    let drill = drill_report();
    let xml = render(render_junit, &drill);
    let cases = cases(&xml);
    let failing = |class: &str| -> Vec<(String, String)> {
        cases
            .iter()
            .filter(|c| c.0.starts_with(class) && c.2.is_some())
            .map(|c| (c.1.clone(), c.2.clone().unwrap()))
            .collect()
    };
    let broken: Vec<String> = failing("expect").into_iter().map(|(n, _)| n).collect();
    assert_eq!(broken, DRILL_BROKEN);
    let verdict = drill.verdict.as_ref().unwrap();
    let want: Vec<String> = verdict
        .phases
        .iter()
        .flat_map(|p| {
            p.checks.iter().filter(|c| c.state == CheckState::Fail).map(move |c| format!("{}/{}", p.name, c.name))
        })
        .collect();
    assert!(!want.is_empty(), "the fault phase fails runbook checks");
    let got: Vec<String> = cases
        .iter()
        .filter(|c| c.0.starts_with("phase.") && c.2.is_some())
        .map(|c| format!("{}/{}", c.0.trim_start_matches("phase."), c.1))
        .collect();
    assert_eq!(got, want);
    let (_, msg) = failing("phase.fault").into_iter().find(|(n, _)| n == "error_rate_pct").expect("error rate failed");
    assert!(msg.contains("measured 25.000") && msg.contains("threshold < 1"), "{msg}");
    let (_, msg) = failing("expect").into_iter().find(|(n, _)| n == "severity").unwrap();
    assert!(msg.contains("measured P1") && msg.contains("wanted high_error_rate P2"), "{msg}");
    let checks = verdict.phases.iter().map(|p| p.checks.len()).sum::<usize>();
    assert_eq!(cases.len(), 1 + checks + drill.expectations.len(), "run + every check + every expectation");
}
