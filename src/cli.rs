//! The command line, as clap types only: what a user may type, with no behaviour behind it.
//!
//! Every subcommand's arguments live here so that `--help` is the one place a user reads; the modules that act on
//! them (`run`, `sim`, `report`, ...) take these structs and turn them into their own validated values.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

pub use crate::report::Format;

/// Exit codes, a contract shared with CI scripts.
pub const EXIT_CODES: &str = "\
Exit codes:
  0  the run completed and every expectation held
  1  a threshold or expectation failed (the CI gate)
  2  usage, scenario or harness error (nothing was judged)";

/// spacetime-drill: load and chaos drills for the SpaceTime API, judged against its incident runbook.
#[derive(Debug, Parser)]
#[command(name = "spacetime-drill", version, about, after_help = EXIT_CODES)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Log filter for diagnostics on stderr (tracing's EnvFilter syntax), e.g. `debug` or `spacetime_drill=trace`.
    #[arg(long, global = true, env = "SPACETIME_DRILL_LOG", default_value = "warn")]
    pub log: String,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a scenario: load, telemetry, probes and faults, phase by phase; write the report.
    Run(RunArgs),
    /// Check scenario files without running them.
    Validate(ValidateArgs),
    /// Print the JSON Schema of scenario files (for editor completion), or with `--report` of `report.json`.
    Schema(SchemaArgs),
    /// Serve the SpaceTime simulator (the embedded default target).
    Sim(SimArgs),
    /// Undo what an interrupted run left behind (replays the crash journal); a no-op when there is nothing.
    Recover(RecoverArgs),
    /// Re-render a saved `report.json` in other formats.
    Report(ReportArgs),
    /// Compare a report with a baseline report: exit 1 when a change exceeds a tolerance, 2 when they do not compare.
    Compare(CompareArgs),
    /// Merge the reports of one scenario's shards into one report, exactly (histograms added, counts summed).
    Merge(MergeArgs),
    /// Internal: the run's watchdog (`--journal`) or a fault's holder process (`--hold`).
    #[command(hide = true)]
    Watchdog(WatchdogArgs),
    /// Internal: drive the load engine alone against a URL and print JSON figures (for `benches/loadgen.py`).
    #[command(hide = true)]
    BenchLoad(BenchLoadArgs),
}

#[derive(Debug, Args)]
pub struct BenchLoadArgs {
    /// `http://host:port`; requests go to `/status`.
    #[arg(long)]
    pub url: String,
    /// Keep-alive connections: the closed loop's concurrency, or the open model's in-flight cap.
    #[arg(long, default_value_t = 32)]
    pub connections: usize,
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub duration: std::time::Duration,
    /// Open model at this many requests per second; without it, a closed loop (each connection back to back).
    #[arg(long, conflicts_with = "users")]
    pub rate: Option<f64>,
    /// The users model (goose) with this many users and no think time, instead of our own closed loop.
    #[arg(long)]
    pub users: Option<usize>,
    /// Closed loop: stop after this many requests (or at the duration, whichever comes first).
    #[arg(long)]
    pub requests: Option<u64>,
    /// Runtime worker threads; default: the CPUs this process may run on.
    #[arg(long)]
    pub threads: Option<usize>,
}

#[derive(Debug, Args)]
pub struct RecoverArgs {
    /// The crash journal; default `$XDG_STATE_HOME/spacetime-drill/journal.jsonl`.
    #[arg(long, env = "SPACETIME_DRILL_JOURNAL")]
    pub journal: Option<PathBuf>,
}

#[derive(Debug, Args)]
#[group(required = true, multiple = true)]
pub struct WatchdogArgs {
    /// Replay this journal when the run that started us dies.
    #[arg(long, conflicts_with = "hold")]
    pub journal: Option<PathBuf>,
    /// Unmount what is mounted under this run directory and remove it when the run that started us dies.
    #[arg(long, conflicts_with = "hold")]
    pub run_dir: Option<PathBuf>,
    /// Hold what this JSON describes until stdin closes.
    #[arg(long)]
    pub hold: Option<String>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The scenario file (TOML).
    pub scenario: PathBuf,
    /// HTTP base URL of the target; overrides the scenario's `[target]` (omit both for the embedded simulator).
    #[arg(long)]
    pub target: Option<String>,
    /// Telemetry WebSocket URL; overrides the scenario's `[target] telemetry`.
    #[arg(long)]
    pub telemetry: Option<String>,
    /// Where to write `report.json` (a directory); default `reports/<scenario>-<UTC timestamp>/`.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// No live progress and no per-phase table; errors still go to stderr.
    #[arg(long, short)]
    pub quiet: bool,
    /// Report formats to write into the report directory (comma-separated); `md` writes summary.md and postmortem.md.
    #[arg(long, value_delimiter = ',', default_value = "json")]
    pub format: Vec<Format>,
    /// Compare the finished run with this baseline report as `compare` does; a regression makes the run exit 1.
    #[arg(long)]
    pub baseline: Option<PathBuf>,
    /// Run the I-th of N equal shares of the load (`I/N`, 0-based): the arrival rate is divided by N, and the
    /// timeline's faults run only on shard 0, so N machines together drive the scenario once. Merge the shards'
    /// reports with `merge`.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<Shard>,
    /// Start the timeline at this UTC instant (RFC 3339, e.g. `2025-01-01T12:00:00Z`), so shards on different
    /// machines share one clock and their per-second rows line up when merged.
    #[arg(long, value_name = "RFC3339")]
    pub start_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Run the load and the probes, but only log what each fault would do; nothing is injected.
    #[arg(long)]
    pub dry_run: bool,
    /// The crash journal; default `$XDG_STATE_HOME/spacetime-drill/journal.jsonl`. A dirty one blocks the run.
    #[arg(long, env = "SPACETIME_DRILL_JOURNAL")]
    pub journal: Option<PathBuf>,
}

