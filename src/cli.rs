//! The command line, as clap types only: what a user may type, with no behaviour behind it.
//!
//! Every subcommand's arguments live here so that `--help` is the one place a user reads; the modules that act on
//! them (`run`, `sim`, `report`, ...) take these structs and turn them into their own validated values.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

pub use crate::report::{Format, Tolerance};

/// Exit codes, a contract shared with CI scripts: `run` and `merge` exit with their report's outcome, `compare` with
/// the comparison. The README's table is this text (a test keeps them equal).
pub const EXIT_CODES: &str = "\
Exit codes:
  0  passed: every expectation held (without [expect]: no incident, every check passed),
     no baseline regression; or observed: [expect] incident = \"any\" reports what it saw
     and gates nothing
  1  failed: an expectation broke, an incident or failed check without [expect], or a
     regression past a tolerance
  2  error: bad usage or scenario, a fault that failed to inject or roll back, a signal
     that could not be measured, reports that do not compare or merge, an output that
     would overwrite another file; or the run was interrupted";

/// The package version and, when built from a git checkout, the commit (stamped by `build.rs`).
pub const VERSION: &str = env!("SPACETIME_DRILL_VERSION");

/// spacetime-drill: load and chaos drills for the SpaceTime API, judged against its incident runbook.
#[derive(Debug, Parser)]
#[command(name = "spacetime-drill", version = VERSION, about, after_help = EXIT_CODES)]
pub struct Cli {
    /// What to do; clap requires one, so there is no default action.
    #[command(subcommand)]
    pub command: Command,
    /// Log filter for diagnostics on stderr (tracing's EnvFilter syntax), e.g. `debug` or `spacetime_drill=trace`.
    #[arg(long, global = true, env = "SPACETIME_DRILL_LOG", default_value = "warn")]
    pub log: String,
    /// How diagnostics on stderr are written: `text` (coloured only on a terminal without `NO_COLOR`) or `json`
    /// (one object per line, for log collectors).
    #[arg(long, global = true, value_enum, env = "SPACETIME_DRILL_LOG_FORMAT", default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

/// The shape of stderr diagnostics; the watchdog and fault holders inherit it, so one run's log is all one shape.
///
/// The variants' comments are for readers of the code only (`help = None`): `--log-format`'s own help already
/// describes both, and a possible value with help would turn every command's `--help` into the long layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Lines for people, coloured only on a terminal without `NO_COLOR`.
    #[value(help = None::<&str>)]
    Text,
    /// One JSON object per line, for log collectors.
    #[value(help = None::<&str>)]
    Json,
}

/// The subcommands; each variant's comment is that command's `--help` text, so say more there, not here.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a scenario: load, telemetry, probes and faults, phase by phase; write the report.
    Run(RunArgs),
    /// Check scenario files without running them.
    Validate(ValidateArgs),
    /// Print the JSON Schema of scenario files (for editor completion), or with `--report` of `report.json`.
    Schema(SchemaArgs),
    /// Serve the SpaceTime simulator (the embedded default target).
    Sim(spacetime_sim::cli::SimArgs),
    /// Undo what an interrupted run left behind (replays the crash journal); a no-op when there is nothing.
    Recover(RecoverArgs),
    /// Re-render a saved `report.json` in other formats.
    Report(ReportArgs),
    /// Compare a report with a baseline report: exit 1 when a change exceeds a tolerance, 2 when they do not compare.
    Compare(CompareArgs),
    /// Merge one drill's shard reports exactly (histograms added, counts summed), judge it, exit as `run` does.
    Merge(MergeArgs),
    /// Print a shell completion script, e.g. `spacetime-drill completions bash > /etc/bash_completion.d/spacetime-drill`.
    Completions(CompletionsArgs),
    /// Print the man page, or with `--out DIR` write one page per command into DIR.
    Man(ManArgs),
    /// Internal: the run's watchdog (`--journal`) or a fault's holder process (`--hold`).
    #[command(hide = true)]
    Watchdog(WatchdogArgs),
    /// Internal: the fault agent on a `[[host]]`, speaking JSON lines over the SSH session's stdin/stdout.
    #[command(hide = true)]
    Agent(AgentArgs),
    /// Internal: drive the load engine alone against a URL and print JSON figures (for `benches/loadgen.py`).
    #[command(hide = true)]
    BenchLoad(BenchLoadArgs),
}

