//! The SpaceTime API's vocabulary, shared by the simulator (which speaks it) and the harness (which checks it).
//!
//! Only what `../shared/spacetime-api.md` fixes lives here: the routes the harness drives, the `/status` body, the
//! service-state numbering and the error body. Keeping one definition means the simulator and the harness cannot
//! drift apart silently: a test that passes against the simulator exercises the same parsing a real target gets.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The four routes the load drives. `/connect` and `/disconnect` are control actions, never load.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Endpoint {
    Status,
    SceneLoad,
    DebugEvaluate,
    LspCompletion,
}

impl Endpoint {
    pub const ALL: [Endpoint; 4] = [Self::Status, Self::SceneLoad, Self::DebugEvaluate, Self::LspCompletion];

    /// Dense index for per-endpoint arrays on the hot path.
    pub fn index(self) -> usize {
        self as usize
    }

    pub fn path(self) -> &'static str {
        match self {
            Self::Status => "/status",
            Self::SceneLoad => "/scene/load",
            Self::DebugEvaluate => "/debug/evaluate",
            Self::LspCompletion => "/lsp/completion",
        }
    }

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
    Disconnected,
    Initializing,
    Connecting,
    Connected,
    Error,
    Reconnecting,
}

/// How `state` numbers map to [`ServiceState`]: every client of the real service uses `Legacy`; a later build
/// inserted "initializing" at 2 and shifted the rest (`Initializing`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StateMapping {
    #[default]
    Legacy,
    Initializing,
}

impl StateMapping {
    pub fn decode(self, n: i64) -> Option<ServiceState> {
        use ServiceState::*;
        let table: &[ServiceState] = match self {
            Self::Legacy => &[Disconnected, Connecting, Connected, Error, Reconnecting],
            Self::Initializing => &[Disconnected, Connecting, Initializing, Connected, Error, Reconnecting],
        };
        usize::try_from(n).ok().and_then(|i| table.get(i).copied())
    }

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

/// One service's entry in `GET /status`. Field order is alphabetical because Godot's JSON writer sorts keys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    pub last_activity: f64,
    pub port: u16,
    pub retry_count: u32,
    pub service_name: String,
    pub state: i64,
}

/// The `GET /status` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusBody {
    pub debug_adapter: ServiceStatus,
    pub language_server: ServiceStatus,
    pub overall_ready: bool,
}

/// Every error the bridge returns has this body (401 adds `details` and has no `status_code`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_code: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
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
