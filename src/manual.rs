//! What a packager installs beside the binary: shell completions and man pages, both generated from the clap
//! definitions in [`crate::cli`] so they can never drift from what the binary accepts.

use std::path::Path;

use anyhow::Context;
use clap::CommandFactory;

use crate::cli::Cli;

/// The completion script for `shell`, on stdout.
pub fn completions(shell: clap_complete::Shell) {
    let mut cmd = without_hidden_commands(Cli::command());
    let name = cmd.get_name().to_owned();
    clap_complete::generate(shell, &mut cmd, name, &mut std::io::stdout());
}

/// clap_complete writes hidden subcommands into every script (it has no filter for them), so completing
/// `spacetime-drill <TAB>` would offer the internal `watchdog`, `agent` and `bench-load` that `--help` keeps out of
/// sight. The scripts are made from a copy of the command line without them; clap cannot remove a subcommand, hence
/// the copy. None of the visible commands has a hidden flag (a test walks the command line to keep it so).
fn without_hidden_commands(cli: clap::Command) -> clap::Command {
    clap::Command::new("spacetime-drill")
        .version(crate::cli::VERSION)
        .about(cli.get_about().cloned().unwrap_or_default())
        .args(cli.get_arguments().cloned())
        .groups(cli.get_groups().cloned())
        .subcommand_required(cli.is_subcommand_required_set())
        .subcommands(cli.get_subcommands().filter(|c| !c.is_hide_set()).cloned())
}

/// The top-level man page on stdout, or with `out` one page per (visible) command written into that directory.
pub fn man(out: Option<&Path>) -> anyhow::Result<()> {
    let cmd = Cli::command();
    match out {
        None => clap_mangen::Man::new(cmd).render(&mut std::io::stdout().lock()).context("cannot print the man page"),
        Some(dir) => {
            std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
            clap_mangen::generate_to(cmd, dir).with_context(|| format!("cannot write man pages into {}", dir.display()))
        }
    }
}