/// `completions`: the script comes from clap_complete, so it always matches this binary's options.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    pub(crate) shell: clap_complete::Shell,
}

/// `man`: pages rendered by clap_mangen from the same definitions as `--help`, so the two never disagree.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write `spacetime-drill.1` and `spacetime-drill-<command>.1` here (created if missing) instead of printing.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// `bench-load` (hidden): the load engine alone, for `benches/loadgen.py`'s comparison with other generators.
#[derive(Debug, Args)]
pub struct BenchLoadArgs {
    /// `http(s)://host:port`; requests go to `/status`.
    #[arg(long)]
    pub url: String,
    /// PEM CA certificate to trust for an `https` URL (a throwaway one at bench time).
    #[arg(long)]
    pub ca_file: Option<PathBuf>,
    /// Keep-alive connections: the closed loop's concurrency, or the open model's in-flight cap.
    #[arg(long, default_value_t = 32)]
    pub connections: usize,
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub(crate) duration: std::time::Duration,
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
    /// Serve live metrics as `run --metrics-listen` does (the metrics pass of `benches/loadgen.py` scrapes it).
    #[arg(long, value_name = "ADDR")]
    pub metrics_listen: Option<std::net::SocketAddr>,
}

/// `recover`: undo what a killed run left behind, from its journal, locally or on a `[[host]]` over SSH.
#[derive(Debug, Args)]
pub struct RecoverArgs {
    /// The crash journal; default `$XDG_STATE_HOME/spacetime-drill/journal.jsonl`.
    #[arg(long, env = "SPACETIME_DRILL_JOURNAL")]
    pub journal: Option<PathBuf>,
    /// Replay the journal of this `[[host]]` of `--scenario` over SSH instead.
    #[arg(long, requires = "scenario")]
    pub host: Option<String>,
    /// The scenario that declares `--host`.
    #[arg(long, requires = "host")]
    pub scenario: Option<PathBuf>,
}

/// `agent` (hidden): what a `[[host]]` runs over SSH; it rolls everything back when the run stops talking to it.
#[derive(Debug, Args)]
pub struct AgentArgs {
    /// This host's crash journal; default as for `run` (on the host).
    #[arg(long)]
    pub journal: Option<PathBuf>,
    /// Roll back everything and exit when no message arrives for this long.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub lease: std::time::Duration,
    /// Replay this host's journal (waiting for a live agent to let go of it) instead of serving.
    #[arg(long)]
    pub recover: bool,
    /// Print one measurement and exit: `port:PORT` or `process:NAME` (resident MB), `disk:PATH` (used %).
    #[arg(long, value_name = "WHAT")]
    pub probe: Option<String>,
    /// Claim another protocol version (tests of the version check).
    #[arg(long, hide = true)]
    pub protocol: Option<u32>,
}

/// `watchdog` (hidden): a process of its own, so a run killed with SIGKILL still gets its faults rolled back.
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

