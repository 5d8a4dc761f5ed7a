//! TLS end to end (issue 11): simulators serving HTTPS/WSS as their own processes with certificates made at test time
//! (rcgen; no key material is checked in), driven by `spacetime-drill run --target https://... --telemetry wss://...`.

mod certs;
mod drills;
mod examples;
mod input;
mod session;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, date_time_ymd};
use serde_json::Value;
use spacetime_sim::launch::{SimOptions, SimProcess};

use crate::support::EXE;

/// A throwaway PKI in a temporary directory: `ca.pem`, `server.pem`/`server.key` (signed by the CA, valid for
/// 127.0.0.1 only, so `localhost` is a name mismatch), `expired.pem`/`expired.key` (same CA, expired in 2021),
/// `client-ca.pem` and `client.pem`/`client.key` (for mTLS).
pub struct Pki {
    pub dir: tempfile::TempDir,
}

impl Pki {
    pub fn new() -> Pki {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: String| std::fs::write(dir.path().join(name), text).unwrap();
        let server_ca = ca("spacetime-drill test CA");
        write("ca.pem", server_ca.pem());
        let leaf = |sans: &[&str], expired: bool, issuer: &CertifiedIssuer<'_, KeyPair>, name: &str| {
            let mut params = CertificateParams::new(sans.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
            params.distinguished_name.push(DnType::CommonName, sans[0]);
            if expired {
                (params.not_before, params.not_after) = (date_time_ymd(2020, 1, 1), date_time_ymd(2021, 1, 1));
            }
            let key = KeyPair::generate().unwrap();
            write(&format!("{name}.pem"), params.signed_by(&key, issuer).unwrap().pem());
            write(&format!("{name}.key"), key.serialize_pem());
        };
        leaf(&["127.0.0.1"], false, &server_ca, "server");
        leaf(&["127.0.0.1"], true, &server_ca, "expired");
        let client_ca = ca("spacetime-drill test client CA");
        write("client-ca.pem", client_ca.pem());
        leaf(&["drill-client"], false, &client_ca, "client");
        Pki { dir }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn arg(&self, name: &str) -> String {
        self.path(name).display().to_string()
    }
}

fn ca(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
}

/// A simulator serving HTTPS and WSS with `cert`/`key` of `pki`, plus `extra` flags.
pub fn tls_sim(pki: &Pki, cert: &str, extra: &[String]) -> SimProcess {
    let mut args = vec!["--tls-cert".to_owned(), pki.arg(&format!("{cert}.pem"))];
    args.extend(["--tls-key".to_owned(), pki.arg(&format!("{cert}.key"))]);
    args.extend(extra.iter().cloned());
    SimProcess::spawn(EXE.as_ref(), &SimOptions { extra_args: args, ..Default::default() }).expect("TLS simulator")
}

pub fn https(sim: &SimProcess, host: &str) -> String {
    format!("https://{host}:{}", sim.ports.http)
}

pub fn wss(sim: &SimProcess) -> String {
    format!("wss://127.0.0.1:{}", sim.ports.telemetry)
}

/// What a finished `spacetime-drill` process left: exit code, stdout, stderr, and the report when one was written.
pub struct Ran {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub report: Option<Value>,
    /// Every other file the run wrote beside `report.json` (`summary.md`, `junit.xml`, ...), by name.
    pub files: Vec<(String, String)>,
}

/// `spacetime-drill ARGS` with a private journal and report directory, `--out` added for `run`; it must end
/// within `limit` (a hang fails the test and kills the process).
pub fn drill(args: &[&str], envs: &[(&str, &str)], limit: Duration) -> Ran {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let mut cmd = Command::new(EXE);
    cmd.args(args).env("SPACETIME_DRILL_JOURNAL", dir.path().join("journal.jsonl"));
    if args.first() == Some(&"run") {
        cmd.arg("--out").arg(&out);
    }
    // Files, not pipes: nobody reads a pipe while we wait, and a full one would stall the run.
    let (stdout, stderr) = (dir.path().join("stdout"), dir.path().join("stderr"));
    let file = |p: &Path| Stdio::from(std::fs::File::create(p).unwrap());
    cmd.envs(envs.iter().copied()).stdout(file(&stdout)).stderr(file(&stderr));
    let mut child = cmd.spawn().expect("the binary runs");
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("`spacetime-drill {}` did not end within {limit:?}", args.join(" "));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let status = child.wait().unwrap();
    let report = std::fs::read_to_string(out.join("report.json")).ok().map(|t| serde_json::from_str(&t).unwrap());
    let text = |p: &Path| String::from_utf8_lossy(&std::fs::read(p).unwrap()).into_owned();
    let files = std::fs::read_dir(&out)
        .map(|d| d.map(|e| e.unwrap().path()).filter(|p| !p.ends_with("report.json")).collect::<Vec<_>>())
        .unwrap_or_default()
        .iter()
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), text(p)))
        .collect();
    let ran = Ran { code: status.code(), stdout: text(&stdout), stderr: text(&stderr), report, files };
    eprintln!(
        "$ spacetime-drill {}\nexit {:?}\nstdout:\n{}\nstderr:\n{}",
        args.join(" "),
        ran.code,
        ran.stdout,
        ran.stderr
    );
    ran
}

pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}
