//! How to reach a `[[host]]`: the system's OpenSSH client, so the user's config, agent, known_hosts and ProxyJump
//! work as they already do, and nothing of SSH is reimplemented here.
//!
//! Always `BatchMode=yes` (a password prompt would hang a drill) and `StrictHostKeyChecking=yes` (a drill that
//! kills processes must not trust a host it has never seen; the README says how to add a key).

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use crate::scenario::HostEntry;

/// One host's SSH destination and where its agent is.
#[derive(Debug, Clone)]
pub struct SshTarget {
    pub name: String,
    ssh: String,
    port: Option<u16>,
    identity: Option<PathBuf>,
    ssh_config: Option<PathBuf>,
    /// The binary on the host; replaced by the uploaded copy's path with `upload`.
    pub binary: String,
    pub upload: bool,
    journal: Option<String>,
    pub lease: Duration,
}

impl SshTarget {
    pub fn new(host: &HostEntry) -> SshTarget {
        SshTarget {
            name: host.name.clone(),
            ssh: host.ssh.clone(),
            port: host.port,
            identity: host.identity.clone(),
            ssh_config: host.ssh_config.clone(),
            binary: host.spacetime_drill.clone().unwrap_or_else(|| "spacetime-drill".into()),
            upload: host.upload,
            journal: host.journal.clone(),
            lease: host.lease,
        }
    }

    /// `ssh`'s arguments up to and including the destination.
    fn args(&self) -> Vec<String> {
        let mut args: Vec<String> =
            ["-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes", "-o", "ConnectTimeout=10"]
                .map(String::from)
                .into();
        if let Some(config) = &self.ssh_config {
            args.extend(["-F".into(), config.display().to_string()]);
        }
        if let Some(port) = self.port {
            args.extend(["-p".into(), port.to_string()]);
        }
        if let Some(identity) = &self.identity {
            args.extend(["-i".into(), identity.display().to_string()]);
        }
        args.extend(["-T".into(), self.ssh.clone(), "--".into()]);
        args
    }

    /// `ssh ... -- REMOTE`, where `remote` is one shell command line for the host.
    pub fn command(&self, remote: &str) -> Command {
        let mut cmd = Command::new("ssh");
        cmd.args(self.args()).arg(remote);
        cmd
    }

    /// The agent's command line on the host (`--recover` for the replay).
    pub fn agent_line(&self, recover: bool) -> String {
        let mut words = vec![self.binary.clone(), "agent".into(), "--lease".into()];
        words.push(format!("{}ms", self.lease.as_millis()));
        if let Some(j) = &self.journal {
            words.extend(["--journal".into(), j.clone()]);
        }
        if recover {
            words.push("--recover".into());
        }
        quote(&words)
    }

    /// A local shell command that replays the host's journal: what the harness's journal keeps for when the agent
    /// cannot be asked.
    pub fn recover_shell(&self) -> String {
        self.shell(&self.agent_line(true))
    }

    /// A local shell command printing one measurement on the host (`agent --probe WHAT`).
    pub fn probe_shell(&self, what: &str) -> String {
        self.shell(&quote(&[self.binary.clone(), "agent".into(), "--probe".into(), what.into()]))
    }

    /// `ssh ... -- REMOTE` as one local shell command line.
    fn shell(&self, remote: &str) -> String {
        let mut words = vec!["ssh".to_owned()];
        words.extend(self.args());
        words.push(remote.to_owned());
        quote(&words)
    }

    /// The destination as a user would type it, for error messages.
    pub fn describe(&self) -> String {
        let port = self.port.map(|p| format!(" -p {p}")).unwrap_or_default();
        format!("ssh{port} {}", self.ssh)
    }
}

fn quote(words: &[String]) -> String {
    shlex::try_join(words.iter().map(String::as_str)).unwrap_or_else(|_| words.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_recover_command_survives_two_shells_and_keeps_strict_host_keys() {
        let host: HostEntry = toml::from_str(
            "name = \"h\"\nssh = \"deploy@web 1\"\nport = 2222\nspacetime_drill = \"/opt/my drill/spacetime-drill\"\n\
             journal = \"/var/lib/it's/j.jsonl\"\nlease = \"3s\"",
        )
        .unwrap();
        let target = SshTarget::new(&host);
        let local = shlex::split(&target.recover_shell()).expect("one local shell line");
        assert_eq!(&local[..5], ["ssh", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes"]);
        assert!(local.windows(2).any(|w| w == ["-p", "2222"]) && local.contains(&"deploy@web 1".to_owned()));
        let remote = shlex::split(local.last().unwrap()).expect("one remote shell line");
        let want =
            ["/opt/my drill/spacetime-drill", "agent", "--lease", "3000ms", "--journal", "/var/lib/it's/j.jsonl"];
        assert_eq!(remote[..6], want);
        assert_eq!(remote[6], "--recover");
    }
}
