//! The run's event log: what happened when, in one ordered list that the reports draw timelines from.
//!
//! Times are seconds since the run started (the run's own monotonic clock), so a log never depends on the wall clock
//! and two logs of one scenario line up. Later layers (faults, the verdict) add their own kinds here.

use serde::{Deserialize, Serialize};

use crate::api::{Endpoint, ServiceState};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Seconds since the run started.
    pub t: f64,
    #[serde(flatten)]
    pub kind: EventKind,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum EventKind {
    RunStarted {
        target: String,
    },
    PhaseStarted {
        phase: String,
    },
    PhaseEnded {
        phase: String,
    },
    /// The telemetry stream was lost; `TelemetryRestored` closes the gap.
    TelemetryLost {
        reason: String,
    },
    TelemetryRestored {
        gap_s: f64,
    },
    /// A telemetry connection whose first message was not the `connected` welcome (a broken or different server).
    TelemetryWelcomeMissing {
        first: String,
    },
    /// `/status` stopped answering or answered again.
    StatusReachable {
        reachable: bool,
        detail: String,
    },
    /// A DAP/LSP state change seen by the `/status` probe.
    ServiceStateChanged {
        service: String,
        from: Option<ServiceState>,
        to: Option<ServiceState>,
    },
    OverallReadyChanged {
        ready: bool,
    },
    SceneLoadFailed {
        scene: String,
        error: String,
    },
    Alert {
        level: String,
        message: String,
    },
    /// A probe started failing: memory or disk unmeasurable, or `/status` answering without a status body (e.g. 401).
    /// Logged once per failure spell, not per tick.
    ProbeFailed {
        probe: String,
        error: String,
    },
    /// The first request of a kind never seen before on an endpoint, so a timeline shows when errors began.
    FirstError {
        endpoint: Endpoint,
        outcome: String,
    },
    Note {
        message: String,
    },
    RunEnded {
        status: String,
    },
}
