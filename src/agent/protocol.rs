//! The agent's wire protocol: one JSON object per line on the SSH session's stdin (requests) and stdout (replies).
//!
//! Why line-delimited JSON: it needs nothing on the host but the binary, reads in `ssh -v` logs and tests, and serde
//! already defines every fault's settings ([`FaultSpec`]). Every request except `heartbeat` gets exactly one reply,
//! in order, so a client needs no request ids; heartbeats are fire and forget, so they can come from another thread
//! while a request waits for its reply.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::fault::FaultSpec;

/// Bumped on any change a peer of the other version would misread; `hello` refuses a mismatch.
pub const VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum Request {
    /// First message: the harness's protocol version, and the host's blast radius for the whole session.
    Hello {
        version: u32,
        allow: HostAllow,
    },
    /// Check a fault against the host's allow-list; only preflighted faults may be injected.
    Preflight {
        name: String,
        spec: FaultSpec,
        ttl_ms: u64,
    },
    Inject {
        name: String,
    },
    Rollback {
        name: String,
    },
    Probe {
        probe: Probe,
    },
    /// "The harness is alive": renews the lease. No reply.
    Heartbeat,
    /// Roll back everything and exit.
    Bye,
}

/// What the host lets faults touch, fixed by `hello` for the session: a scenario's `[host.allow]`, the same table as
/// a local run's `[allow]`, sent as it was written.
pub use crate::scenario::Allow as HostAllow;

/// A measurement on the host.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Probe {
    /// Resident memory (MiB) of the one process with this exact name.
    ProcessRss(String),
    /// Resident memory (MiB) of the process listening on this port.
    PortRss(u16),
    /// Used share (percent) of the filesystem holding this path.
    DiskUsed(PathBuf),
    /// Resident memory (MiB) of this systemd unit's main process.
    UnitRss(String),
    /// CPU use over a short window: of one process (percent of one core), or of the whole host.
    Cpu(CpuOf),
}

/// Whose CPU use [`Probe::Cpu`] reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum CpuOf {
    Process(String),
    Port(u16),
    Unit(String),
    /// All cores, percent of their sum.
    Host,
}

/// The one reply to a request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reply {
    pub ok: bool,
    /// What was done (ok), or what went wrong and how to fix it.
    pub detail: String,
    /// A probe's value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
}

impl Reply {
    pub fn ok(detail: impl Into<String>) -> Reply {
        Reply { ok: true, detail: detail.into(), value: None }
    }

    pub fn err(detail: impl Into<String>) -> Reply {
        Reply { ok: false, detail: detail.into(), value: None }
    }
}
