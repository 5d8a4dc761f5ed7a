//! Shell completions, man pages and `--version`, generated from this build's own command line.

use std::process::Command;

use clap::CommandFactory;
use spacetime_drill::cli::Cli;

use crate::support::EXE;

fn stdout(args: &[&str]) -> String {
    let out = Command::new(EXE).args(args).output().expect("the binary runs");
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn completions_know_the_commands_and_their_flags() {
    let bash = stdout(&["completions", "bash"]);
    assert!(bash.contains("complete -F") && bash.contains("spacetime-drill"), "{bash}");
    for word in ["validate", "--summary-file", "--log-format"] {
        assert!(bash.contains(word), "bash completion lacks {word}");
    }
    let zsh = stdout(&["completions", "zsh"]);
    assert!(zsh.starts_with("#compdef spacetime-drill"), "{}", &zsh[..80.min(zsh.len())]);
    let bad = Command::new(EXE).args(["completions", "tcsh"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(2), "an unknown shell is a usage error");
}

/// What only the binary itself uses, from the command line itself: the hidden subcommands, and the flags (as
/// `--flag`) that are hidden or belong to hidden subcommands alone.
fn internal() -> Vec<String> {
    fn walk(cmd: &clap::Command, in_hidden: bool, shown: &mut Vec<String>, internal: &mut Vec<String>) {
        for arg in cmd.get_arguments() {
            if let Some(long) = arg.get_long() {
                let to = if in_hidden || arg.is_hide_set() { &mut *internal } else { &mut *shown };
                to.push(format!("--{long}"));
            }
        }
        for sub in cmd.get_subcommands() {
            let hidden = in_hidden || sub.is_hide_set();
            let to = if hidden { &mut *internal } else { &mut *shown };
            to.push(sub.get_name().to_owned());
            walk(sub, hidden, shown, internal);
        }
    }
    let (mut shown, mut internal) = (Vec::new(), Vec::new());
    walk(&Cli::command(), false, &mut shown, &mut internal);
    internal.retain(|w| !shown.contains(w));
    internal
}

/// The words of a script or help text: hyphens belong to a word (`bench-load`, `--hold`), underscores do not (bash
/// names its functions `spacetime__drill__agent`).
fn words(text: &str) -> Vec<&str> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-')).filter(|w| !w.is_empty()).collect()
}

/// The internal commands (the watchdog, the host agent, the bench driver) are for the binary itself: completing a
/// command line or reading `--help` never offers them, nor any hidden flag.
#[test]
fn completion_and_help_leave_the_internal_commands_out() {
    let internal = internal();
    for want in ["watchdog", "agent", "bench-load", "--hold", "--lease", "--protocol"] {
        assert!(internal.iter().any(|h| h == want), "{want} is no longer internal? internal: {internal:?}");
    }
    let bash = stdout(&["completions", "bash"]);
    let help = stdout(&["--help"]);
    for (what, text) in [("bash completion", &bash), ("--help", &help)] {
        let words = words(text);
        let shown: Vec<&String> = internal.iter().filter(|h| words.contains(&h.as_str())).collect();
        assert!(shown.is_empty(), "{what} offers {shown:?}");
    }
    // Still a whole script: the visible commands and the global flags they inherit are all there.
    for visible in ["run", "merge", "recover", "sim", "token", "completions", "--log-format", "--journal"] {
        assert!(words(&bash).contains(&visible), "bash completion lost {visible}");
    }
}

#[test]
fn man_prints_a_page_or_writes_one_per_command() {
    let page = stdout(&["man"]);
    assert!(page.starts_with(".ie") || page.contains(".TH spacetime-drill 1"), "{}", &page[..200.min(page.len())]);
    assert!(page.contains("Exit codes"), "the exit codes are part of the page");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("man1");
    stdout(&["man", "--out", out.to_str().unwrap()]);
    let mut pages: Vec<String> =
        std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    pages.sort();
    for want in ["spacetime-drill.1", "spacetime-drill-run.1", "spacetime-drill-sim-token.1", "spacetime-drill-man.1"] {
        assert!(pages.iter().any(|p| p == want), "{want} missing from {pages:?}");
    }
    assert!(!pages.iter().any(|p| p.contains("watchdog") || p.contains("bench-load")), "{pages:?}");
    let run = std::fs::read_to_string(out.join("spacetime-drill-run.1")).unwrap();
    assert!(run.contains("summary\\-file"), "the run page documents --summary-file");
}

/// In a git checkout the version names the commit the binary was built from; elsewhere it says why it cannot
/// (`build_script` tries each case).
#[test]
fn version_names_the_git_commit_of_the_build() {
    let version = stdout(&["--version"]);
    let head =
        Command::new("git").args(["rev-parse", "--short=12", "HEAD"]).current_dir(env!("CARGO_MANIFEST_DIR")).output();
    match head {
        Ok(h) if h.status.success() => {
            let head = String::from_utf8(h.stdout).unwrap();
            let want = format!("spacetime-drill {} (commit {})\n", env!("CARGO_PKG_VERSION"), head.trim());
            assert_eq!(version, want);
        }
        _ => assert!(version.starts_with(&format!("spacetime-drill {} (commit unknown: ", env!("CARGO_PKG_VERSION")))),
    }
}
