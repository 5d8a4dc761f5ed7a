//! `[[fault]]` entries: a name and a TTL in the wrapper, the kind's settings in exactly one kind table.
//!
//! serde cannot combine `deny_unknown_fields` with `flatten`, so the wire format follows toxiproxy's wrapper /
//! attributes split: [`FaultEntry`] has one optional field per kind (`[fault.disk_fill]`, `[fault.noop]`, ...) and
//! the check turns the one that is set into the closed [`FaultKind`] enum the faults module matches on. The
//! `fault_kinds!` list is the single place a kind is registered: it yields the field, the enum variant and the name.

mod check;
mod kinds;

use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub(super) use check::{Context, check_kind};
pub use kinds::*;

macro_rules! fault_kinds {
    ($( $(#[doc = $doc:literal])* $field:ident => $variant:ident, )*) => {
        /// A fault as written: the timeline fields, then exactly one kind table, e.g. `[fault.disk_fill]`.
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
        #[serde(deny_unknown_fields)]
        pub struct FaultEntry {
            /// Phases hold the fault by this name.
            pub name: String,
            /// Longest the fault may be held, whatever the timeline does; default: its window (the phases holding
            /// it, back to back). Shorter than the window = the fault is rolled back early.
            #[serde(default, with = "humantime_serde", skip_serializing_if = "Option::is_none")]
            #[schemars(with = "Option<String>")]
            pub ttl: Option<Duration>,
            $( $(#[doc = $doc])* #[serde(default, skip_serializing_if = "Option::is_none")]
               pub $field: Option<$variant>, )*
        }

        /// The kind of a checked fault, with its settings.
        #[derive(Debug, Clone, PartialEq)]
        pub enum FaultKind {
            $( $(#[doc = $doc])* $variant($variant), )*
        }

        impl FaultKind {
            /// Every kind's table name, in the order the docs list them.
            pub const NAMES: &[&str] = &[$(stringify!($field)),*];

            /// The kind's table name, e.g. `disk_fill`.
            pub fn name(&self) -> &'static str {
                match self { $( Self::$variant(_) => stringify!($field), )* }
            }
        }

        impl FaultEntry {
            /// Every kind table the entry has; a checked entry has exactly one.
            pub fn kinds(&self) -> Vec<FaultKind> {
                let mut kinds = Vec::new();
                $( if let Some(k) = &self.$field { kinds.push(FaultKind::$variant(k.clone())); } )*
                kinds
            }
        }
    };
}

fault_kinds! {
    /// Hold a TCP port (Incident 1, scenario B).
    port_conflict => PortConflict,
    /// Fill a filesystem (Incident 7).
    disk_fill => DiskFill,
    /// Kill, terminate or freeze a process (Incident 1 scenario A, Incident 2 scenario C).
    kill_process => KillProcess,
    /// Stop and start a service through commands.
    service => Service,
    /// Toxics on the built-in proxy (Incidents 1 and 3).
    network => Network,
    /// Bad tokens on a share of requests (Incident 4, scenario A).
    expired_token => ExpiredToken,
    /// Replace the JWT secret (Incident 4).
    key_rotation => KeyRotation,
    /// Break a scene file (Incident 5).
    scene => Scene,
    /// The simulator's leak knob (Incident 6).
    memory_leak => MemoryLeak,
    /// The simulator's busy-work knob (Incident 3).
    frame_work => FrameWork,
    /// Busy threads (Incident 3, scenario A).
    cpu_hog => CpuHog,
    /// Idle connections up to the bridge's limit (Incident 2).
    connection_flood => ConnectionFlood,
    /// A pair of commands for anything else.
    exec => Exec,
    /// Nothing (baselines, tests).
    noop => Noop,
}

/// A checked fault, ready for the faults module.
#[derive(Debug, Clone, PartialEq)]
pub struct Fault {
    pub name: String,
    /// Longest the fault is held: the entry's `ttl`, or its window.
    pub ttl: Duration,
    pub kind: FaultKind,
}
