//! `build.rs` on its own, compiled and run as cargo would run it, in the places a user builds from: a git checkout,
//! a source tree that is no repository (a tarball, or one unpacked inside another repository), a machine without
//! git. Only the first names a commit; the others build all the same and `--version` says why it names none.

use std::path::Path;
use std::process::Command;

/// The `SPACETIME_DRILL_VERSION` that `build.rs`, compiled into `exe`, stamps for a package in `dir`.
fn stamped(exe: &Path, dir: &Path, path_var: &str) -> String {
    // A ceiling above `dir` keeps git from finding a repository that happens to enclose the temporary directory.
    let ceiling = dir.parent().unwrap();
    let out = Command::new(exe)
        .env("CARGO_MANIFEST_DIR", dir)
        .env("GIT_CEILING_DIRECTORIES", ceiling)
        .env("PATH", path_var)
        .output()
        .expect("the build script runs");
    assert!(out.status.success(), "build.rs failed: {}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let line = stdout.lines().find_map(|l| l.strip_prefix("cargo:rustc-env=SPACETIME_DRILL_VERSION="));
    line.unwrap_or_else(|| panic!("no version stamped: {stdout}")).to_owned()
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@localhost", "-c", "commit.gpgsign=false"])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

#[test]
fn the_version_names_the_commit_or_says_why_it_cannot() {
    let tmp = tempfile::tempdir().unwrap();
    let exe = tmp.path().join("build-script");
    let build_rs = Path::new(env!("CARGO_MANIFEST_DIR")).join("build.rs");
    let rustc = Command::new("rustc")
        .args(["--edition", "2024", "--crate-name", "build_script_build", "-o"])
        .arg(&exe)
        .arg(&build_rs)
        .env("CARGO_PKG_VERSION", "9.8.7")
        .output()
        .expect("rustc runs");
    assert!(rustc.status.success(), "build.rs does not compile: {}", String::from_utf8_lossy(&rustc.stderr));
    let path = std::env::var("PATH").unwrap();

    let repo = tmp.path().join("checkout");
    std::fs::create_dir(&repo).unwrap();
    git(&repo, &["init", "-q"]);
    std::fs::write(repo.join("Cargo.toml"), "[package]\n").unwrap();
    git(&repo, &["add", "Cargo.toml"]);
    assert_eq!(stamped(&exe, &repo, &path), "9.8.7 (commit unknown: the repository has no commit yet)");
    git(&repo, &["commit", "-q", "-m", "first"]);
    let head = git(&repo, &["rev-parse", "--short=12", "HEAD"]);
    assert_eq!(stamped(&exe, &repo, &path), format!("9.8.7 (commit {head})"));

    // A source tree unpacked inside some other repository: that repository's commit is not this package's.
    let vendored = repo.join("vendor").join("spacetime-drill");
    std::fs::create_dir_all(&vendored).unwrap();
    assert_eq!(stamped(&exe, &vendored, &path), "9.8.7 (commit unknown: not built from a git checkout)");
    let tarball = tmp.path().join("spacetime-drill-9.8.7");
    std::fs::create_dir(&tarball).unwrap();
    assert_eq!(stamped(&exe, &tarball, &path), "9.8.7 (commit unknown: not built from a git checkout)");

    // No git on PATH at all (a minimal build container): the checkout builds, without a commit.
    let empty = tmp.path().join("empty-path");
    std::fs::create_dir(&empty).unwrap();
    let no_git = stamped(&exe, &repo, empty.to_str().unwrap());
    assert_eq!(no_git, "9.8.7 (commit unknown: git is not installed)");
}