/// `--shard I/N`: this process runs share `index` (0-based) of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl std::str::FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("{s:?} is not I/N with 0 <= I < N (e.g. 0/4)");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let (index, count) = (i.trim().parse().map_err(|_| bad())?, n.trim().parse().map_err(|_| bad())?);
        if index < count { Ok(Self { index, count }) } else { Err(bad()) }
    }
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The saved `report.json`.
    pub report: PathBuf,
    /// Formats to write (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "html,junit,md")]
    pub format: Vec<Format>,
    /// Directory to write into; default: the report's own directory.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The reference report.
    pub baseline: PathBuf,
    /// The report to judge against it.
    pub current: PathBuf,
    #[command(flatten)]
    pub tolerance: Tolerance,
}

/// How much worse than the baseline a figure may get. A p95 regression must exceed both the relative and the
/// absolute tolerance, so neither a few microseconds on a fast endpoint nor noise on a slow one fails a gate.
#[derive(Debug, Clone, Args)]
pub struct Tolerance {
    /// Allowed p95 increase, percent of the baseline's p95.
    #[arg(long, default_value_t = 10.0)]
    pub p95_pct: f64,
    /// Allowed p95 increase, milliseconds.
    #[arg(long, default_value_t = 5.0)]
    pub p95_ms: f64,
    /// Allowed error-rate increase, percentage points.
    #[arg(long, default_value_t = 0.5)]
    pub error_points: f64,
    /// Allowed drop of the median FPS, frames per second.
    #[arg(long, default_value_t = 3.0)]
    pub fps_drop: f64,
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The shard reports (`report.json` files of one scenario).
    #[arg(required = true, num_args = 2..)]
    pub reports: Vec<PathBuf>,
    /// Directory for the merged report.
    #[arg(long)]
    pub out: PathBuf,
    /// Formats to write (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "json")]
    pub format: Vec<Format>,
}

#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// The schema of `report.json` instead (the one committed as `reports/schema.json`).
    #[arg(long)]
    pub report: bool,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Scenario files to check.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct SimArgs {
    #[command(subcommand)]
    pub child: Option<SimCommand>,
    #[command(flatten)]
    pub serve: SimServeArgs,
}

#[derive(Debug, Subcommand)]
pub enum SimCommand {
    /// Serve only the debug adapter (DAP) on its port.
    Dap(SimPeerArgs),
    /// Serve only the language server (LSP) on its port.
    Lsp(SimPeerArgs),
    /// Mint an HS256 JWT signed with the secret in a file.
    Token(SimTokenArgs),
}

#[derive(Debug, Args, Clone)]
pub struct SimServeArgs {
    /// HTTP API port (0 = any free port). Taken at start: falls back to 8083, 8084, 8085 as the real bridge does.
    #[arg(long, default_value_t = 8080)]
    pub http_port: u16,
    /// Telemetry WebSocket port (0 = any free port).
    #[arg(long, default_value_t = 8081)]
    pub telemetry_port: u16,
    /// Debug adapter port (0 = any free port).
    #[arg(long, default_value_t = 6006)]
    pub dap_port: u16,
    /// Language server port (0 = any free port).
    #[arg(long, default_value_t = 6005)]
    pub lsp_port: u16,
    /// Once everything listens, write the bound ports and PIDs here as JSON.
    #[arg(long)]
    pub ports_file: Option<PathBuf>,
    /// The Godot project (`res://` root); default: a generated project inside the data directory.
    #[arg(long)]
    pub project_dir: Option<PathBuf>,
    /// Where logs and the per-load import cache are written; default: a new temporary directory.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Require HS256 JWTs signed with the secret in this file; the file is re-read when it changes.
    #[arg(long)]
    pub jwt_secret_file: Option<PathBuf>,
    /// Fault knob: bytes retained (leaked) per HTTP request.
    #[arg(long, default_value_t = 0)]
    pub leak_bytes_per_request: u64,
    /// Fault knob: extra busy work per frame, in milliseconds.
    #[arg(long, default_value_t = 0.0)]
    pub frame_work_ms: f64,
}

#[derive(Debug, Args, Clone)]
pub struct SimPeerArgs {
    /// Port to listen on (0 = any free port).
    #[arg(long)]
    pub port: u16,
    /// The Godot project (`res://` root) the server reads `.gd` files from.
    #[arg(long)]
    pub project_dir: PathBuf,
    /// Write the bound port here once listening.
    #[arg(long)]
    pub port_file: Option<PathBuf>,
}

#[derive(Debug, Args, Clone)]
pub struct SimTokenArgs {
    /// File holding the HS256 signing secret.
    #[arg(long)]
    pub secret_file: PathBuf,
    /// How long the token is valid, e.g. `1h`, `90s`; a negative lifetime is not allowed, use `--expired`.
    #[arg(long, default_value = "1h", value_parser = humantime::parse_duration)]
    pub ttl: std::time::Duration,
    /// Mint a token that expired this long ago instead.
    #[arg(long, value_parser = humantime::parse_duration)]
    pub expired: Option<std::time::Duration>,
}
