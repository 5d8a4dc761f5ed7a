//! Bounds on every time a report holds, checked on the JSON before it becomes a [`super::Report`] (issue 13).
//!
//! Why: `report`, `compare` and `merge` do arithmetic and lay reports out in time with these numbers (a phase's rate
//! is its requests over its duration; the judge, run again by `merge`, builds one row per second up to the last
//! phase's end; the renderers turn seconds into timestamps and `Duration`s). A time no run writes (negative,
//! astronomically long, a phase ending before it starts or after its run) is therefore an error naming the field's
//! path (`phases[2].duration_s`), never a panic, a NaN or a terabyte of rows further on.
//!
//! Which fields: by name, so a field added with the project's naming (`_s`, `_ms`) is covered without a list to
//! keep in step with the types. Only the measured part of a report is walked (`duration_s`, `phases`, `record`,
//! `verdict`); the scenario as written, the judge's profile and the baseline tolerances are thresholds, not times,
//! and maps keyed by user names (`queries`, `probe_failures`) hold no times of ours.

use serde_json::Value;

/// Longest time a report may hold, in seconds: 31 days. The longest timeline a scenario may declare is 7 days
/// ([`crate::scenario::limits::MAX_TIMELINE`]), so a real run, its teardown included, stays far below it; past it a
/// time is corrupt, not long.
pub const MAX_SECONDS: f64 = 31.0 * 86_400.0;
const MAX_DAYS: u32 = 31;

/// Seconds since the run started, or a duration in seconds.
const SECONDS: &[&str] = &[
    "t",
    "duration_s",
    "started",
    "ended",
    "at_s",
    "after_s",
    "gap_s",
    "injected_s",
    "rolled_back_s",
    "start_s",
    "end_s",
    "checks_from_s",
];
/// Milliseconds: a `/status` probe's latency, per-second percentiles, and percentile objects (`latency_ms`,
/// `service_ms`), whose fields inherit the unit.
const MILLIS: &[&str] = &["latency_ms", "service_ms", "p50_ms", "p95_ms", "p99_ms"];
/// The measured parts of a report.
const WALKED: &[&str] = &["duration_s", "phases", "record", "verdict"];
/// Thresholds, and maps keyed by names a user chose: no times of ours.
const SKIPPED: &[&str] = &["profile", "queries", "probe_failures"];
/// A phase ends when its run does, up to the clock reads between them; a second is generous.
const PHASE_SLACK_S: f64 = 1.0;

#[derive(Clone, Copy)]
enum Unit {
    Seconds,
    Millis,
}

impl Unit {
    fn of(key: &str) -> Option<Unit> {
        if SECONDS.contains(&key) {
            Some(Unit::Seconds)
        } else if MILLIS.contains(&key) {
            Some(Unit::Millis)
        } else {
            None
        }
    }

    fn check(self, path: &str, n: &serde_json::Number) -> anyhow::Result<()> {
        let (name, max) = match self {
            Unit::Seconds => ("seconds", MAX_SECONDS),
            Unit::Millis => ("milliseconds", MAX_SECONDS * 1000.0),
        };
        let ok = n.as_f64().is_some_and(|t| t.is_finite() && (0.0..=max).contains(&t));
        // As Rust writes a float (`1e308`, not serde_json's `1e+308`); an integer as it is.
        let shown = n.as_f64().filter(|_| n.is_f64()).map_or(n.to_string(), |f| format!("{f:?}"));
        anyhow::ensure!(
            ok,
            "{path} {shown} is not a time in {name} (0 to {max}, {MAX_DAYS} days); the file is corrupt"
        );
        Ok(())
    }
}

