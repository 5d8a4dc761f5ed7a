//! Semantic checks: the rules a well-formed scenario must still obey, each reported at the key it is about.
//!
//! serde has already rejected unknown keys and wrong types; what is left are values (a rate of 0, a phase naming a
//! fault that does not exist, two token sources). Every rule names its key as a [`KeyPath`] and says how to fix the
//! value; all problems are collected, not just the first, so one `validate` shows them all.

use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

use super::error::did_you_mean;
use super::fault::{Context, Fault, FaultSpec, check_kind};
use super::locate::KeyPath;
use super::model::{Allow, Load, LoadModel, Mix, Phase, ScenarioFile, Target};
use crate::tls;
use crate::url::{ServiceUrl, UrlRole};

/// A problem found by a check, before it is given a line.
#[derive(Debug, Clone, PartialEq)]
pub struct Issue {
    pub at: KeyPath,
    pub message: String,
}

/// Collects issues; the helpers are the rules shared by several sections.
#[derive(Debug, Default)]
pub struct Checker {
    pub issues: Vec<Issue>,
}

impl Checker {
    pub fn fail(&mut self, at: &KeyPath, message: impl Into<String>) {
        self.issues.push(Issue { at: at.clone(), message: message.into() });
    }

    /// Fails with `message()` unless `ok`; the message is built only when needed.
    pub fn check(&mut self, ok: bool, at: &KeyPath, message: impl FnOnce() -> String) {
        if !ok {
            self.fail(at, message());
        }
    }

    pub fn positive_duration(&mut self, at: &KeyPath, d: Duration, example: &str) {
        self.check(!d.is_zero(), at, || format!("must be longer than 0; write e.g. \"{example}\""));
    }

    pub fn positive(&mut self, at: &KeyPath, v: f64, unit: &str) {
        self.check(v.is_finite() && v > 0.0, at, || format!("{v} is not allowed; use a number of {unit} > 0"));
    }

    pub fn at_least_one(&mut self, at: &KeyPath, v: u64) {
        self.check(v >= 1, at, || "must be at least 1".to_owned());
    }

    pub fn command(&mut self, at: &KeyPath, cmd: &str) {
        self.check(!cmd.trim().is_empty(), at, || "is empty; give a shell command".to_owned());
    }

    /// A Godot scene path as `/scene/load` takes it.
    pub fn scene_path(&mut self, at: &KeyPath, path: &str) {
        self.check(path.starts_with("res://") && path.ends_with(".tscn") && path.len() > 11, at, || {
            format!("\"{path}\" is not a scene path; write it as res://<dir>/<name>.tscn, e.g. \"res://vr_main.tscn\"")
        });
    }

    /// A destructive fault's path must be absolute, not `/`, and inside an `[allow] paths` entry.
    pub fn allowed_path(&mut self, at: &KeyPath, path: &Path, allow: &Allow) {
        if !path.is_absolute() || path.components().any(|c| c == std::path::Component::ParentDir) {
            self.fail(at, format!("{} must be an absolute path without \"..\"", path.display()));
        } else if path == Path::new("/") {
            self.fail(at, "/ is never a fault target; name a directory on the filesystem to act on");
        } else if !allow.paths.iter().any(|a| path.starts_with(a)) {
            self.fail(
                at,
                format!("{} is outside the blast radius; add it (or a parent) to [allow] paths", path.display()),
            );
        }
    }

    pub fn allowed_port(&mut self, at: &KeyPath, port: u16, allow: &Allow) {
        self.check(allow.ports.contains(&port), at, || {
            format!("port {port} is outside the blast radius; add it to [allow] ports")
        });
    }
}

