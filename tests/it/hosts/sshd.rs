//! An OpenSSH server on a free loopback port, with a throwaway host key, client key, known_hosts and SSH config: the
//! tests' "remote host". Root logs in with the key only; the server dies (with its sessions) when dropped.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::{free_port, listening, within};

pub struct Sshd {
    pub dir: tempfile::TempDir,
    pub port: u16,
    child: Child,
}

fn keygen(path: &Path) {
    let ok = Command::new("ssh-keygen").args(["-q", "-t", "ed25519", "-N", "", "-f"]).arg(path).status().unwrap();
    assert!(ok.success());
}

impl Sshd {
    pub fn start() -> Sshd {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let (host_key, client_key) = (d.join("host_key"), d.join("client_key"));
        keygen(&host_key);
        keygen(&client_key);
        std::fs::copy(d.join("client_key.pub"), d.join("authorized_keys")).unwrap();
        std::fs::create_dir_all("/run/sshd").unwrap();
        let port = free_port();
        let config = format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {}\nPidFile {}\nAuthorizedKeysFile {}\n\
             PermitRootLogin prohibit-password\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n\
             UsePAM no\nStrictModes no\nLogLevel ERROR\n",
            host_key.display(),
            d.join("sshd.pid").display(),
            d.join("authorized_keys").display()
        );
        std::fs::write(d.join("sshd_config"), config).unwrap();
        let host_pub = std::fs::read_to_string(d.join("host_key.pub")).unwrap();
        std::fs::write(d.join("known_hosts"), format!("[127.0.0.1]:{port} {host_pub}")).unwrap();
        let sshd = which_sshd();
        let child = Command::new(sshd)
            .args(["-D", "-e", "-f"])
            .arg(d.join("sshd_config"))
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("sshd starts (Debian: apt-get install openssh-server)");
        let server = Sshd { dir, port, child };
        within(Duration::from_secs(10), || listening(port)).expect("sshd listens");
        server
    }

    /// An SSH config naming this server `alias`, with `known_hosts` as the only known hosts file.
    pub fn config(&self, alias: &str, known_hosts: &Path) -> PathBuf {
        let path = self.dir.path().join(format!("ssh_config-{alias}"));
        let text = format!(
            "Host {alias}\n  HostName 127.0.0.1\n  Port {}\n  User root\n  IdentityFile {}\n  \
             UserKnownHostsFile {}\n  GlobalKnownHostsFile /dev/null\n  LogLevel ERROR\n",
            self.port,
            self.dir.path().join("client_key").display(),
            known_hosts.display()
        );
        std::fs::write(&path, text).unwrap();
        path
    }

    /// The `[[host]]` entry for this server, with its own journal on the "host".
    pub fn host_entry(&self, name: &str, journal: &Path, extra: &str) -> String {
        let config = self.config(name, &self.dir.path().join("known_hosts"));
        format!(
            "[[host]]\nname = \"{name}\"\nssh = \"{name}\"\nssh_config = \"{}\"\nspacetime_drill = \"{}\"\n\
             journal = \"{}\"\n{extra}\n",
            config.display(),
            super::EXE,
            journal.display()
        )
    }
}

fn which_sshd() -> &'static str {
    ["/usr/sbin/sshd", "/usr/bin/sshd"].into_iter().find(|p| Path::new(p).exists()).unwrap_or("sshd")
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let pgid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::killpg(pgid, nix::sys::signal::Signal::SIGKILL);
        let _ = self.child.wait();
    }
}
