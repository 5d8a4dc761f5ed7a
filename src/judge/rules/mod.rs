//! One rule per runbook incident: a span's aggregate stats → at most one finding with its severity and evidence.
//!
//! Precedence, so that one cause is reported as the one incident the runbook would name (see [`evaluate`]):
//! 1. A span containing a second in which the API was down is `api_unresponsive` only, as far as requests go:
//!    while the API does not answer, every error rate and latency is the outage's symptom. The seconds around the
//!    outage that were not down on their own (the second it died in) are then at most one window on each side, which
//!    the consecutive-window rule absorbs.
//! 2. A 401 is always `auth_failures` evidence and never counts toward `high_error_rate`: rotated keys make every
//!    request fail, and the runbook names that Incident 4, not 2.
//! 3. Answered errors of `/scene/load` are `scene_load_failures` when that rule fires, and are then left out of
//!    `high_error_rate`, which judges the rest; when it does not fire they count as ordinary errors.
//! 4. Unanswered requests in seconds that were not down (a connection flood closing some connections) are ordinary
//!    errors: `high_error_rate`.
//! 5. `slow_responses`, `memory_leak` and `disk_exhaustion` are independent signals and may accompany any other.
//!    Disk exhaustion that breaks scene loads is both incidents: the cause and the symptom each have a runbook entry.
//!
//! A killed or disconnected DAP/LSP seen by `/status` is evidence for `high_error_rate` (its scenario C), not an
//! incident by itself: without requests failing, nothing the runbook measures has deviated, and the `overall_ready`
//! verification check already fails.

use crate::api::Endpoint;
use crate::record::Outcome;

use super::finding::{Cmp, Evidence, Finding};
use super::stats::{self, EndpointAgg, Stats, pct, quantile, unanswered, us_to_ms};
use crate::runbook::Profile;
use crate::runbook::{Incident, Severity};

#[cfg(test)]
mod tests;

/// Every finding in a span, in [`Incident`] order, with the precedence above applied. `memory` is the trailing
/// resident-memory series the leak rule fits, `memory_limit_mb` the limit it projects against.
pub fn evaluate(s: &Stats, memory: &[(f64, f64)], memory_limit_mb: Option<f64>, p: &Profile) -> Vec<Finding> {
    let mut out = Vec::new();
    if let Some(f) = api_unresponsive(s, p) {
        out.push(f);
    } else {
        let scene = scene_load_failures(s, p);
        out.extend(high_error_rate(s, p, scene.is_some()));
        out.extend(slow_responses(s, p));
        out.extend(auth_failures(s, p));
        out.extend(scene);
    }
    out.extend(memory_leak(memory, memory_limit_mb, p));
    out.extend(disk_exhaustion(s, p));
    out
}

/// The first tier whose comparison holds: tiers go from most to least severe.
fn tier(measured: f64, tiers: &[(Severity, Cmp, f64)]) -> Option<(Severity, Cmp, f64)> {
    tiers.iter().copied().find(|&(_, cmp, threshold)| cmp.holds(measured, threshold))
}

fn finding(incident: Incident, metric: &str, measured: f64, tiers: &[(Severity, Cmp, f64)]) -> Option<Finding> {
    let (severity, cmp, threshold) = tier(measured, tiers)?;
    Some(Finding { incident, severity, evidence: vec![Evidence::broke(metric, measured, cmp, threshold)] })
}

/// "outcome×count, ..." for the outcomes `keep` selects, most frequent first.
fn kinds(outcomes: &[u64; Outcome::COUNT], keep: impl Fn(Outcome) -> bool) -> String {
    let mut v: Vec<(Outcome, u64)> = Outcome::ALL
        .into_iter()
        .filter(|&o| keep(o) && outcomes[o.index()] > 0)
        .map(|o| (o, outcomes[o.index()]))
        .collect();
    v.sort_by_key(|&(_, n)| std::cmp::Reverse(n));
    v.iter().map(|(o, n)| format!("{}×{n}", o.label())).collect::<Vec<_>>().join(", ")
}

/// Incident 1, P0: at least one second of the span was down (see [`stats::is_down`]).
pub fn api_unresponsive(s: &Stats, p: &Profile) -> Option<Finding> {
    if s.down_seconds == 0 {
        return None;
    }
    let total: u64 = s.down_outcomes.iter().sum();
    let mut evidence = vec![Evidence::broke("down_seconds", f64::from(s.down_seconds), Cmp::Gt, 0.0)];
    if total > 0 {
        let share = pct(unanswered(&s.down_outcomes), total);
        evidence.push(Evidence::broke("unanswered_pct", share, Cmp::Ge, p.unresponsive_pct));
        evidence.push(Evidence::context(
            "requests_in_down_seconds",
            total as f64,
            kinds(&s.down_outcomes, |o| o != Outcome::Ok),
        ));
    }
    if s.probes.probes > 0 {
        let reachable = f64::from(s.probes.reachable);
        evidence.push(Evidence::context("status_probes_reachable", reachable, format!("of {}", s.probes.probes)));
    }
    Some(Finding { incident: Incident::ApiUnresponsive, severity: Severity::P0, evidence })
}

