//! Stamps `--version` with the git commit it was built from, so a report or a bug filed from a CI log names the
//! exact build. Outside a git checkout of this package (a crates.io tarball, a source archive, even one unpacked
//! inside some other repository), or where git is not installed, there is no commit to name: the build goes on and
//! the version says why it names none, so a bug report shows at once that the commit has to be asked for.

use std::path::Path;
use std::process::Command;

fn main() {
    let version = env!("CARGO_PKG_VERSION");
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let dir = Path::new(&manifest_dir);
    let commit = commit(dir);
    let stamped = match &commit {
        Ok(commit) => format!("{version} (commit {commit})"),
        Err(why) => format!("{version} (commit unknown: {why})"),
    };
    println!("cargo:rustc-env=SPACETIME_DRILL_VERSION={stamped}");
    println!("cargo:rerun-if-changed=build.rs");
    if commit.is_err() {
        return;
    }
    // Rebuild when HEAD moves: HEAD itself (checkout) and the branch it points at (commit). Both paths come from git
    // so that worktrees, whose refs live in the common directory, are followed too. Only existing files are named:
    // cargo reruns a build script on every build while a path it watches is missing.
    let refs = ["HEAD", "packed-refs"].into_iter().map(str::to_owned);
    for name in refs.chain(git(dir, &["symbolic-ref", "-q", "HEAD"])) {
        let path = git(dir, &["rev-parse", "--git-path", &name]).map(|p| dir.join(p));
        if let Some(path) = path.filter(|p| p.exists()) {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
}

/// The commit of HEAD, only when `dir` is the top of its own git work tree; otherwise why there is none.
fn commit(dir: &Path) -> Result<String, &'static str> {
    if Command::new("git").arg("--version").output().is_err() {
        return Err("git is not installed");
    }
    let top = git(dir, &["rev-parse", "--show-toplevel"]);
    let same = top.is_some_and(|top| Path::new(&top).canonicalize().ok() == dir.canonicalize().ok());
    if !same {
        return Err("not built from a git checkout");
    }
    git(dir, &["rev-parse", "--short=12", "HEAD"]).ok_or("the repository has no commit yet")
}

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git").arg("-C").arg(dir).args(args).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    (out.status.success() && !text.trim().is_empty()).then(|| text.trim().to_owned())
}
