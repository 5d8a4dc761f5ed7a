//! What the load does, resolved from a scenario once: per phase a rate (or users) and a mix, plus the request
//! lists. Both engines read only this, so the orchestrator's job is `LoadPlan::from_scenario` and one call.

use std::time::Duration;

use super::AuthFault;
pub use crate::scenario::PhasePlan;
use crate::scenario::{Completion, LoadModel, Mix, Scenario};
use crate::secret::Secret;

#[derive(Debug, Clone)]
pub struct LoadPlan {
    pub model: LoadModel,
    /// `http://host:port`, no path.
    pub base_url: String,
    pub token: Option<Secret>,
    pub phases: Vec<PhasePlan>,
    /// Open model: cap on outstanding requests (and so on connections).
    pub max_in_flight: usize,
    pub timeout: Duration,
    /// Users model: time to start all users, and the pause after each request.
    pub ramp: Duration,
    pub think_time: Duration,
    pub scenes: Vec<String>,
    pub expressions: Vec<String>,
    pub completions: Vec<Completion>,
    /// Set and cleared by the `expired_token` fault while the run goes; both engines consult it per request.
    pub auth_fault: AuthFault,
}

/// A plan the engines cannot run, found before any request is sent. Only the URL is left to check here: it may
/// come from the command line (`--target`); everything else was checked when the scenario was loaded.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PlanError {
    #[error("base URL {0:?} must look like http://host:port (https is not supported by the load engines)")]
    BadUrl(String),
}

impl LoadPlan {
    /// The checked scenario's plan against the target actually used (`base_url`: the scenario's, a `--target`
    /// override, or the embedded simulator's), with `token` read from its env var or file.
    pub fn from_scenario(scenario: &Scenario, base_url: &str, token: Option<Secret>) -> Result<Self, PlanError> {
        let load = &scenario.file.load;
        let plan = LoadPlan {
            model: load.model,
            base_url: base_url.trim_end_matches('/').to_owned(),
            token,
            phases: scenario.phases.clone(),
            max_in_flight: load.max_in_flight,
            timeout: load.timeout,
            ramp: load.ramp,
            think_time: load.think_time,
            scenes: load.scenes.clone(),
            expressions: load.expressions.clone(),
            completions: load.completions.clone(),
            auth_fault: AuthFault::default(),
        };
        if plan.host_port().is_none() {
            return Err(PlanError::BadUrl(plan.base_url.clone()));
        }
        Ok(plan)
    }

    /// Keep shard `index`'s share of `count` equal shares (`run --shard I/N`): arrival rates divided by N, users
    /// split with the remainder going to the first shards, so N machines together drive the scenario once.
    pub fn share(&mut self, index: u32, count: u32) {
        let n = f64::from(count.max(1));
        for p in &mut self.phases {
            p.rate_start /= n;
            p.rate_end /= n;
            let (each, extra) = (p.users / count as usize, p.users % count as usize);
            p.users = each + usize::from((index as usize) < extra);
        }
    }

    /// The whole timeline.
    pub fn total(&self) -> Duration {
        self.phases.iter().map(|p| p.duration).sum()
    }

    /// `host:port` of the base URL (port 80 when omitted); `None` when it is not plain `http://`.
    pub fn host_port(&self) -> Option<String> {
        let rest = self.base_url.strip_prefix("http://")?;
        if rest.is_empty() || rest.contains('/') {
            return None;
        }
        let has_port = rest.rsplit_once(':').is_some_and(|(_, p)| p.parse::<u16>().is_ok()) && !rest.ends_with(']');
        Some(if has_port { rest.to_owned() } else { format!("{rest}:80") })
    }
}

/// Weights indexed by [`crate::api::Endpoint::index`].
pub fn weights(mix: &Mix) -> [u32; 4] {
    [mix.status, mix.scene_load, mix.debug_evaluate, mix.lsp_completion]
}
