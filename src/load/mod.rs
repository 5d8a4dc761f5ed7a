//! Load on the four endpoints: the open model (arrival rate, the default) and the closed model (goose users).
//!
//! Both engines take a [`LoadPlan`] (resolved once from the scenario), the run's [`Recorder`],
//! the run's start instant and a cancellation token, and record every request as
//! `(phase, endpoint, intended, sent, done, outcome)`. The timeline owns the phase clock (`Recorder::enter_phase`);
//! the open model does not read it: it knows each request's intended time, so it files the request under the phase
//! whose window contains that time, exactly, however late the request runs. The users model has no schedule and
//! tags each request with the phase current at its start.
//!
//! | file | concept |
//! |---|---|
//! | `auth_fault` | [`AuthFault`]: the share of requests that carry a bad token while `expired_token` is held |
//! | `plan` | [`LoadPlan`] from a scenario, and its checks |
//! | `schedule` | arrival times (absolute deadlines, constant or ramping rate) and the endpoint mix |
//! | `timer` | the pacer's sleep: a timerfd in the runtime's poller, precise to microseconds |
//! | `requests` | request bodies serialized once; response classification |
//! | `http` | one hyper keep-alive connection per worker, plain or TLS ([`crate::tls::Dialer`]); errors to outcomes |
//! | `open` | [`run_open`]: scheduler + workers, in-flight cap, late and dropped counts |
//! | `users` | [`run_users`] on goose |

mod auth_fault;
pub mod bench;
mod http;
mod open;
mod plan;
mod requests;
mod schedule;
mod timer;
mod users;

pub use auth_fault::{AuthFault, AuthFaultError};
pub use http::classify_error;
pub use open::{LATE, run_open};
pub use plan::{LoadPlan, PhasePlan, PlanError};
pub use requests::classify_response;
pub use schedule::{Arrivals, Mixer};
pub use users::run_users;

use std::time::Instant;

use tokio_util::sync::CancellationToken;

use crate::record::Recorder;
use crate::scenario::LoadModel;

/// Run the plan on the model it names.
pub async fn run(plan: &LoadPlan, rec: Recorder, start: Instant, cancel: CancellationToken) -> anyhow::Result<()> {
    match plan.model {
        LoadModel::Open => run_open(plan, rec, start, cancel).await,
        LoadModel::Users => run_users(plan, rec, start, cancel).await,
    }
}
