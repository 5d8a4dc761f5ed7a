//! Incident 3 from FPS alone: the frame rate below the contract's alert level for two windows in a row is P2,
//! below half the target P1, whatever HTTP latency did; a single dip pages no one.

use crate::api::Endpoint;

use super::testkit::{SecondExt, healthy, timeline};
use super::*;

/// 10 s healthy, 15 s at `fps` (HTTP unchanged: 20 ms), 15 s healthy; the frame work injected at 10, rolled back at 25.
fn collapse(fps: f64) -> Run {
    let low = move |t| healthy(t).fps(fps - 2.0, fps);
    timeline()
        .phase("baseline", 10, healthy)
        .phase("collapse", 15, low)
        .phase("recovery", 15, healthy)
        .fault("frame-work", 10.0, Some(25.0))
        .build()
}

fn slow_in(v: &Verdict, phase: &str) -> Option<Severity> {
    let p = v.phases.iter().find(|p| p.name == phase).unwrap();
    p.incidents.iter().find(|f| f.incident == Incident::SlowResponses).map(|f| f.severity)
}

#[test]
fn fps_below_half_the_target_is_p1_with_fast_http() {
    let v = judge(&collapse(40.0), &Profile::default());
    assert_eq!(v.seen(), [(Incident::SlowResponses, Severity::P1)]);
    assert_eq!(slow_in(&v, "collapse"), Some(Severity::P1));
    assert_eq!(slow_in(&v, "baseline"), None);
    let f = &v.phases[1].incidents[0];
    assert_eq!(f.evidence[0].to_string(), "fps_median 40 < 45", "{:?}", f.evidence);
    assert!(f.evidence.iter().any(|e| e.metric == "p95_ms" && e.measured < 25.0), "HTTP stayed fast: {:?}", f.evidence);
    // Detected at the end of the second window in a row whose median FPS is low: [8,13) is the first with 3 low
    // seconds of 5 (its median is low), [9,14) the second: 14 - 10 = 4 s.
    let d = &v.faults[0].detections[0];
    assert_eq!((d.incident, d.severity, d.after_s), (Incident::SlowResponses, Severity::P1, 4.0));
    assert!(v.faults[0].recovery.is_some(), "recovered once FPS came back");
}

#[test]
fn fps_under_the_alert_level_is_p2_and_over_it_nothing() {
    assert_eq!(judge(&collapse(70.0), &Profile::default()).seen(), [(Incident::SlowResponses, Severity::P2)]);
    assert_eq!(judge(&collapse(45.0), &Profile::default()).seen(), [(Incident::SlowResponses, Severity::P2)]);
    assert_eq!(judge(&collapse(44.9), &Profile::default()).seen(), [(Incident::SlowResponses, Severity::P1)]);
    assert_eq!(judge(&collapse(85.0), &Profile::default()).seen(), []);
}

#[test]
fn one_low_window_is_not_an_incident_two_are() {
    // Non-overlapping windows make "one window" exact: seconds 10-14 low is one window, 10-19 two.
    let p = Profile { step: std::time::Duration::from_secs(5), ..Profile::default() };
    let dip = |until| {
        timeline().phase(
            "p",
            30,
            move |t| if (10..until).contains(&t) { healthy(t).fps(30.0, 30.0) } else { healthy(t) },
        )
    };
    assert_eq!(judge(&dip(15).build(), &p).seen(), []);
    assert_eq!(judge(&dip(20).build(), &p).seen(), [(Incident::SlowResponses, Severity::P1)]);
    let eager = Profile { fps_windows: 1, ..p };
    assert_eq!(judge(&dip(15).build(), &eager).seen(), [(Incident::SlowResponses, Severity::P1)]);
}

#[test]
fn slow_http_and_low_fps_are_one_incident_at_the_worse_severity() {
    let both = |t| healthy(t).ok(Endpoint::Status, 100, 600.0).fps(70.0, 70.0);
    let v = judge(&timeline().phase("p", 20, both).build(), &Profile::default());
    let f: Vec<&Finding> = v.phases[0].incidents.iter().collect();
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].incident, Incident::SlowResponses);
    assert_eq!(f[0].severity, Severity::P2);
    let metrics: Vec<&str> = f[0].evidence.iter().map(|e| e.metric.as_str()).collect();
    assert!(metrics.contains(&"fps_median") && metrics.contains(&"p95_ms"), "{metrics:?}");
}

#[test]
fn the_fps_thresholds_are_named_and_checked() {
    let t: Thresholds = toml::from_str("fps_alert = 60\nfps_p1 = 30\nfps_windows = 3").unwrap();
    assert!(t.resolve().problems().is_empty());
    let crossed: Thresholds = toml::from_str("fps_p1 = 90").unwrap();
    let keys: Vec<&str> = crossed.resolve().problems().iter().map(|p| p.key).collect();
    assert_eq!(keys, ["fps_alert"]);
}
