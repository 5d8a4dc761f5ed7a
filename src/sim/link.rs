//! Stub of the bridge's connection manager (the real one is built by helper "peers"; the lead replaces this file at
//! merge). It never connects, so every forwarded request gets [`LinkError::NotConnected`].

use std::net::SocketAddr;

use crate::api::ServiceState;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer {
    Dap,
    Lsp,
}

#[derive(Clone)]
pub struct Link {
    port: u16,
}

#[derive(Debug, Clone)]
pub struct LinkStatus {
    pub state: ServiceState,
    pub last_activity: f64,
    pub retry_count: u32,
    pub last_error: Option<String>,
    pub port: u16,
}

#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("not connected")]
    NotConnected,
    #[error("timed out")]
    Timeout,
    #[error("{0}")]
    Failed(String),
}

impl Link {
    pub fn spawn(_peer: Peer, addr: SocketAddr) -> Link {
        Link { port: addr.port() }
    }

    pub fn status(&self) -> LinkStatus {
        LinkStatus {
            state: ServiceState::Disconnected,
            last_activity: 0.0,
            retry_count: 0,
            last_error: None,
            port: self.port,
        }
    }

    pub fn connect(&self) {}

    pub fn disconnect(&self) {}

    pub async fn request(&self, _command: &str, _arguments: serde_json::Value) -> Result<serde_json::Value, LinkError> {
        Err(LinkError::NotConnected)
    }
}
