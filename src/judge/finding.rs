//! The verdict's vocabulary: the runbook's seven incident classes, its severities, and a finding with its evidence
//! (the measured numbers beside the thresholds they broke).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The runbook's "Common Incidents", in its order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Incident {
    /// Incident 1: API Completely Unresponsive.
    ApiUnresponsive,
    /// Incident 2: High Error Rate.
    HighErrorRate,
    /// Incident 3: Slow Response Times.
    SlowResponses,
    /// Incident 4: Authentication Failures.
    AuthFailures,
    /// Incident 5: Scene Loading Failures.
    SceneLoadFailures,
    /// Incident 6: Memory Leak.
    MemoryLeak,
    /// Incident 7: Disk Space Exhaustion.
    DiskExhaustion,
}

impl Incident {
    pub const ALL: [Incident; 7] = [
        Self::ApiUnresponsive,
        Self::HighErrorRate,
        Self::SlowResponses,
        Self::AuthFailures,
        Self::SceneLoadFailures,
        Self::MemoryLeak,
        Self::DiskExhaustion,
    ];

    /// The name scenarios and reports use.
    pub fn name(self) -> &'static str {
        match self {
            Self::ApiUnresponsive => "api_unresponsive",
            Self::HighErrorRate => "high_error_rate",
            Self::SlowResponses => "slow_responses",
            Self::AuthFailures => "auth_failures",
            Self::SceneLoadFailures => "scene_load_failures",
            Self::MemoryLeak => "memory_leak",
            Self::DiskExhaustion => "disk_exhaustion",
        }
    }
}

impl fmt::Display for Incident {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown incident {0:?} (one of: healthy, any, {names}){hint}", names = Incident::ALL.map(Incident::name).join(", "),
    hint = crate::scenario::closest(.0, Incident::ALL.map(Incident::name).into_iter().chain(["healthy", "any"]))
        .map(|n| format!("; did you mean {n:?}?")).unwrap_or_default())]
pub struct UnknownIncident(pub String);

impl FromStr for Incident {
    type Err = UnknownIncident;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|i| i.name() == s).ok_or_else(|| UnknownIncident(s.into()))
    }
}

/// The runbook's severity levels. Ordered as the runbook lists them, so `P0 < P1`: the *smaller* is the *worse*.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema)]
pub enum Severity {
    P0,
    P1,
    P2,
    P3,
    P4,
}

impl Severity {
    pub const ALL: [Severity; 5] = [Self::P0, Self::P1, Self::P2, Self::P3, Self::P4];

    /// Strictly more severe than `other`.
    pub fn is_worse_than(self, other: Severity) -> bool {
        self < other
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self:?}")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown severity {0:?} (one of: P0, P1, P2, P3, P4)")]
pub struct UnknownSeverity(pub String);

impl FromStr for Severity {
    type Err = UnknownSeverity;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|v| v.to_string().eq_ignore_ascii_case(s)).ok_or_else(|| UnknownSeverity(s.into()))
    }
}

/// How a measured value relates to its threshold in a rule or check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub enum Cmp {
    #[serde(rename = ">")]
    Gt,
    #[serde(rename = ">=")]
    Ge,
    #[serde(rename = "<")]
    Lt,
    #[serde(rename = "<=")]
    Le,
    #[serde(rename = "==")]
    Eq,
}

impl Cmp {
    pub fn holds(self, measured: f64, threshold: f64) -> bool {
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

    pub fn symbol(self) -> &'static str {
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
    pub measured: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cmp: Option<Cmp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
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
    pub incident: Incident,
    pub severity: Severity,
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
