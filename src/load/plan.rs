//! What the load does, resolved from a scenario once: per phase a rate (or users) and a mix, plus the request
//! lists. Both engines read only this, so the orchestrator's job is `LoadPlan::from_scenario` and one call.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use super::AuthFault;
use crate::api::Endpoint;
use crate::scenario::{Completion, LoadModel, Mix, ScenarioFile};
use crate::secret::Secret;
use crate::url::{ServiceUrl, UrlRole};

/// One phase of the load; phases run back to back from the run's start.
#[derive(Debug, Clone, PartialEq)]
pub struct PhasePlan {
    pub name: String,
    pub duration: Duration,
    /// Open model: arrivals per second at the phase's start and end (linear in between; equal = constant).
    pub rate_start: f64,
    pub rate_end: f64,
    /// Users model: concurrent users.
    pub users: usize,
    pub mix: Mix,
}

impl PhasePlan {
    /// Arrivals the open model schedules in this phase: the integral of the rate over the phase.
    pub fn expected_requests(&self) -> f64 {
        (self.rate_start + self.rate_end) / 2.0 * self.duration.as_secs_f64()
    }
}

#[derive(Debug, Clone)]
pub struct LoadPlan {
    pub model: LoadModel,
    /// `http(s)://host[:port]`, no path.
    pub base_url: String,
    pub token: Option<Secret>,
    /// The run's TLS client configuration (`https` targets); `None` = the defaults (system roots).
    pub tls: Option<Arc<rustls::ClientConfig>>,
    /// Connect here instead of the URL's host (the network fault's proxy), keeping the URL's host as the TLS
    /// server name and `Host` header.
    pub via: Option<SocketAddr>,
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

/// A plan the engines cannot run, found before any request is sent.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PlanError {
    #[error("base URL: {0}")]
    BadUrl(String),
    #[error("phase {phase:?}: rate {rate} must be a finite number of requests per second, 0 or more")]
    BadRate { phase: String, rate: f64 },
    #[error("phase {phase:?}: every mix weight is 0, so it would send nothing; give one endpoint a weight")]
    EmptyMix { phase: String },
    #[error(
        "phase {phase:?}: the mix sends {endpoint} but [load].{list} is empty; add an entry or set its weight to 0"
    )]
    EmptyList { phase: String, endpoint: Endpoint, list: &'static str },
    #[error("phase {phase:?}: users = {users}, but the users model runs one user count for the whole run ({first})")]
    UsersChange { phase: String, users: usize, first: usize },
    #[error("phase {phase:?}: users must be at least 1")]
    NoUsers { phase: String },
    #[error("[load].max_in_flight must be at least 1")]
    NoInFlight,
    #[error("the scenario has no phases")]
    NoPhases,
    #[error(
        "a network fault with the users model cannot reach an https target (goose's client cannot be pointed at the \
         fault's proxy without breaking the certificate check); use model = \"open\" for this drill"
    )]
    UsersTlsViaProxy,
}

impl LoadPlan {
    /// Resolve `[load]` and each `[[phase]]`'s overrides. `base_url` is the target actually used (the scenario's,
    /// a `--target` override, or the embedded simulator's), `token` the one read from its env var or file.
    pub fn from_scenario(file: &ScenarioFile, base_url: &str, token: Option<Secret>) -> Result<Self, PlanError> {
        let load = &file.load;
        let phases = file
            .phases
            .iter()
            .map(|p| {
                let rate_start = p.load.rate.unwrap_or(load.rate);
                PhasePlan {
                    name: p.name.clone(),
                    duration: p.duration,
                    rate_start,
                    rate_end: p.load.ramp_to.unwrap_or(rate_start),
                    users: p.load.users.unwrap_or(load.users),
                    mix: p.load.mix.unwrap_or(load.mix),
                }
            })
            .collect();
        let plan = LoadPlan {
            model: load.model,
            base_url: base_url.trim_end_matches('/').to_owned(),
            token,
            tls: None,
            via: None,
            phases,
            max_in_flight: load.max_in_flight,
            timeout: load.timeout,
            ramp: load.ramp,
            think_time: load.think_time,
            scenes: load.scenes.clone(),
            expressions: load.expressions.clone(),
            completions: load.completions.clone(),
            auth_fault: AuthFault::default(),
        };
        plan.check()?;
        Ok(plan)
    }

    /// The checks `from_scenario` runs; public so a plan built by hand (tests, shards) is checked the same way.
    pub fn check(&self) -> Result<(), PlanError> {
        if self.url()?.secure && self.via.is_some() && self.model == LoadModel::Users {
            return Err(PlanError::UsersTlsViaProxy);
        }
        let first = self.phases.first().ok_or(PlanError::NoPhases)?;
        if self.max_in_flight == 0 {
            return Err(PlanError::NoInFlight);
        }
        for p in &self.phases {
            let phase = || p.name.clone();
            for rate in [p.rate_start, p.rate_end] {
                if !rate.is_finite() || rate < 0.0 {
                    return Err(PlanError::BadRate { phase: phase(), rate });
                }
            }
            if weights(&p.mix).iter().all(|&w| w == 0) {
                return Err(PlanError::EmptyMix { phase: phase() });
            }
            for ep in Endpoint::ALL {
                let (len, list) = match ep {
                    Endpoint::Status => (1, ""),
                    Endpoint::SceneLoad => (self.scenes.len(), "scenes"),
                    Endpoint::DebugEvaluate => (self.expressions.len(), "expressions"),
                    Endpoint::LspCompletion => (self.completions.len(), "completions"),
                };
                if len == 0 && weights(&p.mix)[ep.index()] > 0 {
                    return Err(PlanError::EmptyList { phase: phase(), endpoint: ep, list });
                }
            }
            if self.model == LoadModel::Users {
                if p.users == 0 {
                    return Err(PlanError::NoUsers { phase: phase() });
                }
                if p.users != first.users {
                    return Err(PlanError::UsersChange { phase: phase(), users: p.users, first: first.users });
                }
            }
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

/// Weights indexed by [`Endpoint::index`].
pub fn weights(mix: &Mix) -> [u32; 4] {
    [mix.status, mix.scene_load, mix.debug_evaluate, mix.lsp_completion]
}
