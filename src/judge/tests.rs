//! The judge on whole hand-made runs: consecutive windows, detection, recovery, transitions and phases.

use crate::api::{Endpoint, ServiceState};
use crate::record::Outcome;

use std::time::Duration;

use super::testkit::{SecondExt, dead, healthy, sec, timeline};
use super::*;

fn incidents_of(v: &Verdict) -> Vec<(Incident, Severity)> {
    v.seen()
}

fn slow(t: u32) -> Second {
    sec(t).ok(Endpoint::Status, 100, 600.0).probe(true, 10.0).fps(90.0, 90.0)
}

#[test]
fn one_slow_request_never_pages() {
    let run = timeline()
        .phase("baseline", 30, |t| if t == 12 { healthy(t).ok(Endpoint::Status, 1, 5000.0) } else { healthy(t) })
        .build();
    let v = judge(&run, &Profile::default());
    assert_eq!(v.worst, None);
    assert!(v.phases[0].healthy, "{:?}", v.phases[0].checks);
}

#[test]
fn one_slow_window_does_not_count_two_consecutive_do() {
    // Windows that do not overlap make "one window" exact.
    let p = Profile { step: Duration::from_secs(5), ..two_windows() };
    let once = timeline().phase("p", 30, |t| if (10..15).contains(&t) { slow(t) } else { healthy(t) }).build();
    assert_eq!(incidents_of(&judge(&once, &p)), []);
    let twice = timeline().phase("p", 30, |t| if (10..20).contains(&t) { slow(t) } else { healthy(t) }).build();
    let v = judge(&twice, &p);
    assert_eq!(incidents_of(&v), [(Incident::SlowResponses, Severity::P2)]);
    let first = v.windows.iter().find(|w| !w.incidents.is_empty()).unwrap();
    assert_eq!((first.start_s, first.end_s), (15, 20));
    // Counting immediately (one window) pages on the first.
    let eager = Profile { consecutive_windows: 1, ..p };
    assert_eq!(judge(&once, &eager).windows.iter().filter(|w| !w.incidents.is_empty()).count(), 1);
}

/// A rule counts after two consecutive windows (the default is one).
fn two_windows() -> Profile {
    Profile { consecutive_windows: 2, ..Profile::default() }
}

/// baseline 0-10, fault 10-20 (`fault` seconds), recovery 20-30 (`recovery` seconds); injected at `at`, rolled back 20.
fn drill(fault: impl Fn(u32) -> Second, recovery: impl Fn(u32) -> Second, at: f64) -> Run {
    timeline()
        .phase("baseline", 10, healthy)
        .phase("fault", 10, fault)
        .phase("recovery", 10, recovery)
        .fault("kill", at, Some(20.0))
        .build()
}

#[test]
fn killed_api_is_only_api_unresponsive_detected_in_a_second() {
    let v = judge(&drill(dead, healthy, 10.0), &Profile::default());
    assert_eq!(incidents_of(&v), [(Incident::ApiUnresponsive, Severity::P0)]);
    let f = &v.faults[0];
    assert_eq!(f.time_to_detect(Some(Incident::ApiUnresponsive)), Some(1.0));
    assert_eq!(f.time_to_recover(), Some(0.0));
    assert_eq!(v.transitions.len(), 2);
    assert_eq!((v.transitions[0].t, v.transitions[0].from, v.transitions[0].to), (11.0, None, Some(Severity::P0)));
    assert_eq!((v.transitions[1].t, v.transitions[1].to), (25.0, None));
    let healthy_phases: Vec<bool> = v.phases.iter().map(|p| p.healthy).collect();
    assert_eq!(healthy_phases, [true, false, true]);
    assert_eq!(v.phases[1].worst, Some(Severity::P0));
}

#[test]
fn a_kill_mid_second_and_a_slow_restart_are_still_one_incident() {
    let half = |t| if t == 10 { healthy(t).fail(Endpoint::Status, Outcome::ConnectRefused, 44) } else { dead(t) };
    let restarting = |t| if t < 24 { dead(t) } else { healthy(t) };
    // Two consecutive windows, as for a noisy target: the half second before the outage is not an incident of its
    // own (with one, it shows as a high error rate of one window before the P0).
    let v = judge(&drill(half, restarting, 10.5), &two_windows());
    assert_eq!(incidents_of(&v), [(Incident::ApiUnresponsive, Severity::P0)]);
    assert_eq!(v.faults[0].time_to_detect(None), Some(1.5));
    assert_eq!(v.faults[0].recovery, Some(Recovery { at_s: 24.0, after_s: 4.0 }));
    // The recovery phase held the outage at first; its checks are taken from the recovery on.
    assert_eq!(v.phases[2].worst, Some(Severity::P0));
    assert_eq!(v.phases[2].checks_from_s, 24.0);
    assert!(v.phases[2].checks.iter().all(|c| !c.failed()), "{:?}", v.phases[2].checks);
}

fn dap_killed(t: u32) -> Second {
    healthy(t).fail(Endpoint::DebugEvaluate, Outcome::Unavailable, 22).dap(ServiceState::Disconnected)
}

