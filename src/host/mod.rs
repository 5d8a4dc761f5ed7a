//! Faults on the target's own hosts: a `[[fault]]` with `host = "NAME"` is sent to `spacetime-drill agent` on that
//! host over SSH ([`ssh`]), which injects it with the same machinery as a local run and holds a lease ([`client`]
//! heartbeats it). Here the fault is a [`HostFault`]: it asks the agent, and journals an [`Undo::OnHost`] first, so
//! the harness's own watchdog or `recover` can reach the host after the harness died.
//!
//! [`Undo::OnHost`]: crate::fault::Undo::OnHost

mod client;
mod fault;
mod ssh;

use std::sync::Arc;

use crate::fault::runner::Planned;
use crate::scenario::Scenario;

use fault::{HostFault, HostSlot};

/// The scenario's faults as the injector runs them: those with a `host` go through that host's agent, one SSH
/// session per host, opened at the first preflight.
pub fn planned(scenario: &Scenario) -> Vec<Planned> {
    let slots: Vec<Arc<HostSlot>> = scenario.file.hosts.iter().map(|h| Arc::new(HostSlot::new(h))).collect();
    scenario
        .faults
        .iter()
        .map(|f| {
            let slot = f.host.as_ref().and_then(|h| slots.iter().find(|s| &s.target.name == h));
            let fault = match slot {
                Some(slot) => Box::new(HostFault::new(slot.clone(), &f.name, f.kind.clone(), f.ttl)) as _,
                None => f.kind.build(),
            };
            Planned { name: f.name.clone(), fault, ttl: f.ttl }
        })
        .collect()
}

/// The host whose `[host.probe]` the run's memory, disk and CPU series come from, and its probe commands.
pub(crate) struct HostProbes {
    pub(crate) host: String,
    pub(crate) memory: Option<String>,
    pub(crate) disk: Option<String>,
    pub(crate) cpu: Option<String>,
}

/// The probed host's commands: each sample is one `agent --probe` over SSH (a ControlMaster in the user's SSH config
/// makes that a round trip, not a login).
pub(crate) fn probe_commands(scenario: &crate::scenario::ScenarioFile) -> Option<HostProbes> {
    let (host, probe) = scenario.hosts.iter().find_map(|h| h.probe.as_ref().map(|p| (h, p)))?;
    let target = ssh::SshTarget::new(host);
    let process = (probe.port.map(|p| format!("port:{p}")))
        .or(probe.process.as_ref().map(|n| format!("process:{n}")))
        .or(probe.unit.as_ref().map(|u| format!("unit:{u}")));
    let disk = probe.disk_path.as_ref().map(|p| format!("disk:{}", p.display()));
    let cpu = probe.cpu.then(|| process.as_ref().map_or_else(|| "cpu".to_owned(), |p| format!("cpu:{p}")));
    Some(HostProbes {
        host: host.name.clone(),
        memory: process.map(|m| target.probe_shell(&m)),
        disk: disk.map(|d| target.probe_shell(&d)),
        cpu: cpu.map(|c| target.probe_shell(&c)),
    })
}

/// `recover --host NAME --scenario FILE`: replay that host's journal over SSH.
pub fn recover(scenario: &Scenario, host: &str) -> anyhow::Result<std::process::ExitCode> {
    let Some(entry) = scenario.file.hosts.iter().find(|h| h.name == host) else {
        let names: Vec<&str> = scenario.file.hosts.iter().map(|h| h.name.as_str()).collect();
        anyhow::bail!("{} has no [[host]] named `{host}` (defined: {})", scenario.path.display(), names.join(", "));
    };
    let mut target = ssh::SshTarget::new(entry);
    // The run's uploaded copy went with the run (or with the host's /tmp): bring one as the run did.
    let uploaded = target
        .upload
        .then(|| client::upload(&target))
        .transpose()
        .map_err(|e| anyhow::anyhow!("{}; fix: {}", e.what, e.fix))?;
    if let Some(path) = &uploaded {
        target.binary = path.clone();
    }
    let status = target.command(&target.agent_line(true)).status();
    if uploaded.is_some() {
        client::remove_upload(&target);
    }
    let status = status?;
    anyhow::ensure!(status.success(), "replaying the journal of host `{host}` failed ({status}); see above");
    Ok(std::process::ExitCode::SUCCESS)
}
