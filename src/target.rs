//! The service a run drives: the embedded simulator (started here, torn down at the end) or a URL given by the
//! scenario or the command line, with its token.

use std::path::PathBuf;

use anyhow::Context;

use crate::api::StateMapping;
use crate::scenario::Scenario;
use crate::secret::Secret;
use crate::sim::launch::{SimOptions, SimProcess};

pub struct Target {
    pub http: String,
    pub telemetry: Option<String>,
    pub token: Option<Secret>,
    pub state_mapping: StateMapping,
    /// The service's PID when it runs on this host and is known (the embedded simulator's bridge).
    pub pid: Option<u32>,
    /// A path whose filesystem usage is watched by default (the simulator's data directory).
    pub disk_path: Option<PathBuf>,
    /// Holds the embedded simulator for the run's lifetime; dropping it kills its process group.
    pub embedded: Option<SimProcess>,
}

impl Target {
    /// `url`/`telemetry` from the command line win over the scenario's `[target]`; with neither, the embedded
    /// simulator is started on free ports.
    pub fn resolve(scenario: &Scenario, url: Option<&str>, telemetry: Option<&str>) -> anyhow::Result<Target> {
        let file = &scenario.file;
        let declared = file.target.as_ref();
        let url = url.map(str::to_owned).or_else(|| declared.map(|t| t.url.clone()));
        let Some(url) = url else {
            return Self::embedded(scenario);
        };
        let token = match declared {
            Some(t) if t.token_env.is_some() => Some(Secret::from_env(t.token_env.as_deref().unwrap_or_default())?),
            Some(t) if t.token_file.is_some() => Some(Secret::from_file(t.token_file.as_deref().unwrap_or(&PathBuf::new()))?),
            _ => None,
        };
        Ok(Target {
            http: url.trim_end_matches('/').to_owned(),
            telemetry: telemetry.map(str::to_owned).or_else(|| declared.and_then(|t| t.telemetry.clone())),
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
        let opts = SimOptions { auth: sim.auth, frame_work_ms: sim.frame_work_ms, leak_bytes_per_request: sim.leak_bytes_per_request };
        let process = SimProcess::spawn(&exe, &opts).context("cannot start the embedded simulator")?;
        let token = process.mint_token()?;
        Ok(Target {
            http: process.http_url(),
            telemetry: Some(process.telemetry_url()),
            token,
            state_mapping: StateMapping::Legacy,
            pid: Some(process.ports.pids.bridge),
            disk_path: Some(scenario.file.probe.disk_path.clone().unwrap_or_else(|| process.data_dir.clone())),
            embedded: Some(process),
        })
    }
}
