//! Every rule just below and just above each of its thresholds, and the precedence between rules.

use crate::api::{Endpoint, ServiceState};
use crate::record::Outcome;

use super::super::finding::Finding;
use super::super::testkit::{SecondExt, dead, healthy, sec, stats};
use super::*;
use crate::runbook::Profile;
use crate::runbook::{Incident, Severity};

fn judged(secs: &[crate::judge::Second]) -> Vec<(Incident, Severity)> {
    let s = stats(secs);
    evaluate(&s, &s.memory, None, &Profile::default()).iter().map(|f| (f.incident, f.severity)).collect()
}

/// One second of 1000 `/status` requests, `n` of which ended with `outcome`.
fn thousand(outcome: Outcome, n: u64) -> crate::judge::Second {
    sec(0).ok(Endpoint::Status, 1000, 20.0).fail(Endpoint::Status, outcome, n).probe(true, 10.0)
}

#[test]
fn healthy_seconds_have_no_findings() {
    assert_eq!(judged(&(0..5).map(healthy).collect::<Vec<_>>()), []);
}

#[test]
fn api_unresponsive_from_95_pct_unanswered_with_status_unreachable() {
    let second = |lost: u64| {
        sec(0).ok(Endpoint::Status, 100 - lost, 5.0).req(Endpoint::SceneLoad, Outcome::Timeout, lost, 10_000.0)
    };
    assert_eq!(judged(&[second(95).probe(false, 0.0)]), [(Incident::ApiUnresponsive, Severity::P0)]);
    assert_eq!(
        judged(&[second(94).probe(false, 0.0)]),
        [(Incident::HighErrorRate, Severity::P1), (Incident::SlowResponses, Severity::P1)]
    );
    // /status answering means the API is up, however many requests were lost.
    assert!(!judged(&[second(100).probe(true, 5.0)]).contains(&(Incident::ApiUnresponsive, Severity::P0)));
    // No requests at all (users blocked on timeouts): the probe alone decides.
    assert_eq!(judged(&[sec(0).probe(false, 0.0)]), [(Incident::ApiUnresponsive, Severity::P0)]);
    assert_eq!(judged(&[sec(0).probe(true, 5.0)]), []);
}

#[test]
fn high_error_rate_boundaries_5_and_1_pct() {
    let of = |n| judged(&[thousand(Outcome::Unavailable, n)]);
    assert_eq!(of(51), [(Incident::HighErrorRate, Severity::P1)]);
    assert_eq!(of(50), [(Incident::HighErrorRate, Severity::P2)]);
    assert_eq!(of(10), [(Incident::HighErrorRate, Severity::P2)]);
    assert_eq!(of(9), []);
}

#[test]
fn high_error_rate_needs_min_requests() {
    let few = sec(0).ok(Endpoint::Status, 4, 5.0).fail(Endpoint::Status, Outcome::Unavailable, 4).probe(true, 5.0);
    assert_eq!(judged(&[few]), []);
}

#[test]
fn high_error_rate_names_failing_endpoints_and_a_killed_dap() {
    let s = healthy(0).fail(Endpoint::DebugEvaluate, Outcome::Unavailable, 20).dap(ServiceState::Disconnected);
    let f = high_error_rate(&stats(&[s]), &Profile::default(), false).unwrap();
    assert_eq!(f.severity, Severity::P1);
    let shown: Vec<String> = f.evidence.iter().map(ToString::to_string).collect();
    assert!(shown[0].starts_with("error_rate_pct 20 > 5"), "{shown:?}");
    assert!(shown.iter().any(|e| e.contains("/debug/evaluate") && e.contains("503×20")), "{shown:?}");
    assert!(
        shown.iter().any(|e| e.starts_with("dap_not_connected_probes 1") && e.contains("disconnected")),
        "{shown:?}"
    );
}

#[test]
fn slow_responses_boundaries_1s_500ms_300ms() {
    let at = |ms| judged(&[sec(0).ok(Endpoint::Status, 100, ms).probe(true, 5.0)]);
    assert_eq!(at(1001.0), [(Incident::SlowResponses, Severity::P1)]);
    assert_eq!(at(999.0), [(Incident::SlowResponses, Severity::P2)]);
    assert_eq!(at(501.0), [(Incident::SlowResponses, Severity::P2)]);
    assert_eq!(at(499.0), [(Incident::SlowResponses, Severity::P3)]);
    assert_eq!(at(301.0), [(Incident::SlowResponses, Severity::P3)]);
    assert_eq!(at(299.0), []);
}

#[test]
fn slow_responses_is_the_p95_not_the_max() {
    // 5 % slow: the p95 is still fast. 6 % slow: it is not.
    let mixed =
        |slow| sec(0).ok(Endpoint::Status, 100 - slow, 20.0).ok(Endpoint::SceneLoad, slow, 2000.0).probe(true, 5.0);
    assert_eq!(judged(&[mixed(5)]), []);
    assert_eq!(judged(&[mixed(6)]), [(Incident::SlowResponses, Severity::P1)]);
}

