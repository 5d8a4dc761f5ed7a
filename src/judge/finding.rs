//! A finding and its evidence: the measured numbers beside the thresholds they broke, for one of the runbook's
//! incidents ([`crate::runbook`]).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::runbook::{Incident, Severity};

/// How a measured value relates to its threshold in a rule or check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub enum Cmp {
    /// `">"`, strictly above: how a finding shows a rate or latency over its limit.
    #[serde(rename = ">")]
    Gt,
    /// `">="`, at or above: the FPS checks' floor (`fps_p5 >= 85`).
    #[serde(rename = ">=")]
    Ge,
    /// `"<"`, strictly below: the runbook's "Expected: < 1%" and "< 200ms" verification steps.
    #[serde(rename = "<")]
    Lt,
    /// `"<="`, at most: memory growth no faster than the leak rule allows.
    #[serde(rename = "<=")]
    Le,
    /// `"=="`, exactly: for what must not happen at all (no down second, no timeout).
    #[serde(rename = "==")]
    Eq,
}

impl Cmp {
    pub(crate) fn holds(self, measured: f64, threshold: f64) -> bool {
        match self {
            Self::Gt => measured > threshold,
            Self::Ge => measured >= threshold,
            Self::Lt => measured < threshold,
            Self::Le => measured <= threshold,
            Self::Eq => measured == threshold,
        }
    }

    /// The comparison that holds exactly when this one does not (for evidence of a broken check).
    pub fn negated(self) -> Cmp {
        match self {
            Self::Gt => Self::Le,
            Self::Ge => Self::Lt,
            Self::Lt => Self::Ge,
            Self::Le => Self::Gt,
            Self::Eq => Self::Eq,
        }
    }

    pub(crate) fn symbol(self) -> &'static str {
        match self {
            Self::Gt => ">",
            Self::Ge => ">=",
            Self::Lt => "<",
            Self::Le => "<=",
            Self::Eq => "==",
        }
    }
}

/// One measured number behind a finding: beside the threshold it broke, or (no threshold) context an on-call
/// engineer needs, such as which endpoint fails with which error kinds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Evidence {
    /// What was measured, with its unit in the name (`error_rate_pct`, `p95_ms`).
    pub metric: String,
    /// The value, in the unit `metric` names, over the window or phase the finding is about.
    pub(crate) measured: f64,
    /// The runbook's number (or its `[thresholds]` override) that `measured` broke; absent for context.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) threshold: Option<f64>,
    /// How `measured` stood to `threshold` when the rule fired; absent for context.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) cmp: Option<Cmp>,
    /// What the number is made of, for context (e.g. which error kinds, on which endpoint).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) detail: Option<String>,
}

impl Evidence {
    /// `measured cmp threshold` held: the rule's reason.
    pub fn broke(metric: impl Into<String>, measured: f64, cmp: Cmp, threshold: f64) -> Self {
        Self { metric: metric.into(), measured, threshold: Some(threshold), cmp: Some(cmp), detail: None }
    }

    /// Context: a number and what it is made of.
    pub fn context(metric: impl Into<String>, measured: f64, detail: impl Into<String>) -> Self {
        Self { metric: metric.into(), measured, threshold: None, cmp: None, detail: Some(detail.into()) }
    }
}

impl fmt::Display for Evidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.metric, round(self.measured))?;
        if let (Some(cmp), Some(t)) = (self.cmp, self.threshold) {
            write!(f, " {} {}", cmp.symbol(), round(t))?;
        }
        match &self.detail {
            Some(d) => write!(f, " ({d})"),
            None => Ok(()),
        }
    }
}

fn round(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// One incident seen in a window or phase.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Finding {
    /// The runbook incident class the evidence points to.
    pub(crate) incident: Incident,
    /// How severe, by the runbook's tiers for that incident (P0 worst).
    pub(crate) severity: Severity,
    /// The threshold evidence first, then context.
    pub evidence: Vec<Evidence>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_match_serde() {
        for i in Incident::ALL {
            assert_eq!(i.name().parse::<Incident>(), Ok(i));
            assert_eq!(serde_json::to_value(i).unwrap(), serde_json::json!(i.name()));
        }
        assert!("api_down".parse::<Incident>().unwrap_err().to_string().contains("high_error_rate"));
        assert_eq!("p1".parse::<Severity>(), Ok(Severity::P1));
        assert_eq!(serde_json::to_value(Severity::P3).unwrap(), serde_json::json!("P3"));
        assert!("P5".parse::<Severity>().is_err());
    }

    #[test]
    fn p0_is_worst() {
        assert!(Severity::P0.is_worse_than(Severity::P1));
        assert!(!Severity::P2.is_worse_than(Severity::P2));
        assert_eq!([Severity::P2, Severity::P0, Severity::P3].into_iter().min(), Some(Severity::P0));
    }

    #[test]
    fn evidence_reads_as_a_sentence() {
        let e = Evidence::broke("error_rate_pct", 12.345, Cmp::Gt, 5.0);
        assert_eq!(e.to_string(), "error_rate_pct 12.35 > 5");
        assert_eq!(Evidence::context("errors /status", 3.0, "503×3").to_string(), "errors /status 3 (503×3)");
    }
}
