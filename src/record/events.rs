//! The run's event log: what happened when, in one ordered list that the reports draw timelines from.
//!
//! Times are seconds since the run started (the run's own monotonic clock), so a log never depends on the wall clock
//! and two logs of one scenario line up. It holds what was measured and done (faults included), never what was
//! concluded: the verdict's detections and recoveries are the judge's own type, joined with this log only to render.

use serde::{Deserialize, Serialize};

use crate::api::{Endpoint, ServiceState};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Event {
    /// Seconds since the run started.
    pub t: f64,
    #[serde(flatten)]
    pub kind: EventKind,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
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
    /// A fault was put in place (`detail` says what exactly: the ballast size, the PID signalled, ...).
    FaultInjected {
        fault: String,
        detail: String,
    },
    /// A fault was undone; `detail` says how (and, for a TTL, why early).
    FaultRolledBack {
        fault: String,
        detail: String,
    },
    /// An injection or rollback failed; a failed rollback leaves the journal dirty until `recover`.
    FaultFailed {
        fault: String,
        error: String,
    },
    /// `--dry-run`: what the fault would have done.
    FaultDryRun {
        fault: String,
        detail: String,
    },
    Note {
        message: String,
    },
    RunEnded {
        status: String,
    },
}