#[test]
fn low_fps_contributes_to_slow_responses_but_never_raises_it() {
    let s = sec(0).ok(Endpoint::Status, 100, 600.0).probe(true, 150.0).fps(70.0, 80.0);
    let f = slow_responses(&stats(&[s]), &Profile::default()).unwrap();
    let metrics: Vec<&str> = f.evidence.iter().map(|e| e.metric.as_str()).collect();
    assert_eq!(metrics, ["p95_ms", "p95_ms /status", "status_avg_ms", "fps_median"]);
    assert_eq!(judged(&[healthy(0).fps(60.0, 70.0)]), []);
}

#[test]
fn auth_failures_boundaries_95_and_1_pct_and_never_high_error_rate() {
    let of = |n| judged(&[thousand(Outcome::Unauthorized, n)]);
    assert_eq!(of(1000), [(Incident::AuthFailures, Severity::P1)]);
    assert_eq!(of(950), [(Incident::AuthFailures, Severity::P1)]);
    assert_eq!(of(949), [(Incident::AuthFailures, Severity::P2)]);
    assert_eq!(of(10), [(Incident::AuthFailures, Severity::P2)]);
    assert_eq!(of(9), []);
}

#[test]
fn scene_load_failures_boundaries_95_and_5_pct() {
    let of = |n| {
        judged(&[sec(0).ok(Endpoint::SceneLoad, 100, 20.0).fail(Endpoint::SceneLoad, Outcome::OtherServerError, n)])
    };
    assert_eq!(of(95), [(Incident::SceneLoadFailures, Severity::P1)]);
    assert_eq!(of(94), [(Incident::SceneLoadFailures, Severity::P2)]);
    assert_eq!(of(6), [(Incident::SceneLoadFailures, Severity::P2)]);
    assert_eq!(of(5), [(Incident::HighErrorRate, Severity::P2)]);
}

#[test]
fn scene_failures_are_not_also_a_high_error_rate_but_other_errors_still_are() {
    // All scene loads fail (404, scenes gone): 12 % of all requests, yet one incident.
    let gone = healthy(0).fail(Endpoint::SceneLoad, Outcome::NotFound, 12);
    assert_eq!(judged(std::slice::from_ref(&gone)), [(Incident::SceneLoadFailures, Severity::P1)]);
    // Plus a killed DAP: that is a second cause, and the rest of the errors still cross 5 %.
    let both = gone.fail(Endpoint::DebugEvaluate, Outcome::Unavailable, 22);
    assert_eq!(judged(&[both]), [(Incident::HighErrorRate, Severity::P1), (Incident::SceneLoadFailures, Severity::P1)]);
}

#[test]
fn a_down_second_masks_every_request_rule_but_not_disk_or_memory() {
    let slow_errors = healthy(1).fail(Endpoint::Status, Outcome::Unauthorized, 44).disk(96.0);
    assert_eq!(
        judged(&[dead(0), slow_errors]),
        [(Incident::ApiUnresponsive, Severity::P0), (Incident::DiskExhaustion, Severity::P1)]
    );
}

#[test]
fn a_partial_connection_flood_is_a_high_error_rate() {
    let flood = healthy(0).fail(Endpoint::Status, Outcome::ClosedWithoutResponse, 30);
    assert_eq!(judged(&[flood]), [(Incident::HighErrorRate, Severity::P1)]);
}

fn leak(per_min: f64, points: u32) -> Vec<(f64, f64)> {
    (0..points).map(|t| (f64::from(t), 1000.0 + f64::from(t) * per_min / 60.0)).collect()
}

fn leak_severity(memory: &[(f64, f64)], limit: Option<f64>) -> Option<Severity> {
    memory_leak(memory, limit, &Profile::default()).map(|f: Finding| f.severity)
}

#[test]
fn memory_leak_boundaries_slope_points_fit_and_time_to_limit() {
    assert_eq!(leak_severity(&leak(10.1, 30), None), Some(Severity::P2));
    assert_eq!(leak_severity(&leak(9.9, 30), None), None);
    assert_eq!(leak_severity(&leak(60.0, 10), None), Some(Severity::P2));
    assert_eq!(leak_severity(&leak(60.0, 9), None), None);
    // A saw tooth climbing slowly: a positive slope but a poor fit, not a leak.
    let noisy: Vec<(f64, f64)> =
        (0..30).map(|t| (f64::from(t), 1000.0 + f64::from(t) * 0.2 + if t % 2 == 0 { 30.0 } else { 0.0 })).collect();
    assert_eq!(leak_severity(&noisy, None), None);
    // 12 MB/min = 720 MB/h from about 1006 MB: a 1700 MB limit is under an hour away, 1750 MB over.
    assert_eq!(leak_severity(&leak(12.0, 30), Some(1700.0)), Some(Severity::P1));
    assert_eq!(leak_severity(&leak(12.0, 30), Some(1750.0)), Some(Severity::P2));
}

#[test]
fn disk_exhaustion_boundaries_95_85_80() {
    let at = |pct| judged(&[sec(0).disk(pct)]);
    assert_eq!(at(95.1), [(Incident::DiskExhaustion, Severity::P1)]);
    assert_eq!(at(95.0), [(Incident::DiskExhaustion, Severity::P2)]);
    assert_eq!(at(85.1), [(Incident::DiskExhaustion, Severity::P2)]);
    assert_eq!(at(85.0), [(Incident::DiskExhaustion, Severity::P3)]);
    assert_eq!(at(80.1), [(Incident::DiskExhaustion, Severity::P3)]);
    assert_eq!(at(80.0), []);
}
