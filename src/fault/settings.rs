//! Checking a kind's settings as written, before anything runs: every kind checks its own table in its own file
//! ([`CheckSettings`]), with the rules here, and the scenario loader turns what they find into located errors.
//!
//! Why here and not in the scenario module: the settings types are the faults module's, so the rules about them
//! belong next to them, and a kind added later brings its checks along. What a check may not do is look at the
//! machine (does the file exist, is the port free): that is preflight's job at run time, since `validate` may run
//! elsewhere. What it must do is refuse every value a run would refuse or choke on, so that what validates, runs.

use std::fmt::Display;
use std::ops::RangeInclusive;
use std::path::{Component, Path};
use std::time::Duration;

use super::Allow;

/// What the rest of the scenario tells a kind's check.
pub struct SettingsContext<'a> {
    /// The scenario's `[allow]` as written (the embedded simulator's own resources are added at run time).
    pub allow: &'a Allow,
    /// A `[target]` is given (so not the embedded simulator).
    pub target: bool,
    /// Requests carry a token (the simulator with `auth`, or a target with a token source).
    pub auth: bool,
}

/// One kind's check of its own table.
pub trait CheckSettings {
    /// The smallest valid body of the kind's table (empty when every setting has a default), so the tests that
    /// cover every kind need no list of their own.
    const EXAMPLE: &'static str = "";

    /// Report every problem to `issues`; the default is a kind without settings to check.
    fn check(&self, _cx: &SettingsContext, _issues: &mut Issues) {}
}