/// Checks a parsed file; on success, its faults turned into their checked form (in file order).
pub(super) fn check(file: &ScenarioFile) -> Result<Vec<Fault>, Vec<Issue>> {
    let root = KeyPath::default();
    let mut c = Checker::default();
    if let Some(name) = &file.name {
        let ok = !name.is_empty() && name.chars().all(|ch| ch.is_ascii_alphanumeric() || "._-".contains(ch));
        c.check(ok, &root.key("name"), || {
            format!("\"{name}\" cannot name a report directory; use letters, digits, '.', '_' and '-' only")
        });
    }
    if let Some(target) = &file.target {
        check_target(&mut c, &root.key("target"), target);
    }
    let sim = &file.sim;
    c.check(sim.frame_work_ms.is_finite() && sim.frame_work_ms >= 0.0, &root.key("sim").key("frame_work_ms"), || {
        "must be a number of milliseconds ≥ 0".to_owned()
    });
    check_load(&mut c, &root.key("load"), &file.load);
    check_probe(&mut c, &root.key("probe"), file);
    check_metrics(&mut c, &root.key("metrics"), &file.metrics);
    check_allow(&mut c, &root.key("allow"), &file.allow);
    super::host::check(&mut c, file);
    let fault_names: Vec<&str> = file.faults.iter().map(|f| f.name.as_str()).collect();
    let resolved = check_phases(&mut c, &root.key("phase"), file, &fault_names);
    let faults = check_faults(&mut c, &root.key("fault"), file, resolved);
    if let Some(expect) = &file.expect {
        super::expect::check(&mut c, &root.key("expect"), expect, !file.faults.is_empty());
    }
    let at = root.key("thresholds");
    for problem in file.thresholds.resolve().problems() {
        c.fail(&at.key(problem.key), problem.message);
    }
    for (key, message) in file.baseline.problems() {
        c.fail(&root.key("baseline").key(key), message);
    }
    if c.issues.is_empty() { Ok(faults) } else { Err(c.issues) }
}

fn check_target(c: &mut Checker, at: &KeyPath, t: &Target) {
    check_url(c, &at.key("url"), &t.url, UrlRole::Api);
    if let Some(ws) = &t.telemetry {
        check_url(c, &at.key("telemetry"), ws, UrlRole::Telemetry);
    }
    if t.token_env.is_some() && t.token_file.is_some() {
        c.fail(&at.key("token_file"), "token_env and token_file are both set; keep the one the token comes from");
    }
    if let Some(var) = &t.token_env {
        let ok = !var.is_empty() && var.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_');
        c.check(ok, &at.key("token_env"), || {
            format!("\"{var}\" is not an environment variable name; name the variable, e.g. SPACETIME_TOKEN")
        });
    }
    check_tls(c, at, t);
}

/// The TLS files are read here, so a missing or non-PEM file is a `validate` error at its key, not a failed run.
fn check_tls(c: &mut Checker, at: &KeyPath, t: &Target) {
    if let Some(ca) = &t.ca_file {
        if t.insecure {
            c.fail(&at.key("insecure"), "insecure = true verifies nothing, so ca_file would be ignored; keep one");
        }
        if let Err(e) = tls::ca_certificates(ca) {
            c.fail(&at.key("ca_file"), e);
        }
    }
    match (&t.client_cert, &t.client_key) {
        (Some(cert), Some(key)) => {
            if let Err(e) = tls::certificates(cert) {
                c.fail(&at.key("client_cert"), e);
            }
            if let Err(e) = tls::private_key(key) {
                c.fail(&at.key("client_key"), e);
            }
        }
        (Some(_), None) => c.fail(&at.key("client_cert"), "client_cert needs client_key (its PEM private key)"),
        (None, Some(_)) => c.fail(&at.key("client_key"), "client_key needs client_cert (the PEM certificate it signs)"),
        (None, None) => {}
    }
}

/// The one URL check ([`ServiceUrl::parse`]), at the key that holds the URL.
fn check_url(c: &mut Checker, at: &KeyPath, url: &str, role: UrlRole) {
    if let Err(e) = ServiceUrl::parse(url, role) {
        c.fail(at, e.0);
    }
}

fn check_load(c: &mut Checker, at: &KeyPath, load: &Load) {
    c.positive(&at.key("rate"), load.rate, "requests per second");
    c.at_least_one(&at.key("max_in_flight"), load.max_in_flight as u64);
    c.positive_duration(&at.key("timeout"), load.timeout, "10s");
    if load.model == LoadModel::Users {
        c.at_least_one(&at.key("users"), load.users as u64);
    }
    check_mix(c, &at.key("mix"), &load.mix);
    for (i, scene) in load.scenes.iter().enumerate() {
        c.scene_path(&at.key("scenes").index(i), scene);
    }
    let lists = [
        ("scenes", load.scenes.is_empty(), load.mix.scene_load),
        ("expressions", load.expressions.is_empty(), load.mix.debug_evaluate),
        ("completions", load.completions.is_empty(), load.mix.lsp_completion),
    ];
    for (key, empty, weight) in lists {
        c.check(!empty || weight == 0, &at.key(key), || {
            format!("is empty but its endpoint has weight {weight} in [load.mix]; add entries or set the weight to 0")
        });
    }
}

