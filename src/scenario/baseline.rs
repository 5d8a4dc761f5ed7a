//! `[baseline]`: the tolerances of a comparison with a baseline report, shared by the scenario table and the command
//! line (`run --baseline`, `compare`), so both name them alike and validate them alike. It lives with the scenario
//! (below `report`, which compares with it) so imports keep pointing one way.

use serde::{Deserialize, Serialize};

/// How much worse than the baseline a figure may get: a scenario's `[baseline]` table and the command line's flags
/// (which win), each unset one taking its default. A p95 regression must exceed both the relative and the absolute
/// tolerance, so neither a few microseconds on a fast endpoint nor noise on a slow one fails a gate. Every value is
/// finite and >= 0: a NaN would make every comparison false and switch its gate off.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema, clap::Args)]
#[serde(deny_unknown_fields)]
pub struct Tolerance {
    /// Allowed p95 increase, percent of the baseline's p95 [default: 10].
    #[arg(long, value_name = "PCT", value_parser = tolerance_value)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p95_pct: Option<f64>,
    /// Allowed p95 increase, milliseconds [default: 5].
    #[arg(long, value_name = "MS", value_parser = tolerance_value)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p95_ms: Option<f64>,
    /// Allowed error-rate increase, percentage points [default: 0.5].
    #[arg(long, value_name = "POINTS", value_parser = tolerance_value)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_points: Option<f64>,
    /// Allowed drop of the median FPS, frames per second [default: 3].
    #[arg(long, value_name = "FPS", value_parser = tolerance_value)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fps_drop: Option<f64>,
}

/// The defaults, in the order of the fields.
const DEFAULTS: [f64; 4] = [10.0, 5.0, 0.5, 3.0];

/// A tolerance as the command line reads it (clap names the flag in its error and exits 2).
fn tolerance_value(s: &str) -> Result<f64, String> {
    let v: f64 = s.trim().parse().map_err(|_| format!("{s:?} is not a number"))?;
    valid(v).map(|()| v)
}

fn valid(v: f64) -> Result<(), String> {
    if v.is_finite() && v >= 0.0 { Ok(()) } else { Err(format!("{v} is not a tolerance; use a finite number >= 0")) }
}

impl Tolerance {
    fn fields(&self) -> [(&'static str, Option<f64>); 4] {
        [
            ("p95_pct", self.p95_pct),
            ("p95_ms", self.p95_ms),
            ("error_points", self.error_points),
            ("fps_drop", self.fps_drop),
        ]
    }

    /// Nothing set (a scenario without `[baseline]` serializes without it, so its hash is unchanged).
    pub fn is_unset(&self) -> bool {
        self.fields().iter().all(|(_, v)| v.is_none())
    }

    /// `self`'s values where set, else `under`'s.
    pub fn over(&self, under: &Tolerance) -> Tolerance {
        Tolerance {
            p95_pct: self.p95_pct.or(under.p95_pct),
            p95_ms: self.p95_ms.or(under.p95_ms),
            error_points: self.error_points.or(under.error_points),
            fps_drop: self.fps_drop.or(under.fps_drop),
        }
    }

    /// Every value set, unset ones at their defaults: what a report records as the tolerance it was judged by.
    pub fn resolved(&self) -> Tolerance {
        let [p95_pct, p95_ms, error_points, fps_drop] = DEFAULTS.map(Some);
        self.over(&Tolerance { p95_pct, p95_ms, error_points, fps_drop })
    }

    /// `(key, message)` for each value that is not a tolerance (the scenario's `[baseline]` is checked with this).
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        self.fields().into_iter().filter_map(|(k, v)| valid(v?).err().map(|m| (k, m))).collect()
    }

    /// Allowed p95 increase, percent.
    pub fn p95_pct(&self) -> f64 {
        self.p95_pct.unwrap_or(DEFAULTS[0])
    }

    /// Allowed p95 increase, ms.
    pub fn p95_ms(&self) -> f64 {
        self.p95_ms.unwrap_or(DEFAULTS[1])
    }

    /// Allowed error-rate increase, percentage points.
    pub fn error_points(&self) -> f64 {
        self.error_points.unwrap_or(DEFAULTS[2])
    }

    /// Allowed median FPS drop.
    pub fn fps_drop(&self) -> f64 {
        self.fps_drop.unwrap_or(DEFAULTS[3])
    }
}
