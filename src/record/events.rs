//! The run's event log: what happened when, in one ordered list that the reports draw timelines from.
//!
//! Times are seconds since the run started (the run's own monotonic clock), so a log never depends on the wall clock
//! and two logs of one scenario line up. It holds what was measured and done (faults included), never what was
//! concluded: the verdict's detections and recoveries are the judge's own type, joined with this log only to render.

use serde::{Deserialize, Serialize};

use crate::api::{Endpoint, ServiceState};

/// One entry of `record.events`: when it happened and what, flattened into one JSON object (`{"t": 12.5, "event":
/// "fault_injected", ...}`), sorted by `t`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Event {
    /// Seconds since the run started (the run's monotonic clock, fractional), on the same axis as `record.seconds`
    /// and the phases' `started`/`ended`.
    pub t: f64,
    /// The `event` tag and its fields.
    #[serde(flatten)]
    pub kind: EventKind,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
/// What happened, tagged by `event` in snake_case. Only what the harness measured or did: the verdict's detections
/// and recoveries, which `report.json` lists in the same array, are described by the verdict event schema instead.
#[serde(tag = "event", rename_all = "snake_case")]
pub enum EventKind {
    /// The first event of every run, at `t` = 0.
    RunStarted {
        /// The base URL requests went to (`http(s)://host:port`), never a token.
        target: String,
    },
    /// A timeline phase began; requests intended from here on count against it.
    PhaseStarted {
        /// The phase's name from the scenario's timeline.
        phase: String,
    },
    /// A phase ended: the next one started, the timeline ran out, or the run was interrupted.
    PhaseEnded {
        /// The phase's name from the scenario's timeline.
        phase: String,
    },
    /// The telemetry stream was lost; `TelemetryRestored` closes the gap.
    TelemetryLost {
        /// Why, as the WebSocket client saw it (a close frame and its code, a read error, a failed or timed-out connect).
        reason: String,
    },
    /// The telemetry stream is back after a `TelemetryLost`; no FPS samples exist for the gap.
    TelemetryRestored {
        /// How long the stream was gone, seconds (reconnect attempts included).
        gap_s: f64,
    },
    /// A telemetry connection whose first message was not the `connected` welcome (a broken or different server).
    TelemetryWelcomeMissing {
        /// The first message received instead, as text (shortened), to tell what answered.
        first: String,
    },
    /// `/status` stopped answering or answered again.
    StatusReachable {
        /// False from the first probe that got no HTTP answer in time, true again from the first that did.
        reachable: bool,
        /// What the probe saw: the connect error, the timeout, or the HTTP status.
        detail: String,
    },
    /// A DAP/LSP state change seen by the `/status` probe.
    ServiceStateChanged {
        /// `dap` (debug adapter) or `lsp` (language server).
        service: String,
        /// The state before; null when the previous `state` number was outside the scenario's state mapping.
        from: Option<ServiceState>,
        /// The state now; null when the `state` number is outside the scenario's state mapping.
        to: Option<ServiceState>,
    },
    /// `/status`'s `overall_ready` flipped (the first status body seen is the baseline and logs nothing).
    OverallReadyChanged {
        /// The new value of `overall_ready`.
        ready: bool,
    },
    /// Telemetry reported a scene that failed to load; logged once per distinct (scene, error), up to a cap, while
    /// the telemetry summary counts them all.
    SceneLoadFailed {
        /// The scene path as telemetry named it.
        scene: String,
        /// The service's error text, verbatim.
        error: String,
    },
    /// An `alert` message on the telemetry stream (e.g. "FPS dropped below 85"), logged every time it arrives.
    Alert {
        /// The alert's level as the service sent it (`warning`, ...; `unknown` when absent).
        level: String,
        /// The alert text, verbatim.
        message: String,
    },
    /// A probe started failing: memory or disk unmeasurable, or `/status` answering without a status body (e.g. 401).
    /// Logged once per failure spell, not per tick.
    ProbeFailed {
        /// Which probe: `status`, `memory`, `disk`, `cpu` (with ` on host <name>` when read over SSH) or
        /// `prometheus/<query name>`.
        probe: String,
        /// Why the sample could not be taken.
        error: String,
    },
    /// The first request of a kind never seen before on an endpoint, so a timeline shows when errors began.
    FirstError {
        /// The endpoint the failing request went to.
        endpoint: Endpoint,
        /// The outcome's label, as in a phase summary's `outcomes` keys (`timeout`, `503`, `error_body`, ...).
        outcome: String,
    },
    /// A fault was put in place (`detail` says what exactly: the ballast size, the PID signalled, ...).
    FaultInjected {
        /// The fault's name from the scenario's timeline.
        fault: String,
        /// What was done, concretely enough to undo it by hand.
        detail: String,
    },
    /// A fault was undone; `detail` says how (and, for a TTL, why early).
    FaultRolledBack {
        /// The fault's name from the scenario's timeline.
        fault: String,
        /// How it was undone.
        detail: String,
    },
    /// An injection or rollback failed; a failed rollback leaves the journal dirty until `recover`.
    FaultFailed {
        /// The fault's name from the scenario's timeline.
        fault: String,
        /// What failed; the same text is in the report's `errors`, which makes the outcome `error`.
        error: String,
    },
    /// `--dry-run`: what the fault would have done.
    FaultDryRun {
        /// The fault's name from the scenario's timeline.
        fault: String,
        /// What injecting it would have done.
        detail: String,
    },
    /// Context worth a line in the timeline that is not a measurement (the host probes read from, metrics remote
    /// write failing).
    Note {
        /// Free text for a person.
        message: String,
    },
    /// The last event of every run, after the faults were rolled back.
    RunEnded {
        /// `completed` or `interrupted`, as the report's `status`.
        status: String,
    },
}
