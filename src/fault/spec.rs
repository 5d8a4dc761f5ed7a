//! The closed set of fault kinds, as data: the scenario embeds one of these per `[[fault]]` (the kind table, e.g.
//! `[fault.disk_fill]`), and [`FaultSpec::build`] turns it into the [`Fault`] that acts.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Fault;
use super::connection_flood::ConnectionFloodSpec;
use super::cpu_hog::CpuHogSpec;
use super::disk_fill::DiskFillSpec;
use super::exec::ExecSpec;
use super::kill_process::KillProcessSpec;
use super::noop::NoopSpec;
use super::port_conflict::PortConflictSpec;
use super::service::ServiceSpec;

/// One fault kind and its settings, externally tagged by the kind name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FaultSpec {
    Noop(NoopSpec),
    PortConflict(PortConflictSpec),
    DiskFill(DiskFillSpec),
    KillProcess(KillProcessSpec),
    Service(ServiceSpec),
    Exec(ExecSpec),
    CpuHog(CpuHogSpec),
    ConnectionFlood(ConnectionFloodSpec),
}

impl FaultSpec {
    pub fn build(&self) -> Box<dyn Fault> {
        match self {
            FaultSpec::Noop(s) => Box::new(s.clone()),
            FaultSpec::PortConflict(s) => Box::new(s.clone()),
            FaultSpec::DiskFill(s) => Box::new(s.clone()),
            FaultSpec::KillProcess(s) => Box::new(s.clone()),
            FaultSpec::Service(s) => Box::new(s.clone()),
            FaultSpec::Exec(s) => Box::new(s.clone()),
            FaultSpec::CpuHog(s) => Box::new(s.clone()),
            FaultSpec::ConnectionFlood(s) => Box::new(s.clone()),
        }
    }
}

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
}
