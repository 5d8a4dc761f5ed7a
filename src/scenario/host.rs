//! `[[host]]` entries: the machines of the service under test that faults reach over SSH (`host = "NAME"` on a
//! `[[fault]]`), each with its own blast radius, which the agent on the host enforces.

use std::path::PathBuf;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::check::Checker;
use super::error::did_you_mean;
use super::locate::KeyPath;
use super::model::{Allow, ScenarioFile};

/// A host reached with the system's OpenSSH client (its config, agent, known_hosts and ProxyJump apply).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HostEntry {
    /// Faults name the host by this.
    pub name: String,
    /// `user@host`, or an alias of the SSH config.
    pub ssh: String,
    #[serde(default)]
    pub(crate) port: Option<u16>,
    /// A private key file (`ssh -i`).
    #[serde(default)]
    pub identity: Option<PathBuf>,
    /// An SSH config file to use instead of `~/.ssh/config` (`ssh -F`).
    #[serde(default)]
    pub ssh_config: Option<PathBuf>,
    /// Path of `spacetime-drill` on the host (the same version as the harness). Default `spacetime-drill`.
    #[serde(default)]
    pub spacetime_drill: Option<String>,
    /// Copy the running binary to the host for the run instead (same architecture and libc needed).
    #[serde(default)]
    pub upload: bool,
    /// The agent's crash journal on the host; default its user's XDG state directory.
    #[serde(default)]
    pub journal: Option<String>,
    /// The agent rolls back everything when it hears nothing from the harness for this long.
    #[serde(default = "default_lease", with = "humantime_serde")]
    #[schemars(with = "String")]
    pub lease: Duration,
    /// What faults may touch on this host (the scenario's top-level `[allow]` is for the harness's machine).
    #[serde(default)]
    pub allow: Allow,
    /// Measure the service on this host (through its agent): the run's memory and disk series come from here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probe: Option<HostProbe>,
}

/// `[host.probe]`: what the memory, disk and CPU probes read on the host.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HostProbe {
    /// Resident memory of the process listening on this port (e.g. the API's 8080).
    #[serde(default)]
    pub port: Option<u16>,
    /// Resident memory of the one process with this exact name (instead of `port`).
    #[serde(default)]
    pub process: Option<String>,
    /// Resident memory of this systemd unit's main process (instead of `port` or `process`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// Also measure CPU use: of the process the memory probe reads (percent of one core), or of the whole host
    /// (percent of all cores) when none is given.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cpu: bool,
    /// Disk usage of the filesystem holding this path.
    #[serde(default)]
    pub disk_path: Option<PathBuf>,
}

fn default_lease() -> Duration {
    Duration::from_secs(10)
}

/// Host names unique, SSH set, one way to the binary; each fault's `host` must name a host and a kind that can act
/// there.
pub(super) fn check(c: &mut Checker, file: &ScenarioFile) {
    let at = KeyPath::default().key("host");
    let names: Vec<&str> = file.hosts.iter().map(|h| h.name.as_str()).collect();
    for (i, host) in file.hosts.iter().enumerate() {
        let at = at.index(i);
        c.check(names.iter().filter(|n| **n == host.name).count() == 1, &at.key("name"), || {
            format!("host name \"{}\" is used twice; give each host its own", host.name)
        });
        c.check(!host.ssh.trim().is_empty() && !host.ssh.starts_with('-'), &at.key("ssh"), || {
            "must be user@host or an SSH config alias".to_owned()
        });
        c.check(!(host.upload && host.spacetime_drill.is_some()), &at.key("upload"), || {
            "give either `spacetime_drill` (the binary on the host) or `upload = true`, not both".to_owned()
        });
        c.duration(&at.key("lease"), host.lease, super::limits::MAX_LEASE, "10s");
        if let Some(probe) = &host.probe {
            let memory = [probe.port.is_some(), probe.process.is_some(), probe.unit.is_some()];
            c.check(memory.iter().filter(|m| **m).count() <= 1, &at.key("probe"), || {
                "give one of `port`, `process` or `unit` for the memory probe".to_owned()
            });
            c.check(!host.upload, &at.key("probe"), || {
                "probes need the binary installed on the host; set `spacetime_drill` instead of `upload`".to_owned()
            });
            let probe_cmds = file.probe.memory_command.is_some() || file.probe.disk_command.is_some() || file.probe.cpu;
            let others = file.hosts.iter().filter(|h| h.probe.is_some()).count();
            c.check(others == 1 && !probe_cmds, &at.key("probe"), || {
                "the run has one memory, disk and CPU series: probe one host, without [probe] commands or cpu"
                    .to_owned()
            });
        }
    }
    for (i, fault) in file.faults.iter().enumerate() {
        let (Some(host), at) = (&fault.host, KeyPath::default().key("fault").index(i).key("host")) else { continue };
        if !names.contains(&host.as_str()) {
            let known = if names.is_empty() { "none".to_owned() } else { names.join(", ") };
            c.fail(
                &at,
                format!("no [[host]] named \"{host}\" (defined: {known}){}", did_you_mean(host, names.clone())),
            );
        }
        let allowed = &allow_of(file, Some(host)).commands;
        for kind in fault.kinds() {
            if let Some(why) = crate::fault::on_host::host_refusal(kind.name()) {
                c.fail(&at, format!("a {} fault cannot act on a host: {why}; remove `host`", kind.name()));
            }
            if let Some((key, cmd)) = crate::fault::on_host::unlisted_command(&kind, allowed) {
                let at = KeyPath::default().key("fault").index(i).key(kind.name()).key(key);
                c.fail(
                    &at,
                    format!("host \"{host}\" may not run `{cmd}`; add it, exactly, to its [host.allow] commands"),
                );
            }
        }
    }
    c.check(file.allow.commands.is_empty(), &KeyPath::default().key("allow").key("commands"), || {
        "commands bound what a host's agent runs; move them to that [[host]]'s [host.allow]".to_owned()
    });
}

/// The allow-list a fault's settings are checked against: its host's, or the scenario's.
pub(super) fn allow_of<'a>(file: &'a ScenarioFile, host: Option<&str>) -> &'a Allow {
    host.and_then(|h| file.hosts.iter().find(|e| e.name == h)).map_or(&file.allow, |h| &h.allow)
}