fn dap_reconnecting(t: u32) -> Second {
    if t < 23 { healthy(t).dap(ServiceState::Connecting) } else { healthy(t) }
}

#[test]
fn killed_dap_escalates_p2_to_p1_and_recovers_when_ready_again() {
    let v = judge(&drill(dap_killed, dap_reconnecting, 10.0), &two_windows());
    assert_eq!(incidents_of(&v), [(Incident::HighErrorRate, Severity::P1)]);
    let f = &v.faults[0];
    assert_eq!(f.detections.len(), 1);
    assert_eq!((f.detections[0].severity, f.detections[0].after_s), (Severity::P2, 2.0));
    let changes: Vec<(f64, Option<Severity>, Option<Severity>)> =
        v.transitions.iter().map(|t| (t.t, t.from, t.to)).collect();
    // Windows still holding the fault's last seconds de-escalate through P2 as they slide past it.
    let (p1, p2) = (Some(Severity::P1), Some(Severity::P2));
    assert_eq!(changes, [(12.0, None, p2), (13.0, p2, p1), (24.0, p1, p2), (25.0, p2, None)]);
    // overall_ready is false until 23: that is when it recovered, not when the errors stopped.
    assert_eq!(f.recovery, Some(Recovery { at_s: 23.0, after_s: 3.0 }));
    let evidence: Vec<String> = v.phases[1].incidents[0].evidence.iter().map(ToString::to_string).collect();
    assert!(evidence.iter().any(|e| e.starts_with("dap_not_connected_probes")), "{evidence:?}");
}

#[test]
fn a_fault_is_credited_only_with_what_it_made_new_or_worse() {
    let run = timeline()
        .phase("p", 30, |t| healthy(t).disk(if (10..20).contains(&t) { 97.0 } else { 90.0 }))
        .fault("fill", 10.0, Some(20.0))
        .fault("nothing", 25.0, None)
        .build();
    let v = judge(&run, &Profile::default());
    let fill = &v.faults[0];
    assert_eq!(fill.present_at_injection, [Incident::DiskExhaustion]);
    assert_eq!(
        fill.detections.iter().map(|d| (d.incident, d.severity)).collect::<Vec<_>>(),
        [(Incident::DiskExhaustion, Severity::P1)]
    );
    assert_eq!(v.faults[1].detections, []);
    assert_eq!(v.faults[1].present_at_injection, [Incident::DiskExhaustion]);
    assert_eq!(fill.recovery, None, "disk stays above 80 %: never healthy");
}

#[test]
fn a_phase_shorter_than_a_window_is_judged_whole() {
    let run = timeline()
        .phase("baseline", 10, healthy)
        .phase("blip", 3, |t| healthy(t).fail(Endpoint::Status, Outcome::Unauthorized, 44))
        .phase("after", 10, healthy)
        .build();
    let v = judge(&run, &Profile::default());
    assert_eq!(
        v.phases[1].incidents.iter().map(|f| (f.incident, f.severity)).collect::<Vec<_>>(),
        [(Incident::AuthFailures, Severity::P2)]
    );
    assert!(v.phases[0].healthy && v.phases[2].healthy);
}

#[test]
fn a_leak_is_detected_and_escalates_when_the_limit_is_near() {
    let leaking = |t: u32| healthy(t).mem(if t < 10 { 1000.0 } else { 1000.0 + f64::from(t - 10) * 2.0 });
    let far = timeline().phase("baseline", 10, leaking).phase("leak", 40, leaking).fault("leak", 10.0, None);
    let near = timeline()
        .phase("baseline", 10, leaking)
        .phase("leak", 40, leaking)
        .fault("leak", 10.0, None)
        .memory_limit(1500.0);
    let v = judge(&far.build(), &Profile::default());
    assert_eq!(incidents_of(&v), [(Incident::MemoryLeak, Severity::P2)]);
    let ttd = v.faults[0].time_to_detect(Some(Incident::MemoryLeak)).unwrap();
    // The trailing fit still holds baseline samples, which flatten it until the growth dominates.
    assert!(ttd > 0.0 && ttd <= 15.0, "{ttd}");
    assert!(v.phases[0].healthy);
    assert_eq!(judge(&near.build(), &Profile::default()).worst_of(Incident::MemoryLeak), Some(Severity::P1));
}

#[test]
fn the_judge_is_deterministic_and_serializes() {
    let run = drill(dap_killed, dap_reconnecting, 10.0);
    let (a, b) = (judge(&run, &Profile::default()), judge(&run, &Profile::default()));
    assert_eq!(a, b);
    let json = serde_json::to_value(&a).unwrap();
    assert_eq!(json["phases"][1]["incidents"][0]["incident"], "high_error_rate");
    assert_eq!(json["profile"]["p95_ms"], 200.0);
    assert_eq!(json["profile"]["window"], "5s");
}

#[test]
fn an_empty_run_has_no_verdict_to_give() {
    let v = judge(&Run::default(), &Profile::default());
    assert!(v.windows.is_empty() && v.phases.is_empty() && v.worst.is_none());
}