/// Problems found in one kind table: the key inside it (`""` = the table itself) and what to do.
#[derive(Debug, Default, PartialEq)]
pub struct Issues(pub Vec<(&'static str, String)>);

impl Issues {
    pub fn fail(&mut self, key: &'static str, message: impl Into<String>) {
        self.0.push((key, message.into()));
    }

    /// Fails with `message()` unless `ok`; the message is built only when needed.
    pub fn check(&mut self, ok: bool, key: &'static str, message: impl FnOnce() -> String) {
        if !ok {
            self.fail(key, message());
        }
    }

    /// Records the problem a [`rule`] found, if any.
    pub fn rule(&mut self, key: &'static str, problem: Option<String>) {
        if let Some(p) = problem {
            self.fail(key, p);
        }
    }

    /// A destructive fault's path must be absolute, plain, not `/`, and inside an `[allow] paths` entry.
    pub fn allowed_path(&mut self, key: &'static str, path: &Path, allow: &Allow) {
        if let Some(p) = rule::plain_absolute(path) {
            self.fail(key, p);
        } else if !allow.paths.iter().any(|a| path.starts_with(a)) {
            let p = path.display();
            self.fail(key, format!("{p} is outside the blast radius; add it (or a parent) to [allow] paths"));
        }
    }

    pub fn allowed_port(&mut self, key: &'static str, port: u16, allow: &Allow) {
        self.check(allow.ports.contains(&port), key, || {
            format!("port {port} is outside the blast radius; add it to [allow] ports")
        });
    }

    /// Faults that act through the embedded simulator's knobs cannot act on a `[target]`.
    pub fn needs_simulator(&mut self, cx: &SettingsContext, kind: &str) {
        self.check(!cx.target, "", || {
            format!("{kind} turns a knob of the embedded simulator, and this scenario has a [target]; remove the fault or the [target]")
        });
    }
}

/// The rules shared by the kinds and the rest of the scenario: each returns the problem (with its fix), if any.
pub mod rule {
    use super::*;

    /// `v` within `range` (inclusive), in `unit`s.
    pub fn within<T: PartialOrd + Display>(v: T, range: RangeInclusive<T>, unit: &str) -> Option<String> {
        (!range.contains(&v)).then(|| format!("{v} is out of range; use {} to {} {unit}", range.start(), range.end()))
    }

    /// A finite number in `(0, max]`.
    pub fn positive(v: f64, max: f64, unit: &str) -> Option<String> {
        let ok = v.is_finite() && v > 0.0 && v <= max;
        (!ok).then(|| format!("{v} is not allowed; use a number of {unit} above 0 and at most {max}"))
    }

    /// A duration in `(0, max]`.
    pub fn duration(d: Duration, max: Duration, example: &str) -> Option<String> {
        if d.is_zero() {
            Some(format!("must be longer than 0; write e.g. \"{example}\""))
        } else if d > max {
            let (d, max) = (humantime::format_duration(d), humantime::format_duration(max));
            Some(format!("{d} is longer than the {max} allowed; write e.g. \"{example}\""))
        } else {
            None
        }
    }

    pub fn command(cmd: &str) -> Option<String> {
        cmd.trim().is_empty().then(|| "is empty; give a shell command".to_owned())
    }

    /// An absolute path without `..`, other than `/`: what a fault may act on, and an `[allow] paths` entry.
    pub fn plain_absolute(path: &Path) -> Option<String> {
        let normal = normalize(path);
        if !path.is_absolute() {
            Some(format!("{} is not absolute; write the full path, from /", path.display()))
        } else if normal == Path::new("/") {
            let p = path.display();
            Some(format!(
                "{p} is / (every file of the host): never a fault target nor in the blast radius; name a directory"
            ))
        } else if path.components().any(|c| c == Component::ParentDir) {
            Some(format!("{} holds \"..\"; write it as {}", path.display(), normal.display()))
        } else {
            None
        }
    }

    /// `path` with `.` and `..` resolved lexically (`/..` is `/`), as the kernel would without symlinks.
    pub fn normalize(path: &Path) -> std::path::PathBuf {
        let mut out = std::path::PathBuf::new();
        for c in path.components() {
            match c {
                Component::ParentDir => {
                    if out.parent().is_some() {
                        out.pop();
                    }
                }
                Component::CurDir => {}
                c => out.push(c),
            }
        }
        out
    }

    /// A Godot resource path: `res://` then a relative path with no `..`, ending in `ext` when given.
    pub fn res_path(path: &str, ext: Option<&str>) -> Option<String> {
        let example = "res://scenes/main.tscn";
        let Some(rest) = path.strip_prefix("res://") else {
            return Some(format!(
                "\"{path}\" is not a res:// path; write it as res://<dir>/<name>, e.g. \"{example}\""
            ));
        };
        let segments: Vec<&str> = rest.split('/').collect();
        if rest.starts_with('/') || segments.iter().any(|s| s.is_empty() || *s == "..") {
            return Some(format!(
                "\"{path}\" leaves the project (an absolute path, \"..\" or an empty segment); name a file inside \
                 it, e.g. \"{example}\""
            ));
        }
        match ext {
            Some(ext) if !rest.ends_with(ext) || rest.len() == ext.len() || rest.ends_with(&format!("/{ext}")) => {
                Some(format!("\"{path}\" is not a {ext} file; write it as res://<dir>/<name>{ext}, e.g. \"{example}\""))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::rule::*;
    use std::path::Path;

    #[test]
    fn paths_that_resolve_to_root_or_leave_the_project_are_refused() {
        assert!(plain_absolute(Path::new("/..")).unwrap().contains("is / (every file"));
        assert!(plain_absolute(Path::new("/srv/../..")).unwrap().contains("is / (every file"));
        assert!(plain_absolute(Path::new("/srv/../data")).unwrap().contains("write it as /data"));
        assert!(plain_absolute(Path::new("data")).unwrap().contains("not absolute"));
        assert_eq!(plain_absolute(Path::new("/srv/data")), None);
        assert!(res_path("res://../etc/passwd.tscn", Some(".tscn")).unwrap().contains("leaves the project"));
        assert!(res_path("res:///etc/x.tscn", Some(".tscn")).unwrap().contains("leaves the project"));
        assert!(res_path("res://a.gd", Some(".tscn")).unwrap().contains("not a .tscn file"));
        assert!(res_path("res://.tscn", Some(".tscn")).is_some());
        assert_eq!(res_path("res://dir/a.tscn", Some(".tscn")), None);
        assert_eq!(res_path("res://scripts/vr_setup.gd", None), None);
    }
}
