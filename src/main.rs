use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use spacetime_drill::cli::{Cli, LogFormat};

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(&cli);
    match spacetime_drill::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Diagnostics go to stderr. Colour only helps a person at a terminal: in a CI log or a file the escape codes are
/// noise that breaks grep, so they are written only to a terminal and never when `NO_COLOR` is set (no-color.org).
fn init_logging(cli: &Cli) {
    let logs = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::new(&cli.log));
    match cli.log_format {
        LogFormat::Json => {
            // The watchdog and fault holders are this binary too and share our stderr: the variable behind
            // `--log-format` makes them write JSON as well, so a log collector never meets a text line.
            // SAFETY: called first thing in `main`, before any thread exists that could read the environment.
            unsafe { std::env::set_var("SPACETIME_DRILL_LOG_FORMAT", "json") };
            logs.json().init()
        }
        LogFormat::Text => logs.with_ansi(colour_wanted()).init(),
    }
}

fn colour_wanted() -> bool {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    !no_color && std::io::stderr().is_terminal()
}