/// The errors `high_error_rate` counts on one endpoint (precedence rules 2-4).
fn counted_errors(e: &EndpointAgg, endpoint: Endpoint, scene_attributed: bool) -> [u64; Outcome::COUNT] {
    let mut errors = e.outcomes;
    errors[Outcome::Ok.index()] = 0;
    errors[Outcome::Unauthorized.index()] = 0;
    if scene_attributed && endpoint == Endpoint::SceneLoad {
        for o in Outcome::ALL.into_iter().filter(|o| !o.is_unanswered()) {
            errors[o.index()] = 0;
        }
    }
    errors
}

/// Incident 2: the share of requests that failed, > 5 % P1, 1-5 % P2, with the failing endpoints and their error
/// kinds, and the DAP/LSP state from `/status` (scenario C), as evidence.
pub fn high_error_rate(s: &Stats, p: &Profile, scene_attributed: bool) -> Option<Finding> {
    let requests = s.requests();
    if requests < u64::from(p.min_requests) {
        return None;
    }
    let per_endpoint: Vec<(Endpoint, u64, [u64; Outcome::COUNT])> = Endpoint::ALL
        .into_iter()
        .map(|ep| {
            let agg = &s.endpoints[ep.index()];
            (ep, agg.count(), counted_errors(agg, ep, scene_attributed))
        })
        .collect();
    let errors: u64 = per_endpoint.iter().map(|(_, _, e)| e.iter().sum::<u64>()).sum();
    let tiers = [(Severity::P1, Cmp::Gt, p.error_p1_pct), (Severity::P2, Cmp::Ge, p.error_rate_pct)];
    let mut f = finding(Incident::HighErrorRate, "error_rate_pct", pct(errors, requests), &tiers)?;
    for (ep, count, errs) in &per_endpoint {
        let n: u64 = errs.iter().sum();
        if n > 0 {
            f.evidence.push(Evidence::context(format!("error_rate_pct {ep}"), pct(n, *count), kinds(errs, |_| true)));
        }
    }
    for (name, (n, state)) in [("dap", s.probes.dap_down), ("lsp", s.probes.lsp_down)] {
        if let Some(state) = state {
            let detail = format!("{state:?} in {n} of {} probes", s.probes.probes).to_lowercase();
            f.evidence.push(Evidence::context(format!("{name}_not_connected_probes"), f64::from(n), detail));
        }
    }
    Some(f)
}

/// Incident 3: the p95 of all requests' latency, > 1 s P1, > 500 ms P2, > 300 ms P3, with the slow endpoints,
/// the `/status` average and an FPS below target as contributing evidence.
pub fn slow_responses(s: &Stats, p: &Profile) -> Option<Finding> {
    if s.requests() < u64::from(p.min_requests) {
        return None;
    }
    let tiers = [
        (Severity::P1, Cmp::Gt, p.slow_p1_ms),
        (Severity::P2, Cmp::Gt, p.slow_p2_ms),
        (Severity::P3, Cmp::Gt, p.slow_p3_ms()),
    ];
    let mut f = finding(Incident::SlowResponses, "p95_ms", s.p95_ms()?, &tiers)?;
    for ep in Endpoint::ALL {
        let e = &s.endpoints[ep.index()];
        if let Some(p95) = e.latency.quantile(0.95).map(us_to_ms).filter(|&v| v >= p.p95_ms) {
            f.evidence.push(Evidence::context(format!("p95_ms {ep}"), p95, format!("{} requests", e.count())));
        }
    }
    if let Some(avg) = s.probes.avg_latency_ms().filter(|&a| a >= p.status_avg_ms) {
        f.evidence.push(Evidence::broke("status_avg_ms", avg, Cmp::Ge, p.status_avg_ms));
    }
    if let Some(median) = quantile(&s.fps_mean, 0.5).filter(|&m| m < p.fps_target) {
        f.evidence.push(Evidence::broke("fps_median", median, Cmp::Lt, p.fps_target));
    }
    Some(f)
}

/// Incident 3 from the engine's frame rate alone (a VR service whose frames collapse is degraded even when HTTP is
/// fast): the median of the per-second mean FPS below `fps_alert` (85, the contract's alert) is P2, below `fps_p1`
/// (half the 90 FPS target) P1. Judged per window; the timeline holds it only after `fps_windows` windows in a row.
pub fn low_fps(s: &Stats, p: &Profile) -> Option<Finding> {
    let median = quantile(&s.fps_mean, 0.5)?;
    let tiers = [(Severity::P1, Cmp::Lt, p.fps_p1), (Severity::P2, Cmp::Lt, p.fps_alert)];
    let mut f = finding(Incident::SlowResponses, "fps_median", median, &tiers)?;
    if let Some(low) = quantile(&s.fps_min, 0.05) {
        f.evidence.push(Evidence::context("fps_p5", low, format!("lowest FPS of {} seconds", s.fps_min.len())));
    }
    if let Some(p95) = s.p95_ms() {
        f.evidence.push(Evidence::context("p95_ms", p95, format!("{} requests", s.requests())));
    }
    Some(f)
}

