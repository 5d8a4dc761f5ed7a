//! The closed set of fault kinds, as data: the one definition of every kind's settings, which is also the scenario
//! file's `[fault.<kind>]` table; [`FaultSpec::build`] turns one into the [`Fault`] that acts.
//!
//! [`fault_kind_list!`] is the single place a kind is registered. It hands the list (table name, variant, settings
//! type, doc) to a generator macro: this file generates [`FaultSpec`] from it, and the scenario generates its
//! `[[fault]]` entry (one optional field per kind table) from the same list, so the two can never disagree.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Fault;
use super::settings::{CheckSettings, Issues, SettingsContext};

/// Calls `$then! { $( /// doc  table => Variant(module::Type), )* }` with every fault kind, in the order the docs
/// list them. `module` is the kind's file under `src/fault/`, declared from this list too: a new kind is its file
/// and one line here.
macro_rules! fault_kind_list {
    ($then:ident) => {
        $then! {
            /// Hold a TCP port (Incident 1, scenario B).
            port_conflict => PortConflict(port_conflict::PortConflictSpec),
            /// Fill a filesystem (Incident 7).
            disk_fill => DiskFill(disk_fill::DiskFillSpec),
            /// Kill, terminate or freeze a process (Incident 1 scenario A, Incident 2 scenario C).
            kill_process => KillProcess(kill_process::KillProcessSpec),
            /// Stop and start a service through commands.
            service => Service(service::ServiceSpec),
            /// Toxics on the built-in proxy (Incidents 1 and 3).
            network => Network(network::NetworkSpec),
            /// Bad tokens on a share of requests (Incident 4, scenario A).
            expired_token => ExpiredToken(expired_token::ExpiredTokenSpec),
            /// Replace the JWT secret (Incident 4).
            key_rotation => KeyRotation(key_rotation::KeyRotationSpec),
            /// Break a scene file (Incident 5).
            scene => Scene(scene::SceneSpec),
            /// The simulator's leak knob (Incident 6).
            memory_leak => MemoryLeak(memory_leak::MemoryLeakSpec),
            /// The simulator's busy-work knob (Incident 3).
            frame_work => FrameWork(frame_work::FrameWorkSpec),
            /// Busy threads (Incident 3, scenario A).
            cpu_hog => CpuHog(cpu_hog::CpuHogSpec),
            /// Idle connections up to the bridge's limit (Incident 2).
            connection_flood => ConnectionFlood(connection_flood::ConnectionFloodSpec),
            /// A pair of commands for anything else.
            exec => Exec(exec::ExecSpec),
            /// Nothing (baselines, tests).
            noop => Noop(noop::NoopSpec),
        }
    };
}
pub(crate) use fault_kind_list;

macro_rules! fault_spec {
    ($( $(#[doc = $doc:literal])* $table:ident => $variant:ident($module:ident::$ty:ident), )*) => {
        /// One fault kind and its settings, externally tagged by the kind's table name.
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum FaultSpec {
            $( $(#[doc = $doc])* $variant(super::$module::$ty), )*
        }

        impl FaultSpec {
            /// Every kind's table name, in the order the docs list them.
            pub const NAMES: &[&str] = &[$(stringify!($table)),*];

            /// Every kind's table name with its [`CheckSettings::EXAMPLE`], for the tests that cover every kind.
            pub const EXAMPLES: &[(&str, &str)] =
                &[$((stringify!($table), <super::$module::$ty as CheckSettings>::EXAMPLE)),*];

            /// The kind's table name, e.g. `disk_fill`.
            pub fn name(&self) -> &'static str {
                match self { $( Self::$variant(_) => stringify!($table), )* }
            }

            /// The kind as the injector runs it locally (a `host` fault wraps the spec instead, see [`crate::host`]).
            pub fn build(&self) -> Box<dyn Fault> {
                match self { $( Self::$variant(s) => Box::new(s.clone()), )* }
            }

            /// The kind's own check of its settings (see [`CheckSettings`]).
            pub(crate) fn check(&self, cx: &SettingsContext, issues: &mut Issues) {
                match self { $( Self::$variant(s) => s.check(cx, issues), )* }
            }
        }
    };
}
fault_kind_list!(fault_spec);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_tables_parse_and_deny_unknown_fields() {
        let spec: FaultSpec = toml::from_str("[disk_fill]\npath = \"/mnt/x\"\npercent = 95.0\n").unwrap();
        assert_eq!(spec.build().kind(), "disk_fill");
        let spec: FaultSpec = toml::from_str("[kill_process]\nname = \"dap\"\nsignal = \"STOP\"\n").unwrap();
        assert_eq!(spec.build().kind(), "kill_process");
        let spec: FaultSpec = toml::from_str("[port_conflict]\nport = 6006\nmode = \"accept_close\"\n").unwrap();
        assert!(spec.build().describe().contains("accept and reset"));
        assert!(toml::from_str::<FaultSpec>("[cpu_hog]\nthreads = 2\ncores = 1\n").is_err());
    }

    #[test]
    fn every_kind_builds_the_fault_of_its_name() {
        for (name, body) in FaultSpec::EXAMPLES {
            let spec: FaultSpec = toml::from_str(&format!("[{name}]\n{body}")).unwrap();
            assert_eq!((spec.build().kind(), spec.name()), (*name, *name), "{body}");
        }
    }
}
