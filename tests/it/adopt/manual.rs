//! Shell completions, man pages and `--version`, generated from this build's own command line.

use std::process::Command;

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

/// In a git checkout the version names the commit the binary was built from; `build.rs` leaves it out elsewhere.
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
