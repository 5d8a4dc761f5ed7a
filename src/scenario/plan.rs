//! The timeline resolved once, at load: each phase's rate (or users) and mix with `[load]`'s defaults filled in.
//!
//! Why here: the checks that make a phase runnable (a rate in range, one user count, a mix that sends something) are
//! the scenario's, so the form the load engines read is built right after them and nowhere else; the engines run
//! it without checking again (ripgrep's split of low-level arguments into one checked high-level form).

use std::time::Duration;

use super::model::{Mix, ScenarioFile};

/// One phase of the load; phases run back to back from the run's start.
#[derive(Debug, Clone, PartialEq)]
pub struct PhasePlan {
    /// The scenario phase's name, for the record and the engines' logs.
    pub name: String,
    /// How long the engines keep sending in this phase before moving on to the next.
    pub duration: Duration,
    /// Open model: arrivals per second at the phase's start and end (linear in between; equal = constant).
    pub rate_start: f64,
    /// The phase's `ramp_to`, or `rate_start` when it does not ramp.
    pub rate_end: f64,
    /// Users model: concurrent users.
    pub users: usize,
    /// The phase's own weights, or `[load]`'s.
    pub mix: Mix,
}

impl PhasePlan {
    /// Arrivals the open model schedules in this phase: the integral of the rate over the phase.
    pub fn expected_requests(&self) -> f64 {
        (self.rate_start + self.rate_end) / 2.0 * self.duration.as_secs_f64()
    }
}

/// Every phase with `[load]`'s defaults filled in; called on a checked file.
pub(super) fn resolve(file: &ScenarioFile) -> Vec<PhasePlan> {
    let load = &file.load;
    file.phases
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
        .collect()
}
