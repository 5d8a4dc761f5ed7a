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
//! | probe | read-only checks on a cadence: `/status`, resident memory, disk usage, PromQL queries | [`probe`] |
//! | record | histograms, counters, per-second series and the event log of one run | [`record`] |
//! | incident, severity | the runbook's seven incident classes and P0..P4, in the words scenarios and reports use | [`runbook`] |
//! | thresholds | the runbook's numbers a run is judged by; `[thresholds]` overrides them | [`runbook::Profile`] |
//! | expectation | `[expect]`: what a drill must show (`healthy`, an incident, `any`) | [`runbook::Expect`] |
//! | verdict | which runbook incident, how severe, time to detect/recover; judged by a scenario's [`judge::Criteria`] | [`judge`] |
//! | target URL | `http(s)://host[:port]`, telemetry `ws(s)://...`: the one check every entry point and client shares | [`url`] |
//! | TLS | the run's one rustls client config and the dialer every client connects through | [`tls`] |
//! | run | one drill end to end: target, timeline, faults, verdict, reports, exit code | [`run`](mod@run), [`target`] |
//! | report | the record rendered for people and CI | [`report`] |
//! | atomic write | a file replaced whole or not at all (reports, the files a fault replaces) | [`atomic`] |
//! | live metrics | OpenMetrics on `/metrics` and remote write while a run lasts | [`metrics`] |
//! | fault | a real fault injected and always rolled back; what it acts through elsewhere is a hook trait | [`fault`], [`fault::hooks`] |
//! | simulator | a faithful stand-in for the SpaceTime service, the default target; its own crate, reached through its command line | [`spacetime_sim`] |
//! | API | routes, `/status` body and state numbering shared by simulator and harness (the simulator's crate defines them) | [`api`] |
//!
//! # Which way imports point
//! Top to bottom, never back (`tests/it/architecture.rs` fails on a cycle between these modules): [`run`](mod@run)
//! and this file's command dispatch wire everything (a subcommand's module may read its own parsed arguments from [`cli`],
//! which imports only the types it parses into); [`report`], [`target`], [`load`], [`probe`] and [`telemetry`]
//! act; [`scenario`] reads the file; [`fault`] injects; [`judge`] concludes; [`record`] measures; [`runbook`],
//! [`input`], [`url`] and [`api`] are words and checks every layer shares. A lower module that needs something an
//! upper one owns states it as a trait the upper one implements ([`judge::Criteria`], [`fault::LoadTokens`],
//! [`fault::RunDirs`]), and the command line or the run plugs them together.

#![warn(missing_docs)]
pub mod agent;
pub mod atomic;
pub mod cli;
pub mod fault;
pub mod host;
pub mod input;
pub mod judge;
pub mod load;
pub mod manual;
pub mod metrics;
pub mod probe;
pub mod progress;
pub mod record;
pub mod report;
pub mod run;
pub mod runbook;
pub mod scenario;
pub mod secret;
pub mod target;
pub mod telemetry;
pub mod tls;
pub mod url;

use std::process::ExitCode;

/// The API contract (routes, `/status` body, state numbering), defined once in the simulator's crate so that the
/// simulator and the harness cannot drift apart.
pub use spacetime_sim::api;

use cli::{Cli, Command};

/// Run one command line; the binary's `main` is only this plus logging.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Sim(args) => spacetime_sim::main(args).map(|()| ExitCode::SUCCESS),
        Command::Validate(args) => Ok(scenario::validate_command(&args.files)),
        Command::Schema(args) => {
            println!("{}", if args.report { report::schema() } else { scenario::schema() });
            Ok(ExitCode::SUCCESS)
        }
        Command::Run(args) => run::main(args),
        Command::Report(args) => report::report_command(&args.report, args.out.as_deref(), &args.format, args.force),
        Command::Compare(args) => report::compare_command(
            &args.baseline,
            &args.current,
            &args.tolerance,
            args.markdown,
            args.regressions_only,
        ),
        Command::Merge(args) => report::merge_command(&args.reports, &args.out, &args.format, args.force),
        Command::Completions(args) => {
            manual::completions(args.shell);
            Ok(ExitCode::SUCCESS)
        }
        Command::Man(args) => manual::man(args.out.as_deref()).map(|()| ExitCode::SUCCESS),
        Command::Recover(args) => match (&args.host, &args.scenario) {
            (Some(host), Some(file)) => host::recover(&scenario::Scenario::load(file)?, host),
            _ => fault::watchdog::recover(args.journal.as_deref(), &target::run_dir::Cleaner),
        },
        Command::Watchdog(args) => match (args.journal, args.run_dir, args.hold) {
            (None, None, Some(spec)) => fault::holder::serve(&spec).map(|()| ExitCode::SUCCESS),
            (journal, run_dir, None) => {
                fault::watchdog::serve(journal.as_deref(), run_dir.as_deref(), &target::run_dir::Cleaner)
            }
            _ => anyhow::bail!("watchdog takes --journal and/or --run-dir, or --hold"),
        },
        Command::Agent(args) => agent::main(args),
        Command::BenchLoad(args) => load::bench::main(&args).map(|()| ExitCode::SUCCESS),
    }
}
