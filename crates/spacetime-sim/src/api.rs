//! The SpaceTime API's vocabulary, shared by the simulator (which speaks it) and the harness (which checks it).
//!
//! Only what `../shared/spacetime-api.md` fixes lives here: the routes the harness drives, the `/status` body and
//! the service-state numbering. Another implementation of the API must match these shapes (key names, state
//! numbers): the harness parses a real target with them. Keeping one definition means the simulator and the harness
//! cannot drift apart silently: a test that passes against the simulator exercises the same parsing a real target
//! gets.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The four routes the load drives. `/connect` and `/disconnect` are control actions, never load.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Endpoint {
    /// `GET /status`: answered by the bridge alone, so it shows the frame's latency without a DAP/LSP round trip.
    Status,
    /// `POST /scene/load`: reads the scene and writes the import cache, so it fails when the scene or the disk does.
    SceneLoad,
    /// `POST /debug/evaluate`: forwarded to the debug adapter, so it fails (503, 504) when DAP is down or hung.
    DebugEvaluate,
    /// `POST /lsp/completion`: forwarded to the language server, so it fails (503, 504) when LSP is down or hung.
    LspCompletion,
}

impl Endpoint {
    /// In [`Endpoint::index`] order, so per-endpoint arrays are sized and walked with it.
    pub const ALL: [Endpoint; 4] = [Self::Status, Self::SceneLoad, Self::DebugEvaluate, Self::LspCompletion];

    /// Dense index for per-endpoint arrays on the hot path.
    pub fn index(self) -> usize {
        self as usize
    }

    /// The contract's route, also the endpoint's name in consoles and reports (via `Display`).
    pub fn path(self) -> &'static str {
        match self {
            Self::Status => "/status",
            Self::SceneLoad => "/scene/load",
            Self::DebugEvaluate => "/debug/evaluate",
            Self::LspCompletion => "/lsp/completion",
        }
    }

    /// Every load route but `/status` takes a JSON body, so the load generators send a body exactly when this holds.
    pub fn is_post(self) -> bool {
        self != Self::Status
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.path())
    }
}

/// Connection state of the DAP or LSP link as the bridge reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ServiceState {
    /// Parked by `POST /disconnect` (or never connected); stays so until `POST /connect`.
    Disconnected,
    /// Reported only by builds with the later numbering (state mapping `initializing`, state 2); the legacy
    /// numbering has no such state.
    Initializing,
    /// At start and after `POST /connect`, until the DAP/LSP handshake completes.
    Connecting,
    /// Handshake done: requests are forwarded; only now does `overall_ready` count the service.
    Connected,
    /// The reconnect backoff (1, 2, 4, 8, 16 s) ran out; stays so until `POST /connect`.
    Error,
    /// The peer died or stopped answering its 5 s health check; the bridge is backing off to retry.
    Reconnecting,
}

/// How `state` numbers map to [`ServiceState`]: every client of the real service uses `Legacy`; a later build
/// inserted "initializing" at 2 and shifted the rest (`Initializing`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StateMapping {
    /// 0 disconnected, 1 connecting, 2 connected, 3 error, 4 reconnecting: the contract's numbering, and the
    /// simulator's.
    #[default]
    Legacy,
    /// 0 disconnected, 1 connecting, 2 initializing, 3 connected, 4 error, 5 reconnecting.
    Initializing,
}

impl StateMapping {
    /// `None` for a number outside the table: the probe then reports the state as unknown instead of guessing.
    pub fn decode(self, n: i64) -> Option<ServiceState> {
        use ServiceState::*;
        let table: &[ServiceState] = match self {
            Self::Legacy => &[Disconnected, Connecting, Connected, Error, Reconnecting],
            Self::Initializing => &[Disconnected, Connecting, Initializing, Connected, Error, Reconnecting],
        };
        usize::try_from(n).ok().and_then(|i| table.get(i).copied())
    }

    /// The inverse of [`StateMapping::decode`], except that `Legacy`, which has no number for `Initializing`, encodes
    /// it as 2 (connected).
    pub fn encode(self, s: ServiceState) -> i64 {
        use ServiceState::*;
        match (self, s) {
            (_, Disconnected) => 0,
            (_, Connecting) => 1,
            (Self::Legacy, Initializing) | (Self::Legacy, Connected) => 2,
            (Self::Legacy, Error) => 3,
            (Self::Legacy, Reconnecting) => 4,
            (Self::Initializing, Initializing) => 2,
            (Self::Initializing, Connected) => 3,
            (Self::Initializing, Error) => 4,
            (Self::Initializing, Reconnecting) => 5,
        }
    }
}

/// One service's entry in `GET /status`. Field order is alphabetical because Godot's JSON writer sorts keys. Every
/// field but `last_error` is required: a body without one is unparsable, and the harness probe reports it so.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceStatus {
    /// Why the connection last failed or ended (e.g. `"Connection refused"`, `"Connection closed by peer"`); absent
    /// once a connection succeeds, so a connected service never shows a stale error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// When the peer last sent anything (a reply, an event, a health answer), in seconds on the bridge's own clock
    /// (the simulator's starts with the bridge); not a Unix time.
    pub last_activity: f64,
    /// The DAP or LSP port the bridge connects to (6006, 6005 by default).
    pub port: u16,
    /// Reconnect attempts in the current backoff (1 to 5 in the simulator, whose backoff has five steps); 0 again
    /// after a connection, `POST /connect` or `POST /disconnect`.
    pub retry_count: u32,
    /// `"Debug Adapter"` or `"Language Server"`, as the real bridge names them.
    pub service_name: String,
    /// A number, not a name: read it through a [`StateMapping`], since two builds number the states differently.
    pub state: i64,
}

/// The `GET /status` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusBody {
    /// The DAP link, which `/debug/evaluate` needs.
    pub debug_adapter: ServiceStatus,
    /// The LSP link, which `/lsp/completion` needs.
    pub language_server: ServiceStatus,
    /// True only when both services are connected; the probe logs each change as an event.
    pub overall_ready: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_mappings_round_trip() {
        for m in [StateMapping::Legacy, StateMapping::Initializing] {
            for n in 0..5 {
                let s = m.decode(n).unwrap();
                assert_eq!(m.encode(s), n, "{m:?} {n}");
            }
        }
        assert_eq!(StateMapping::Legacy.decode(2), Some(ServiceState::Connected));
        assert_eq!(StateMapping::Initializing.decode(3), Some(ServiceState::Connected));
        assert_eq!(StateMapping::Initializing.decode(5), Some(ServiceState::Reconnecting));
        assert_eq!(StateMapping::Legacy.decode(5), None);
    }
}