fn check_mix(c: &mut Checker, at: &KeyPath, mix: &Mix) {
    let total = u64::from(mix.status) + u64::from(mix.scene_load) + u64::from(mix.debug_evaluate);
    c.check(total + u64::from(mix.lsp_completion) > 0, at, || {
        "every weight is 0, so no request would be sent; give at least one endpoint a weight > 0".to_owned()
    });
}

fn check_probe(c: &mut Checker, at: &KeyPath, file: &ScenarioFile) {
    let probe = &file.probe;
    c.positive_duration(&at.key("interval"), probe.interval, "1s");
    for (key, cmd) in [("memory_command", &probe.memory_command), ("disk_command", &probe.disk_command)] {
        if let Some(cmd) = cmd {
            c.command(&at.key(key), cmd);
        }
    }
    check_prometheus(c, at, probe);
}

fn check_prometheus(c: &mut Checker, at: &KeyPath, probe: &super::model::Probe) {
    if let Some(url) = &probe.prometheus {
        check_url(c, &at.key("prometheus"), url, UrlRole::Prometheus);
    }
    c.check(probe.queries.is_empty() || probe.prometheus.is_some(), &at.key("queries"), || {
        "queries need a server to ask; set [probe] prometheus = \"http://host:9090\"".to_owned()
    });
    for (name, q) in &probe.queries {
        let at = at.key("queries").key(name);
        let ok = !name.is_empty() && name.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_');
        c.check(ok, &at, || format!("\"{name}\" cannot name a check; use letters, digits and '_', e.g. service_p95_s"));
        let spec = q.spec();
        c.check(!spec.query.trim().is_empty(), &at, || "the PromQL query is empty".to_owned());
        c.check(spec.below.is_none() || spec.above.is_none(), &at, || {
            "below and above are both set; a check has one direction, keep one".to_owned()
        });
        for v in [spec.below, spec.above].into_iter().flatten() {
            c.check(v.is_finite(), &at, || format!("{v} is not a threshold; use a finite number"));
        }
        if let Some(i) = &spec.incident {
            if let Err(e) = i.parse::<crate::judge::Incident>() {
                c.fail(&at.key("incident"), e.to_string());
            }
            c.check(spec.below.is_some() || spec.above.is_some(), &at.key("incident"), || {
                "an incident needs a check to cite; add below = ... or above = ...".to_owned()
            });
        }
    }
}

fn check_metrics(c: &mut Checker, at: &KeyPath, m: &super::model::Metrics) {
    if let Some(listen) = &m.listen {
        c.check(listen.parse::<std::net::SocketAddr>().is_ok(), &at.key("listen"), || {
            format!("\"{listen}\" is not host:port; write e.g. \"127.0.0.1:9464\" (an IP address, not a name)")
        });
    }
    if let Some(url) = &m.remote_write {
        check_url(c, &at.key("remote_write"), url, UrlRole::Prometheus);
    }
}

fn check_allow(c: &mut Checker, at: &KeyPath, allow: &Allow) {
    for (i, p) in allow.paths.iter().enumerate() {
        let ok = p.is_absolute() && p != Path::new("/");
        c.check(ok, &at.key("paths").index(i), || {
            format!("{} cannot be allowed; list absolute directories other than /", p.display())
        });
    }
    for (i, &port) in allow.ports.iter().enumerate() {
        c.check(port != 0, &at.key("ports").index(i), || "port 0 is not a port; list ports 1-65535".to_owned());
    }
    for (i, name) in allow.processes.iter().enumerate() {
        c.check(!name.is_empty(), &at.key("processes").index(i), || "is empty; list exact process names".to_owned());
    }
}

