//! `[[fault]]` entries: a name and a TTL in the wrapper, the kind's settings in exactly one kind table.
//!
//! serde cannot combine `deny_unknown_fields` with `flatten`, so the wire format follows toxiproxy's wrapper /
//! attributes split: [`FaultEntry`] has one optional field per kind (`[fault.disk_fill]`, `[fault.noop]`, ...) and
//! the check turns the one that is set into the closed [`FaultSpec`] enum the faults module acts on. The settings
//! types are the faults module's own (one definition per kind), and the fields are generated from its
//! `fault_kind_list!`, the single place a kind is registered.

mod check;

use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use crate::fault::FaultSpec;
pub(super) use check::{Context, check_kind};

macro_rules! fault_entry {
    ($( $(#[doc = $doc:literal])* $table:ident => $variant:ident($module:ident::$ty:ident), )*) => {
        /// A fault as written: the timeline fields, then exactly one kind table, e.g. `[fault.disk_fill]`.
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
        #[serde(deny_unknown_fields)]
        pub struct FaultEntry {
            /// Phases hold the fault by this name.
            pub name: String,
            /// Longest the fault may be held, whatever the timeline does; default: its window (the phases holding
            /// it, back to back). Shorter than the window = the fault is rolled back early. At most 7 days.
            #[serde(default, with = "humantime_serde", skip_serializing_if = "Option::is_none")]
            #[schemars(with = "Option<String>")]
            pub ttl: Option<Duration>,
            /// Act on this `[[host]]` (through its agent, over SSH) instead of the harness's machine.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub host: Option<String>,
            $( $(#[doc = $doc])* #[serde(default, skip_serializing_if = "Option::is_none")]
               pub $table: Option<crate::fault::$module::$ty>, )*
        }

        impl FaultEntry {
            /// Every kind table the entry has; a checked entry has exactly one.
            pub fn kinds(&self) -> Vec<FaultSpec> {
                let mut kinds = Vec::new();
                $( if let Some(k) = &self.$table { kinds.push(FaultSpec::$variant(k.clone())); } )*
                kinds
            }
        }
    };
}
crate::fault::fault_kind_list!(fault_entry);

/// A checked fault, ready for the faults module.
#[derive(Debug, Clone, PartialEq)]
pub struct Fault {
    /// The entry's `name`, unique in the file: what phases list and what the journal, events and reports say.
    pub name: String,
    /// Longest the fault is held: the entry's `ttl`, or its window.
    pub ttl: Duration,
    /// The one kind table the entry had (`[fault.disk_fill]`, ...), with its settings checked.
    pub kind: FaultSpec,
    /// The `[[host]]` it acts on; `None` = the harness's machine.
    pub host: Option<String>,
}