/// Incident 4: the share of requests answered 401, ≥ 95 % P1 ("all auth failing"), ≥ 1 % P2 (intermittent).
pub fn auth_failures(s: &Stats, p: &Profile) -> Option<Finding> {
    let requests = s.requests();
    if requests < u64::from(p.min_requests) {
        return None;
    }
    let tiers = [(Severity::P1, Cmp::Ge, p.auth_all_pct), (Severity::P2, Cmp::Ge, p.auth_some_pct)];
    let n = s.total(Outcome::Unauthorized);
    let mut f = finding(Incident::AuthFailures, "unauthorized_pct", pct(n, requests), &tiers)?;
    for ep in Endpoint::ALL {
        let e = &s.endpoints[ep.index()];
        if e.of(Outcome::Unauthorized) > 0 {
            let share = pct(e.of(Outcome::Unauthorized), e.count());
            f.evidence.push(Evidence::context(format!("unauthorized_pct {ep}"), share, format!("of {}", e.count())));
        }
    }
    Some(f)
}

/// Incident 5: the share of answered `/scene/load` requests (401s aside) that failed, ≥ 95 % P1 (all scenes),
/// > 5 % P2 (specific scenes).
pub fn scene_load_failures(s: &Stats, p: &Profile) -> Option<Finding> {
    let e = &s.endpoints[Endpoint::SceneLoad.index()];
    let answered = e.count() - unanswered(&e.outcomes) - e.of(Outcome::Unauthorized);
    if answered < u64::from(p.min_requests) {
        return None;
    }
    let failed = answered - e.of(Outcome::Ok);
    let tiers = [(Severity::P1, Cmp::Ge, p.scene_all_pct), (Severity::P2, Cmp::Gt, p.scene_some_pct)];
    let mut f = finding(Incident::SceneLoadFailures, "scene_load_failed_pct", pct(failed, answered), &tiers)?;
    let failing = |o: Outcome| o != Outcome::Ok && o != Outcome::Unauthorized && !o.is_unanswered();
    f.evidence.push(Evidence::context("scene_load_failed", failed as f64, kinds(&e.outcomes, failing)));
    Some(f)
}

/// Incident 6: resident memory growing steadily (least squares over `memory`): P2, P1 when the fitted growth
/// reaches the memory limit sooner than `memory_exhaust_p1`.
pub fn memory_leak(memory: &[(f64, f64)], limit_mb: Option<f64>, p: &Profile) -> Option<Finding> {
    if memory.len() < (p.leak_min_points as usize).max(2) {
        return None;
    }
    let fit = stats::fit(memory)?;
    let per_min = fit.slope * 60.0;
    if !(per_min > p.memory_growth_mb_per_min && fit.r2 >= p.leak_min_r2) {
        return None;
    }
    let mut evidence = vec![
        Evidence::broke("growth_mb_per_min", per_min, Cmp::Gt, p.memory_growth_mb_per_min),
        Evidence::broke("fit_r2", fit.r2, Cmp::Ge, p.leak_min_r2),
        Evidence::context("resident_mb", fit.last, format!("{} samples", memory.len())),
    ];
    let mut severity = Severity::P2;
    if let Some(limit) = limit_mb {
        let hours = ((limit - fit.last) / (per_min * 60.0)).max(0.0);
        let (cmp, p1_hours) = (Cmp::Lt, p.memory_exhaust_p1.as_secs_f64() / 3600.0);
        if cmp.holds(hours, p1_hours) {
            severity = Severity::P1;
            evidence.insert(0, Evidence::broke("hours_to_limit", hours, cmp, p1_hours));
        } else {
            evidence.push(Evidence::context("hours_to_limit", hours, format!("limit {limit} MB")));
        }
    }
    Some(Finding { incident: Incident::MemoryLeak, severity, evidence })
}

/// Incident 7: the highest disk usage seen, > 95 % P1, > 85 % P2, > 80 % P3 (warning).
pub fn disk_exhaustion(s: &Stats, p: &Profile) -> Option<Finding> {
    let tiers = [
        (Severity::P1, Cmp::Gt, p.disk_p1_pct),
        (Severity::P2, Cmp::Gt, p.disk_p2_pct),
        (Severity::P3, Cmp::Gt, p.disk_warn_pct),
    ];
    finding(Incident::DiskExhaustion, "disk_pct", s.disk_max?, &tiers)
}