/// `run`: everything a run may take from the command line instead of (or on top of) the scenario file.
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
    #[command(flatten)]
    pub(crate) tls: TlsArgs,
    /// Where to write `report.json` (a directory); default `reports/<scenario>-<UTC timestamp>/`.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// No live progress and no per-phase table; errors still go to stderr.
    #[arg(long, short)]
    pub quiet: bool,
    /// Report formats to write into the report directory (comma-separated); `md` writes summary.md and postmortem.md.
    #[arg(long, value_delimiter = ',', default_value = "json")]
    pub format: Vec<Format>,
    /// Also append summary.md to this file (GitHub Actions sets `GITHUB_STEP_SUMMARY` to its job summary).
    /// Capped a little under GitHub's 1 MiB step-summary limit; the full summary stays in the report directory.
    #[arg(long, value_name = "PATH", env = "GITHUB_STEP_SUMMARY")]
    pub summary_file: Option<PathBuf>,
    /// Compare the finished run with this baseline report as `compare` does; a regression makes the run exit 1.
    #[arg(long)]
    pub baseline: Option<PathBuf>,
    /// Tolerances of the `--baseline` comparison; each flag overrides the scenario's `[baseline]`.
    #[command(flatten)]
    pub tolerance: Tolerance,
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
    /// Serve live OpenMetrics on this address while the run lasts (`/metrics`, and `/sd` for Prometheus HTTP
    /// service discovery of this run and its target), e.g. `127.0.0.1:9464`; overrides `[metrics] listen`. An
    /// address in use fails the run before any load.
    #[arg(long, value_name = "ADDR")]
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// Push live metrics with Prometheus remote write to this URL every 5 s and at the end, with a `shard` label,
    /// e.g. `http://prometheus:9090/api/v1/write` (https is verified with the `--ca-file`/`--insecure` options);
    /// overrides `[metrics] remote_write`.
    #[arg(long, value_name = "URL")]
    pub metrics_remote_write: Option<String>,
}

/// TLS towards a `--target`/`[target]`; each option overrides the scenario's key of the same name.
#[derive(Debug, Clone, Default, Args)]
pub struct TlsArgs {
    /// PEM certificate(s) of a private CA, trusted besides the system's roots (`[target] ca_file`).
    #[arg(long)]
    pub ca_file: Option<PathBuf>,
    /// Do not verify the target's certificate at all (`[target] insecure`); reports say so next to the verdict.
    #[arg(long, conflicts_with = "ca_file")]
    pub insecure: bool,
    /// PEM client certificate for mTLS (`[target] client_cert`); needs `--client-key`.
    #[arg(long, requires = "client_key")]
    pub client_cert: Option<PathBuf>,
    /// PEM private key of `--client-cert` (`[target] client_key`).
    #[arg(long, requires = "client_cert")]
    pub client_key: Option<PathBuf>,
}

/// `--shard I/N`: this process runs share `index` (0-based) of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// 0-based, below `count`: which share of the load this process sends; only shard 0 injects the faults.
    pub index: u32,
    /// How many processes split the drill; their reports are joined by `merge`.
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

/// `report`: re-render a saved `report.json`, e.g. the HTML of a CI run that wrote only JSON.
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
    /// Overwrite files this command did not write (the input itself, or another run's reports).
    #[arg(long)]
    pub force: bool,
}

/// `compare`: judge a report against a baseline report; its exit code gates a CI job on regressions.
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The reference report.
    pub baseline: PathBuf,
    /// The report to judge against it.
    pub current: PathBuf,
    /// Tolerances; each flag overrides the current report's scenario `[baseline]`, which overrides the default.
    #[command(flatten)]
    pub tolerance: Tolerance,
    /// Show only the figures that regressed.
    #[arg(long)]
    pub regressions_only: bool,
    /// Print a Markdown table (for a CI job summary, e.g. `>> $GITHUB_STEP_SUMMARY`) instead of plain text.
    #[arg(long)]
    pub markdown: bool,
}

/// `merge`: one drill's shard reports into one report, judged again as a single run.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The shard reports: `report.json` files, directories (every `report.json` under them), or glob patterns
    /// (`'/reports/*/report.json'`, expanded here, so no shell is needed).
    #[arg(required = true)]
    pub reports: Vec<PathBuf>,
    /// Directory for the merged report.
    #[arg(long)]
    pub out: PathBuf,
    /// Formats to write (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "json")]
    pub format: Vec<Format>,
    /// Overwrite files this command did not write (an input, or another run's reports in `--out`).
    #[arg(long)]
    pub force: bool,
}

/// `schema`: JSON Schemas for editors and for tools that read reports.
#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// The schema of `report.json` instead (the one committed as `reports/schema.json`).
    #[arg(long)]
    pub report: bool,
}

/// `validate`: the checks `run` makes before touching anything, without running.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Scenario files to check.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}
