//! The service a run drives: the embedded simulator (started here, torn down at the end) or a URL given by the
//! scenario or the command line, with its token.

mod control;
pub mod data_fs;
pub mod run_dir;

pub use control::{SimControl, Started};

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

use crate::api::StateMapping;
use crate::cli::TlsArgs;
use crate::scenario::Scenario;
use crate::secret::Secret;
use crate::tls::TlsOptions;
use crate::url::{ServiceUrl, UrlRole};
use data_fs::DataFs;
use run_dir::RunDir;
use spacetime_sim::auth;
use spacetime_sim::launch::SimOptions;

pub(crate) struct Target {
    pub(crate) http: String,
    pub(crate) telemetry: Option<String>,
    pub(crate) token: Option<Secret>,
    /// The run's one TLS client configuration, when the API or telemetry URL is `https`/`wss`.
    pub tls: Option<Arc<rustls::ClientConfig>>,
    /// Certificates are not verified (`insecure = true` or `--insecure`): said next to the verdict everywhere.
    pub insecure: bool,
    pub(crate) state_mapping: StateMapping,
    /// The service's PID, when `[probe] pid` gives it. Otherwise the memory probe finds whoever listens on the
    /// target's port on this host, again after each restart (the embedded simulator keeps its ports, not its PIDs).
    pub pid: Option<u32>,
    /// A path whose filesystem usage is watched: `[probe] disk_path`, or the simulator's own data filesystem.
    pub disk_path: Option<PathBuf>,
    /// Holds the embedded simulator for the run's lifetime; dropping it kills its process group.
    pub embedded: Option<Embedded>,
}

impl Target {
    /// `url`/`telemetry` and each TLS option from the command line win over the scenario's `[target]`; with no
    /// URL at all, the embedded simulator is started on free ports. Command-line URLs and files get the checks
    /// `validate` gives the scenario's.
    pub fn resolve(
        scenario: &Scenario,
        url: Option<&str>,
        telemetry: Option<&str>,
        tls_args: &TlsArgs,
    ) -> anyhow::Result<Target> {
        let file = &scenario.file;
        let declared = file.target.as_ref();
        let flag = |name: &str, role, u: &str| {
            ServiceUrl::parse(u, role).map(|u| u.text).map_err(|e| anyhow::anyhow!("{name}: {e}"))
        };
        let url = url.map(|u| flag("--target", UrlRole::Api, u)).transpose()?;
        let telemetry = telemetry.map(|u| flag("--telemetry", UrlRole::Telemetry, u)).transpose()?;
        let url = url.or_else(|| declared.map(|t| t.url.clone()));
        let Some(url) = url else {
            return Self::embedded(scenario);
        };
        if let Some(why) = file.probe.cpu_unmeasurable(&url) {
            anyhow::bail!("cpu in [probe]: {why}");
        }
        let telemetry = telemetry.or_else(|| declared.and_then(|t| t.telemetry.clone()));
        let opts = tls_options(declared, tls_args)?;
        let secure = |u: &str| u.starts_with("https://") || u.starts_with("wss://");
        let tls = if secure(&url) || telemetry.as_deref().is_some_and(secure) {
            Some(crate::tls::client_config(&opts)?)
        } else {
            None
        };
        let token = match declared {
            Some(t) if t.token_env.is_some() => Some(Secret::from_env(t.token_env.as_deref().unwrap_or_default())?),
            Some(t) if t.token_file.is_some() => {
                Some(Secret::from_file(t.token_file.as_deref().unwrap_or(&PathBuf::new()))?)
            }
            _ => None,
        };
        Ok(Target {
            http: url.trim_end_matches('/').to_owned(),
            telemetry,
            insecure: opts.insecure && tls.is_some(),
            tls,
            token,
            state_mapping: declared.map(|t| t.state_mapping).unwrap_or_default(),
            pid: file.probe.pid,
            disk_path: file.probe.disk_path.clone(),
            embedded: None,
        })
    }

