//! What each fault kind's settings must satisfy, including the blast radius: an explicit port, path or process
//! name must be on the scenario's `[allow]` list. The embedded simulator's own resources (used when a field is left
//! out) are implicitly allowed, since the run created them; whether a resource exists is preflight's job, at run time.

use super::super::check::Checker;
use super::super::locate::KeyPath;
use super::super::model::Allow;
use crate::fault::FaultSpec;
use crate::fault::kill_process::KillSignal;
use crate::fault::scene::SceneAction;

/// What the kinds' checks need to know about the rest of the scenario.
pub struct Context<'a> {
    pub allow: &'a Allow,
    /// A `[target]` is given (so not the embedded simulator).
    pub target: bool,
    /// Requests carry a token (the simulator with `auth`, or a target with a token source).
    pub auth: bool,
}

/// Checks one kind's table; `at` is the path of that table (`fault[i].<kind>`).
pub fn check_kind(kind: &FaultSpec, at: &KeyPath, cx: &Context, c: &mut Checker) {
    let allow = cx.allow;
    match kind {
        FaultSpec::PortConflict(p) => {
            if let Some(port) = p.port {
                c.allowed_port(&at.key("port"), port, allow);
            }
            restart_command(c, at, p.restart, p.restart_command.as_deref(), !cx.target);
        }
        FaultSpec::DiskFill(d) => {
            match (d.percent, d.free_bytes) {
                (Some(pct), None) => c.check(pct.is_finite() && pct > 0.0 && pct <= 100.0, &at.key("percent"), || {
                    format!("{pct} is not a percentage; use a number in (0, 100]")
                }),
                (None, Some(_)) => {}
                _ => c.fail(at, "set exactly one of percent (how full, e.g. 96) and free_bytes (bytes left free)"),
            }
            if let Some(path) = &d.path {
                c.allowed_path(&at.key("path"), path, allow);
            }
        }
        FaultSpec::KillProcess(k) => {
            let set = [k.sim.is_some(), k.port.is_some(), k.pid_file.is_some(), k.name.is_some()];
            c.check(set.iter().filter(|s| **s).count() == 1, at, || {
                "name the process with exactly one of sim (bridge, dap, lsp), port, pid_file, name".to_owned()
            });
            if let Some(port) = k.port {
                c.allowed_port(&at.key("port"), port, allow);
            }
            if let Some(file) = &k.pid_file {
                c.allowed_path(&at.key("pid_file"), file, allow);
            }
            if let Some(name) = &k.name {
                c.check(allow.processes.contains(name), &at.key("name"), || {
                    format!("process \"{name}\" is outside the blast radius; add it to [allow] processes")
                });
            }
            c.check(!(k.restart && k.signal == KillSignal::Stop), &at.key("restart"), || {
                "signal STOP is undone by CONT on rollback; remove restart".to_owned()
            });
            restart_command(c, at, k.restart, k.restart_command.as_deref(), k.sim.is_some());
        }
        FaultSpec::Service(s) => {
            c.command(&at.key("stop"), &s.stop);
            c.command(&at.key("start"), &s.start);
        }
        FaultSpec::Network(n) => {
            let any = n.latency.is_some() || n.bandwidth_kbps.is_some() || n.reset || n.timeout;
            c.check(any || n.slow_close.is_some(), at, || {
                "no toxic set; set latency, bandwidth_kbps, reset, timeout or slow_close".to_owned()
            });
            c.check(n.jitter.is_none() || n.latency.is_some(), &at.key("jitter"), || {
                "jitter varies latency; set latency too".to_owned()
            });
            if let Some(kbps) = n.bandwidth_kbps {
                c.at_least_one(&at.key("bandwidth_kbps"), kbps);
            }
            c.check(!(n.reset && n.timeout), &at.key("timeout"), || {
                "reset and timeout both cut traffic; keep one (reset: clients see resets, timeout: they hang)"
                    .to_owned()
            });
        }
        FaultSpec::ExpiredToken(t) => {
            c.check(t.share.is_finite() && t.share > 0.0 && t.share <= 1.0, &at.key("share"), || {
                format!("{} is not a share; use a fraction in (0, 1], e.g. 0.3 or 1", t.share)
            });
            needs_auth(c, at, cx);
        }
        FaultSpec::KeyRotation(k) => match &k.secret_file {
            Some(file) => c.allowed_path(&at.key("secret_file"), file, allow),
            None => c.check(!cx.target && cx.auth, at, || {
                "without secret_file this rotates the embedded simulator's secret: set [sim] auth = true".to_owned()
            }),
        },
        FaultSpec::Scene(s) => {
            c.scene_path(&at.key("scene"), &s.scene);
            if let Some(dir) = &s.project_dir {
                c.allowed_path(&at.key("project_dir"), dir, allow);
            }
            match (s.action, &s.dependency) {
                (SceneAction::RemoveDependency, Some(dep)) => {
                    c.check(dep.starts_with("res://") && dep.len() > 6, &at.key("dependency"), || {
                        format!("\"{dep}\" is not a res:// path; name the dependency as the scene does")
                    })
                }
                (SceneAction::RemoveDependency, None) => {
                    c.fail(at, "remove_dependency needs dependency = \"res://...\" (one the scene names)")
                }
                (_, Some(_)) => c.fail(&at.key("dependency"), "dependency applies to remove_dependency only"),
                (_, None) => {}
            }
        }
        FaultSpec::MemoryLeak(m) => c.at_least_one(&at.key("bytes_per_request"), m.bytes_per_request),
        FaultSpec::FrameWork(f) => c.positive(&at.key("ms"), f.ms, "milliseconds"),
        FaultSpec::CpuHog(h) => c.at_least_one(&at.key("threads"), h.threads.into()),
        FaultSpec::ConnectionFlood(f) => c.at_least_one(&at.key("connections"), f.connections.into()),
        FaultSpec::Exec(e) => {
            c.command(&at.key("inject"), &e.inject);
            c.command(&at.key("rollback"), &e.rollback);
        }
        FaultSpec::Noop(_) => {}
    }
}

/// `restart_command` goes with `restart`, and is required unless the simulator restarts the process itself.
fn restart_command(c: &mut Checker, at: &KeyPath, restart: bool, command: Option<&str>, sim_restarts: bool) {
    match command {
        Some(cmd) if restart => c.command(&at.key("restart_command"), cmd),
        Some(_) => c.fail(&at.key("restart_command"), "restart_command is used only with restart = true"),
        None => c.check(!restart || sim_restarts, &at.key("restart"), || {
            "restart needs restart_command here (only the embedded simulator restarts its own processes)".to_owned()
        }),
    }
}

fn needs_auth(c: &mut Checker, at: &KeyPath, cx: &Context) {
    c.check(cx.auth, at, || {
        let fix = if cx.target { "give [target] token_env or token_file" } else { "set [sim] auth = true" };
        format!("bad tokens change nothing while requests carry no token; {fix}")
    });
}
