//! Semantic checks: the rules a well-formed scenario must still obey, each reported at the key it is about.
//!
//! serde has already rejected unknown keys and wrong types; what is left are values (a rate of 0, a phase naming a
//! fault that does not exist, two token sources). Every rule names its key as a [`KeyPath`] and says how to fix the
//! value; all problems are collected, not just the first, so one `validate` shows them all.

use std::collections::HashSet;
use std::time::Duration;

use super::error::did_you_mean;
use super::fault::{Context, Fault, FaultSpec, check_kind};
use super::limits::*;
use super::locate::KeyPath;
use super::model::{Allow, Load, LoadModel, Mix, Phase, ScenarioFile, SimOptions, Target};
use crate::fault::settings::rule;
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

    /// Records the problem a [`rule`] found, if any.
    pub fn rule(&mut self, at: &KeyPath, problem: Option<String>) {
        if let Some(p) = problem {
            self.fail(at, p);
        }
    }

    pub fn duration(&mut self, at: &KeyPath, d: Duration, max: Duration, example: &str) {
        self.rule(at, rule::duration(d, max, example));
    }
}

/// Checks a parsed file; on success, its faults turned into their checked form (in file order).
pub(super) fn check(file: &ScenarioFile) -> Result<Vec<Fault>, Vec<Issue>> {
    let root = KeyPath::default();
    let mut c = Checker::default();
    if let Some(name) = &file.name {
        let chars = name.chars().all(|ch| ch.is_ascii_alphanumeric() || "._-".contains(ch));
        let ok = (1..=MAX_NAME).contains(&name.len()) && chars && !name.starts_with('.');
        c.check(ok, &root.key("name"), || {
            format!(
                "\"{name}\" cannot name a report directory; use 1 to {MAX_NAME} letters, digits, '.', '_' and '-', \
                 not starting with '.'"
            )
        });
    }
    if let Some(target) = &file.target {
        check_target(&mut c, &root.key("target"), target);
    }
    check_sim(&mut c, &root.key("sim"), &file.sim, file.target.is_some());
    check_load(&mut c, &root.key("load"), &file.load);
    check_probe(&mut c, &root.key("probe"), file);
    check_metrics(&mut c, &root.key("metrics"), &file.metrics);
    check_allow(&mut c, &root.key("allow"), &file.allow);
    super::host::check(&mut c, file);
    let fault_names: Vec<&str> = file.faults.iter().map(|f| f.name.as_str()).collect();
    let resolved = check_phases(&mut c, &root.key("phase"), file, &fault_names);
    let faults = check_faults(&mut c, &root.key("fault"), file, resolved);
    let at = root.key("thresholds");
    let profile = file.thresholds.resolve();
    let problems = profile.problems();
    if let Some(expect) = &file.expect {
        // The judge's windows come from [thresholds]: only a sound profile says how long recovery takes to see.
        let sound = problems.is_empty().then_some(&profile);
        super::expect::check(&mut c, &root.key("expect"), expect, file, sound, &faults);
    }
    for problem in problems {
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

/// `[sim]` configures the embedded simulator: with a `[target]` there is none, so a setting there would be silently
/// ignored (or refused only at preflight).
fn check_sim(c: &mut Checker, at: &KeyPath, sim: &SimOptions, target: bool) {
    let ms = sim.frame_work_ms;
    c.check(
        ms == 0.0 || rule::positive(ms, crate::fault::frame_work::MAX_MS, "").is_none(),
        &at.key("frame_work_ms"),
        || format!("{ms} is not allowed; use a number of milliseconds from 0 to {}", crate::fault::frame_work::MAX_MS),
    );
    let max_leak = crate::fault::memory_leak::MAX_BYTES_PER_REQUEST;
    c.rule(&at.key("leak_bytes_per_request"), rule::within(sim.leak_bytes_per_request, 0..=max_leak, "bytes"));
    if let Some(mib) = sim.data_fs_mib {
        c.rule(&at.key("data_fs_mib"), rule::within(mib, 1..=MAX_DATA_FS_MIB, "MiB"));
    }
    let set = [
        ("auth", sim.auth),
        ("frame_work_ms", sim.frame_work_ms != 0.0),
        ("leak_bytes_per_request", sim.leak_bytes_per_request != 0),
        ("data_fs_mib", sim.data_fs_mib.is_some()),
    ];
    for (key, _) in set.iter().filter(|(_, on)| *on && target) {
        c.fail(&at.key(key), "[sim] sets up the embedded simulator, and this scenario has a [target]; remove it");
    }
}

fn check_load(c: &mut Checker, at: &KeyPath, load: &Load) {
    c.rule(&at.key("rate"), rule::positive(load.rate, MAX_RATE, "requests per second"));
    c.rule(&at.key("max_in_flight"), rule::within(load.max_in_flight, 1..=MAX_IN_FLIGHT, "requests"));
    c.duration(&at.key("timeout"), load.timeout, MAX_REQUEST_WAIT, "10s");
    c.rule(&at.key("users"), rule::within(load.users, 1..=MAX_USERS, "users"));
    for (key, d) in [("ramp", load.ramp), ("think_time", load.think_time)] {
        c.check(d <= MAX_REQUEST_WAIT, &at.key(key), || {
            format!("must be at most {}", humantime::format_duration(MAX_REQUEST_WAIT))
        });
    }
    check_mix(c, &at.key("mix"), &load.mix);
    for (i, scene) in load.scenes.iter().enumerate() {
        c.rule(&at.key("scenes").index(i), rule::res_path(scene, Some(".tscn")));
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
    let weights = [
        ("status", mix.status),
        ("scene_load", mix.scene_load),
        ("debug_evaluate", mix.debug_evaluate),
        ("lsp_completion", mix.lsp_completion),
    ];
    for (key, w) in weights {
        c.rule(&at.key(key), rule::within(w, 0..=MAX_WEIGHT, "(a relative weight)"));
    }
    c.check(weights.iter().any(|(_, w)| *w > 0), at, || {
        "every weight is 0, so no request would be sent; give at least one endpoint a weight > 0".to_owned()
    });
}

fn check_probe(c: &mut Checker, at: &KeyPath, file: &ScenarioFile) {
    let probe = &file.probe;
    c.check((MIN_PROBE_INTERVAL..=MAX_PROBE_INTERVAL).contains(&probe.interval), &at.key("interval"), || {
        let (min, max) =
            (humantime::format_duration(MIN_PROBE_INTERVAL), humantime::format_duration(MAX_PROBE_INTERVAL));
        format!("{} is out of range; use {min} to {max}, e.g. \"1s\"", humantime::format_duration(probe.interval))
    });
    if let Some(pid) = probe.pid {
        c.rule(&at.key("pid"), rule::within(pid, 1..=MAX_PID, "(a process ID)"));
    }
    for (key, cmd) in [("memory_command", &probe.memory_command), ("disk_command", &probe.disk_command)] {
        if let Some(cmd) = cmd {
            c.rule(&at.key(key), rule::command(cmd));
        }
    }
    if let Some(why) = file.target.as_ref().and_then(|t| probe.cpu_unmeasurable(&t.url)) {
        c.check(false, &at.key("cpu"), || why);
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
            if let Err(e) = i.parse::<crate::runbook::Incident>() {
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
        check_url(c, &at.key("remote_write"), url, UrlRole::RemoteWrite);
    }
}

fn check_allow(c: &mut Checker, at: &KeyPath, allow: &Allow) {
    for (i, p) in allow.paths.iter().enumerate() {
        c.rule(&at.key("paths").index(i), rule::plain_absolute(p));
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
    let first_users = file.phases.first().and_then(|p| p.load.users).unwrap_or(file.load.users);
    let mut total = Some(Duration::ZERO);
    let mut seen = HashSet::new();
    for (i, phase) in file.phases.iter().enumerate() {
        let at = at.index(i);
        let Phase { name, duration, load, faults } = phase;
        if name.is_empty() {
            c.fail(&at.key("name"), "is empty; name the phase, e.g. \"baseline\"");
        } else if !seen.insert(name.as_str()) {
            c.fail(&at.key("name"), format!("phase name \"{name}\" is used twice; give each phase its own name"));
        }
        c.duration(&at.key("duration"), *duration, MAX_PHASE, "30s");
        // A phase too long is its own error; the total is reported only when that is all that is wrong.
        total = total.and_then(|t| t.checked_add(*duration)).filter(|_| *duration <= MAX_PHASE);
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
            c.rule(&load_at.key("rate"), rule::positive(rate, MAX_RATE, "requests per second"));
        }
        if let Some(to) = load.ramp_to {
            c.check(to.is_finite() && (0.0..=MAX_RATE).contains(&to), &load_at.key("ramp_to"), || {
                format!("{to} is not allowed; ramp to a number of requests per second from 0 to {MAX_RATE}")
            });
        }
        if let Some(n) = load.users.filter(|_| users) {
            c.rule(&load_at.key("users"), rule::within(n, 1..=MAX_USERS, "users"));
            c.check(n == first_users, &load_at.key("users"), || {
                format!(
                    "users = {n}, but the users model runs one user count for the whole run ({first_users}); set \
                     users in [load] and leave it out of the phases"
                )
            });
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
    c.check(total.is_none_or(|t| t <= MAX_TIMELINE), at, || {
        format!("the phases add up to more than {}; shorten them", humantime::format_duration(MAX_TIMELINE))
    });
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
        if entry.name.trim().is_empty() {
            c.fail(&at.key("name"), "is empty; name the fault, e.g. \"disk\", and hold it by that name in a phase");
        } else if !seen.insert(entry.name.as_str()) {
            c.fail(&at.key("name"), format!("fault name \"{}\" is used twice; give each fault its own", entry.name));
        }
        if let Some(ttl) = entry.ttl {
            c.duration(&at.key("ttl"), ttl, MAX_TIMELINE, "30s");
        }
        let window = longest_window(&file.phases, &entry.name);
        c.check(!window.is_zero() || !report_unused || entry.name.trim().is_empty(), &at.key("name"), || {
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
    injections(phases, fault).map(|(start, end)| end - start).max().unwrap_or_default()
}

/// Each injection of `fault`, a run of back-to-back phases holding it, as (start, end) since the run started.
pub(super) fn injections<'a>(phases: &'a [Phase], fault: &'a str) -> impl Iterator<Item = (Duration, Duration)> + 'a {
    let mut t = Duration::ZERO;
    // Saturating: a timeline too long is its own error, and must not panic here first.
    let spans = phases.iter().map(move |phase| {
        let start = t;
        t = t.saturating_add(phase.duration);
        (phase.faults.iter().any(|f| f == fault), start, t)
    });
    let mut spans = spans.peekable();
    std::iter::from_fn(move || {
        let (_, start, mut end) = spans.find(|(held, ..)| *held)?;
        while let Some((_, _, next_end)) = spans.next_if(|(held, ..)| *held) {
            end = next_end;
        }
        Some((start, end))
    })
}
