//! spacetime-drill drives the SpaceTime API with load while injecting real faults, measures each phase, and judges
//! the result against the service's incident runbook.
//!
//! # Vocabulary and where it lives
//! | word | meaning | module |
//! |---|---|---|
//! | scenario | a TOML file: target, load, a timeline of phases, faults, expectations | [`scenario`] |
//! | phase | a named span of the timeline (baseline, fault, recovery) measured on its own | [`scenario`], [`record`] |
//! | load | requests to the four endpoints, open model (arrival rate) or closed (goose users) | [`load`] |
//! | telemetry | the target's FPS WebSocket, watched for the whole run | [`telemetry`] |
//! | probe | read-only checks on a cadence: `/status`, resident memory, disk usage | [`probe`] |
//! | record | histograms, counters, per-second series and the event log of one run | [`record`] |
//! | report | the record rendered for people and CI | [`report`] |
//! | simulator | a faithful stand-in for the SpaceTime service, the default target | [`sim`] |
//! | API | routes, `/status` body and state numbering shared by simulator and harness | [`api`] |

pub mod api;
pub mod cli;
pub mod load;
pub mod record;
pub mod scenario;
pub mod sim;

use std::process::ExitCode;

use cli::{Cli, Command};

/// Run one command line; the binary's `main` is only this plus logging.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Sim(args) => sim::main(args).map(|()| ExitCode::SUCCESS),
        Command::Run(_) | Command::Validate(_) | Command::Schema => anyhow::bail!("not built yet"),
    }
}
