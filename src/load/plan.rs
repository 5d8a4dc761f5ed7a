//! What the load does, resolved from a scenario once: per phase a rate (or users) and a mix, plus the request
//! lists. Both engines read only this, so the orchestrator's job is `LoadPlan::from_scenario` and one call.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use super::AuthFault;
pub use crate::scenario::PhasePlan;
use crate::scenario::{Completion, LoadModel, Mix, Scenario};
use crate::secret::Secret;
use crate::url::{ServiceUrl, UrlRole};

/// Everything either engine needs for the whole run, built once before the first request so neither engine
/// re-reads the scenario.
#[derive(Debug, Clone)]
pub struct LoadPlan {
    /// Which engine runs it: the open model (hyper, arrivals on a schedule) or users (goose, back to back).
    pub model: LoadModel,
    /// `http(s)://host[:port]`, no path.
    pub base_url: String,
    /// Sent as `Authorization: Bearer` on every request; `None` for a target without auth.
    pub token: Option<Secret>,
    /// The run's TLS client configuration (`https` targets); `None` = the defaults (system roots).
    pub tls: Option<Arc<rustls::ClientConfig>>,
    /// Connect here instead of the URL's host (the network fault's proxy), keeping the URL's host as the TLS
    /// server name and `Host` header.
    pub via: Option<SocketAddr>,
    /// Back to back from the run's start, in the scenario's order: the engines' clock.
    pub phases: Vec<PhasePlan>,
    /// Open model: cap on outstanding requests (and so on connections).
    pub max_in_flight: usize,
    /// Per request, from its send to the last byte of the answer; a request past it is abandoned as a `timeout`.
    pub timeout: Duration,
    /// Users model: time to start all users, and the pause after each request.
    pub ramp: Duration,
    /// Users model: each user's pause between its requests (zero: back to back).
    pub think_time: Duration,
    pub(crate) scenes: Vec<String>,
    pub(crate) expressions: Vec<String>,
    pub(crate) completions: Vec<Completion>,
    /// Set and cleared by the `expired_token` fault while the run goes; both engines consult it per request.
    pub auth_fault: AuthFault,
}

/// A plan the engines cannot run, found before any request is sent. Only the URL is left to check here: it may
/// come from the command line (`--target`); everything else was checked when the scenario was loaded.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PlanError {
    /// The target URL fails the shared URL check; the message says what to write instead.
    #[error("base URL: {0}")]
    BadUrl(String),
    /// A `network` fault routes through a local proxy, which the users model can use only over plain HTTP.
    #[error(
        "a network fault with the users model cannot reach an https target (goose's client cannot be pointed at the \
         fault's proxy without breaking the certificate check); use model = \"open\" for this drill"
    )]
    UsersTlsViaProxy,
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
            tls: None,
            via: None,
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
        plan.url()?;
        Ok(plan)
    }

    /// What only the run knows: the URL (it may come from `--target`) and whether the load goes through a proxy.
    pub fn check(&self) -> Result<(), PlanError> {
        if self.url()?.secure && self.via.is_some() && self.model == LoadModel::Users {
            return Err(PlanError::UsersTlsViaProxy);
        }
        Ok(())
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

    /// The base URL, checked as `validate` checks `[target] url`.
    pub fn url(&self) -> Result<ServiceUrl, PlanError> {
        ServiceUrl::parse(&self.base_url, UrlRole::Api).map_err(|e| PlanError::BadUrl(e.0))
    }
}

/// Weights indexed by [`crate::api::Endpoint::index`].
pub fn weights(mix: &Mix) -> [u32; crate::api::Endpoint::ALL.len()] {
    [mix.status, mix.scene_load, mix.debug_evaluate, mix.lsp_completion]
}
