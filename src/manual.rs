//! What a packager installs beside the binary: shell completions and man pages, both generated from the clap
//! definitions in [`crate::cli`] so they can never drift from what the binary accepts.

use std::path::Path;

use anyhow::Context;
use clap::CommandFactory;

use crate::cli::Cli;

/// The completion script for `shell`, on stdout.
pub fn completions(shell: clap_complete::Shell) {
    let mut cmd = Cli::command();
    let name = cmd.get_name().to_owned();
    clap_complete::generate(shell, &mut cmd, name, &mut std::io::stdout());
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
