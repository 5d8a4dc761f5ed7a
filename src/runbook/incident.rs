//! The runbook's incident classes and severities, and the `[expect]` word that names one of them: the words a
//! scenario states, the judge concludes and a report prints, defined below all three so none imports another for them.

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
    pub(crate) const ALL: [Incident; 7] = [
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

/// A word that names no incident class; the message lists the valid ones and suggests the closest, so a typo in
/// `[expect] incident` is fixed without opening the docs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown incident {0:?} (one of: healthy, any, {names}){hint}", names = Incident::ALL.map(Incident::name).join(", "),
    hint = crate::input::closest(.0, Incident::ALL.map(Incident::name).into_iter().chain(["healthy", "any"]))
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
    /// Critical (SEV-1): complete outage, every endpoint failing; the runbook's all-hands response.
    P0,
    /// High (SEV-2): a major feature down or heavy degradation (error rate > 5 %, responses > 1 s).
    P1,
    /// Medium (SEV-3): degraded but working (error rate 1-5 %, responses 300-500 ms, intermittent errors).
    P2,
    /// Low (SEV-4): minimal impact; a ticket, no immediate response.
    P3,
    /// Minor (SEV-5): trivial issues and improvements; nothing to respond to.
    P4,
}

impl Severity {
    pub(crate) const ALL: [Severity; 5] = [Self::P0, Self::P1, Self::P2, Self::P3, Self::P4];

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

/// A word that is not P0..P4 (any case is accepted); the message lists the five.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown severity {0:?} (one of: P0, P1, P2, P3, P4)")]
pub struct UnknownSeverity(pub String);

impl FromStr for Severity {
    type Err = UnknownSeverity;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|v| v.to_string().eq_ignore_ascii_case(s)).ok_or_else(|| UnknownSeverity(s.into()))
    }
}

/// What a run must show: `healthy`, a runbook incident class, or `any` (observe only). Written as one string in a
/// scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Expected {
    /// A gate: no phase has an incident and every verification check passes. Also what a scenario without
    /// `[expect]` is held to, as a CI gate would be.
    Healthy,
    /// A fault drill: this incident class must be detected, within the bounds the rest of `[expect]` sets.
    Incident(Incident),
    /// Observe only (a game day, an exploration): whatever the run shows is reported, nothing is gated.
    Any,
}

impl TryFrom<String> for Expected {
    type Error = UnknownIncident;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        match s.as_str() {
            "healthy" => Ok(Self::Healthy),
            "any" => Ok(Self::Any),
            _ => s.parse().map(Self::Incident),
        }
    }
}

impl From<Expected> for String {
    fn from(e: Expected) -> String {
        match e {
            Expected::Healthy => "healthy".into(),
            Expected::Any => "any".into(),
            Expected::Incident(i) => i.to_string(),
        }
    }
}