    fn embedded(scenario: &Scenario) -> anyhow::Result<Target> {
        let exe = std::env::current_exe().context("cannot find this program to start the simulator")?;
        let sim = &scenario.file.sim;
        // First, so that everything below lives in it and is removed with it, whatever ends the run.
        let run_dir = RunDir::create()?;
        let secrets = tempfile::Builder::new().prefix("secret-").tempdir_in(run_dir.path())?;
        let mut extra_args = Vec::new();
        if sim.frame_work_ms > 0.0 {
            extra_args.extend(["--frame-work-ms".to_owned(), sim.frame_work_ms.to_string()]);
        }
        if sim.leak_bytes_per_request > 0 {
            extra_args.extend(["--leak-bytes-per-request".to_owned(), sim.leak_bytes_per_request.to_string()]);
        }
        let jwt_secret = sim.auth.then(|| Secret::new(hex(&rand::random::<[u8; 32]>())));
        let token = match &jwt_secret {
            Some(secret) => {
                let path = secrets.path().join(JWT_SECRET);
                std::fs::write(&path, secret.expose())?;
                extra_args.extend(["--jwt-secret-file".to_owned(), path.display().to_string()]);
                Some(Secret::new(auth::mint(secret.expose().as_bytes(), TOKEN_TTL, None)?))
            }
            None => None,
        };
        let data_fs = sim.data_fs_mib.map(|mib| DataFs::mount(mib, run_dir.path().join("datafs"))).transpose()?;
        let data_dir = data_fs.as_ref().map(|fs| fs.path().to_owned());
        let scratch_in = Some(run_dir.path().to_owned());
        let opts = SimOptions { extra_args, data_dir, scratch_in, ..SimOptions::default() };
        let (control, started) =
            SimControl::spawn(exe, opts, token.clone()).context("cannot start the embedded simulator")?;
        Ok(Target {
            http: format!("http://127.0.0.1:{}", started.ports.http),
            telemetry: Some(format!("ws://127.0.0.1:{}", started.ports.telemetry)),
            token,
            tls: None,
            insecure: false,
            state_mapping: StateMapping::Legacy,
            pid: None,
            // The simulator's disk is its own data filesystem when it has one; a data directory on the host's shared
            // filesystem would judge the host's disk, not the service's, so it is not watched by default.
            disk_path: scenario
                .file
                .probe
                .disk_path
                .clone()
                .or_else(|| data_fs.as_ref().map(|_| started.data_dir.clone())),
            embedded: Some(Embedded {
                control: Arc::new(control),
                started,
                secrets,
                jwt_secret,
                _data_fs: data_fs,
                _run_dir: run_dir,
            }),
        })
    }
}

/// The scenario's TLS keys, each overridden by its command-line option; files named only on the command line are
/// checked here as `validate` checks the scenario's. Also what an `https` remote-write URL is verified with.
pub fn tls_options(declared: Option<&crate::scenario::Target>, args: &TlsArgs) -> anyhow::Result<TlsOptions> {
    let mut opts = declared.map(|t| t.tls()).unwrap_or_default();
    if let Some(ca) = &args.ca_file {
        crate::tls::ca_certificates(ca).map_err(|e| anyhow::anyhow!("--ca-file: {e}"))?;
        (opts.ca_file, opts.insecure) = (Some(ca.clone()), false);
    }
    if args.insecure {
        (opts.ca_file, opts.insecure) = (None, true);
    }
    if let (Some(cert), Some(key)) = (&args.client_cert, &args.client_key) {
        crate::tls::certificates(cert).map_err(|e| anyhow::anyhow!("--client-cert: {e}"))?;
        crate::tls::private_key(key).map_err(|e| anyhow::anyhow!("--client-key: {e}"))?;
        (opts.client_cert, opts.client_key) = (Some(cert.clone()), Some(key.clone()));
    }
    Ok(opts)
}

/// The embedded simulator and its run directory (its JWT secret, scratch, data), all removed when the run ends.
pub struct Embedded {
    /// Stops, starts and revives the simulator for faults; the simulator ends when the last handle is dropped.
    pub control: Arc<SimControl>,
    /// Its ports, PIDs and directories as it first came up: what scenario faults default to and the allow-list holds.
    pub started: Started,
    pub(crate) secrets: tempfile::TempDir,
    /// The signing secret in `secrets` when `[sim] auth` is on (`expired_token` mints with it).
    pub jwt_secret: Option<Secret>,
    /// Declared after `control` so it is unmounted once the simulator is gone.
    pub _data_fs: Option<DataFs>,
    /// Holds all of the above on disk; declared last, so it is removed last.
    pub _run_dir: RunDir,
}

/// The embedded simulator's signing secret, in [`Embedded::secrets`] (faults such as `key_rotation` default to it).
pub const JWT_SECRET: &str = "jwt.secret";

/// Longer than the longest timeline a scenario may have, so the run's token never expires mid-run; the secret dies
/// with the run anyway.
const TOKEN_TTL: Duration = Duration::from_secs(crate::scenario::limits::MAX_TIMELINE.as_secs() + 3600);

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