/// Returns whether every fault a phase names exists (if not, "unused fault" would only repeat the same mistake).
fn check_phases(c: &mut Checker, at: &KeyPath, file: &ScenarioFile, fault_names: &[&str]) -> bool {
    let mut resolved = true;
    c.check(!file.phases.is_empty(), at, || {
        "no phase: add at least one [[phase]] with name = \"baseline\" and duration = \"30s\"".to_owned()
    });
    let users = file.load.model == LoadModel::Users;
    let mut seen = HashSet::new();
    for (i, phase) in file.phases.iter().enumerate() {
        let at = at.index(i);
        let Phase { name, duration, load, faults } = phase;
        if name.is_empty() {
            c.fail(&at.key("name"), "is empty; name the phase, e.g. \"baseline\"");
        } else if !seen.insert(name.as_str()) {
            c.fail(&at.key("name"), format!("phase name \"{name}\" is used twice; give each phase its own name"));
        }
        c.positive_duration(&at.key("duration"), *duration, "30s");
        let load_at = at.key("load");
        for (key, set) in [("rate", load.rate.is_some()), ("ramp_to", load.ramp_to.is_some())] {
            c.check(!users || !set, &load_at.key(key), || {
                format!("{key} drives the open model but [load] model = \"users\"; set users instead")
            });
        }
        c.check(users || load.users.is_none(), &load_at.key("users"), || {
            "users drives the users model but [load] model is \"open\"; set rate instead".to_owned()
        });
        if let Some(rate) = load.rate {
            c.positive(&load_at.key("rate"), rate, "requests per second");
        }
        if let Some(to) = load.ramp_to {
            c.check(to.is_finite() && to >= 0.0, &load_at.key("ramp_to"), || {
                format!("{to} is not allowed; ramp to a number of requests per second ≥ 0")
            });
        }
        if let Some(n) = load.users {
            c.at_least_one(&load_at.key("users"), n as u64);
        }
        if let Some(mix) = &load.mix {
            check_mix(c, &load_at.key("mix"), mix);
        }
        let mut held = HashSet::new();
        for (j, fault) in faults.iter().enumerate() {
            let at = at.key("faults").index(j);
            if !fault_names.contains(&fault.as_str()) {
                resolved = false;
                let dym = did_you_mean(fault, fault_names.iter().copied());
                let known = if fault_names.is_empty() { "none".to_owned() } else { fault_names.join(", ") };
                c.fail(&at, format!("no [[fault]] named \"{fault}\" (defined: {known}){dym}"));
            } else if !held.insert(fault.as_str()) {
                c.fail(&at, format!("\"{fault}\" is listed twice in this phase; list it once"));
            }
        }
    }
    resolved
}

fn check_faults(c: &mut Checker, at: &KeyPath, file: &ScenarioFile, report_unused: bool) -> Vec<Fault> {
    let cx = Context {
        allow: &file.allow,
        target: file.target.is_some(),
        auth: match &file.target {
            Some(t) => t.token_env.is_some() || t.token_file.is_some(),
            None => file.sim.auth,
        },
    };
    let mut seen = HashSet::new();
    let mut faults = Vec::new();
    for (i, entry) in file.faults.iter().enumerate() {
        let at = at.index(i);
        if !seen.insert(entry.name.as_str()) {
            c.fail(&at.key("name"), format!("fault name \"{}\" is used twice; give each fault its own", entry.name));
        }
        if let Some(ttl) = entry.ttl {
            c.positive_duration(&at.key("ttl"), ttl, "30s");
        }
        let window = longest_window(&file.phases, &entry.name);
        c.check(!window.is_zero() || !report_unused, &at.key("name"), || {
            format!("fault \"{}\" is not held by any phase; add it to a [[phase]]'s faults or remove it", entry.name)
        });
        let mut kinds = entry.kinds();
        match kinds.len() {
            0 => c.fail(&at, format!("fault \"{}\" has no kind; add exactly one of: {}", entry.name, tables())),
            1 => {}
            _ => {
                let names: Vec<&str> = kinds.iter().map(FaultSpec::name).collect();
                let msg = format!("fault \"{}\" has {} kinds ({}); keep exactly one", entry.name, kinds.len(), {
                    names.join(", ")
                });
                c.fail(&at.key(names[1]), msg);
            }
        }
        if kinds.len() == 1 {
            let kind = kinds.remove(0);
            let host = entry.host.as_deref();
            let cx = Context { allow: super::host::allow_of(file, host), target: cx.target && host.is_none(), ..cx };
            check_kind(&kind, &at.key(kind.name()), &cx, c);
            let host = entry.host.clone();
            faults.push(Fault { name: entry.name.clone(), ttl: entry.ttl.unwrap_or(window), kind, host });
        }
    }
    faults
}

fn tables() -> String {
    FaultSpec::NAMES.iter().map(|n| format!("[fault.{n}]")).collect::<Vec<_>>().join(", ")
}

/// The longest run of back-to-back phases holding `fault`: how long one injection of it lasts.
fn longest_window(phases: &[Phase], fault: &str) -> Duration {
    let (mut best, mut run) = (Duration::ZERO, Duration::ZERO);
    for phase in phases {
        run = if phase.faults.iter().any(|f| f == fault) { run + phase.duration } else { Duration::ZERO };
        best = best.max(run);
    }
    best
}
