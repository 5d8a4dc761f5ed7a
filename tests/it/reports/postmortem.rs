//! `postmortem.md` for the killed-DAP drill: the runbook template's sections, a timeline with injection, detection
//! (with time to detect), rollback and recovery in order, impact from the measured figures, prompts for people.

use spacetime_drill::report::{PROMPT, render_postmortem};

use super::fixture::{drill_report, render};

#[test]
fn the_postmortem_follows_the_template_and_orders_the_timeline() {
    let drill = drill_report();
    let md = render(render_postmortem, &drill);
    let sections = [
        "## Summary",
        "## Timeline",
        "## Root Cause",
        "## Impact",
        "## What Went Well",
        "## What Went Wrong",
        "## Action Items",
    ];
    let at: Vec<usize> = sections.iter().map(|s| md.find(s).unwrap_or_else(|| panic!("{s} missing:\n{md}"))).collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "sections in the template's order");
    assert!(md.contains("**Severity:** P1"), "{md}");

    let timeline = &md[at[1]..at[2]];
    assert!(timeline.contains("| Time | Event |"));
    let row = |what: &str| {
        timeline
            .lines()
            .position(|l| l.starts_with("| T+") && l.contains(what))
            .unwrap_or_else(|| panic!("no {what:?} row:\n{timeline}"))
    };
    let order = [
        row("fault dap-down injected"),
        row("detected high_error_rate"),
        row("fault dap-down rolled back"),
        row("recovered"),
    ];
    assert!(order.windows(2).all(|w| w[0] < w[1]), "injection, detection, rollback, recovery in order:\n{timeline}");
    let detection = timeline.lines().nth(order[1]).unwrap();
    let ttd = drill.verdict.as_ref().unwrap().faults[0].time_to_detect(None).unwrap();
    assert!(detection.contains(&format!("{ttd:.1} s after dap-down was injected")), "{detection}");
    assert!(detection.contains("(10:00:"), "wall-clock time beside run time: {detection}");
    assert!(timeline.contains("severity none → P"), "severity changes are in the timeline:\n{timeline}");

    let root = &md[at[2]..at[3]];
    assert!(root.contains("SIGKILL to the DAP server"), "{root}");
    let impact = &md[at[3]..at[4]];
    assert!(impact.contains("error rate") && impact.contains("p95 latency") && impact.contains("requests affected"));
    let went_wrong = &md[at[5]..at[6]];
    assert!(went_wrong.contains("`detect_within` broken"), "{went_wrong}");
    for s in &sections[4..] {
        let body = &md[md.find(s).unwrap()..];
        let next = body[3..].find("\n## ").map_or(body.len(), |i| i + 3);
        assert!(body[..next].contains(PROMPT), "{s} leaves a prompt for a person");
    }
    for secret in ["token", "secret", "eyJ", "Bearer"] {
        assert!(!md.to_lowercase().contains(&secret.to_lowercase()), "{secret:?} in the post-mortem");
    }
}