/// Every time in range, and every phase inside its run.
pub fn check(report: &Value) -> anyhow::Result<()> {
    for key in WALKED {
        if let Some(v) = report.get(key) {
            walk(v, key, Unit::of(key))?;
        }
    }
    let run = report.get("duration_s").and_then(Value::as_f64);
    let phases = report.pointer("/record/phases").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    for (i, p) in phases.iter().enumerate() {
        let (started, ended) = (p.get("started").and_then(Value::as_f64), p.get("ended").and_then(Value::as_f64));
        if let (Some(started), Some(ended)) = (started, ended) {
            anyhow::ensure!(
                started <= ended,
                "record.phases[{i}].ended {ended:?} is before its start {started:?}; the file is corrupt"
            );
        }
        if let (Some(ended), Some(run)) = (ended, run) {
            anyhow::ensure!(
                ended <= run + PHASE_SLACK_S,
                "record.phases[{i}].ended {ended:?} is after the run ended (duration_s {run:?}); the file is corrupt"
            );
        }
    }
    Ok(())
}

/// Check the numbers under `v`, which lies at `path`; `unit` is set once a key named a time.
fn walk(v: &Value, path: &str, unit: Option<Unit>) -> anyhow::Result<()> {
    match v {
        Value::Number(n) => unit.map_or(Ok(()), |u| u.check(path, n)),
        Value::Array(items) => items.iter().enumerate().try_for_each(|(i, x)| walk(x, &format!("{path}[{i}]"), unit)),
        Value::Object(fields) => fields
            .iter()
            .filter(|(k, _)| !SKIPPED.contains(&k.as_str()))
            .try_for_each(|(k, x)| walk(x, &format!("{path}.{k}"), Unit::of(k).or(unit))),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn error(v: Value) -> String {
        check(&v).unwrap_err().to_string()
    }

    #[test]
    fn every_time_is_checked_where_it_lies_and_named_by_its_path() {
        let ok = json!({
            "duration_s": 10.0,
            "phases": [{ "duration_s": 4.0, "latency_ms": { "p50": 1.5, "max": 30.0 }, "rate": 1e9 }],
            "record": {
                "phases": [{ "started": 0.0, "ended": 10.5 }],
                "events": [{ "t": 10.9, "event": "recovered", "after_s": 2.0 }],
                "seconds": [{ "t": 9, "status": { "latency_ms": 3.0 }, "queries": { "t": -1.0 } }]
            },
            "verdict": { "profile": { "p95_ms": -1.0 }, "faults": [{ "injected_s": 1.0, "rolled_back_s": null }] },
            "scenario": { "thresholds": { "p95_ms": -1.0 } }
        });
        check(&ok).unwrap();
        for (pointer, bad, says) in [
            ("/phases/0/duration_s", json!(-1.0), "phases[0].duration_s -1.0 is not a time in seconds"),
            ("/phases/0/latency_ms/max", json!(1e300), "phases[0].latency_ms.max 1e300 is not a time in milliseconds"),
            ("/record/events/0/after_s", json!(1e9), "record.events[0].after_s 1000000000.0 is not a time in seconds"),
            ("/record/seconds/0/t", json!(u64::MAX), "record.seconds[0].t 18446744073709551615 is not a time"),
            ("/record/seconds/0/status/latency_ms", json!(-0.5), "record.seconds[0].status.latency_ms -0.5"),
            ("/verdict/faults/0/rolled_back_s", json!(-3), "verdict.faults[0].rolled_back_s -3 is not a time"),
            ("/duration_s", json!(2_678_401), "duration_s 2678401 is not a time in seconds (0 to 2678400, 31 days)"),
            ("/record/phases/0/started", json!(10.6), "record.phases[0].ended 10.5 is before its start 10.6"),
            ("/record/phases/0/ended", json!(11.5), "record.phases[0].ended 11.5 is after the run ended"),
        ] {
            let mut v = ok.clone();
            *v.pointer_mut(pointer).unwrap() = bad;
            let e = error(v);
            assert!(e.contains(says) && e.ends_with("the file is corrupt"), "{pointer}: {e}");
        }
    }
}
