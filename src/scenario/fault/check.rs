//! The bridge from a kind's own settings check ([`crate::fault::settings`]) to the scenario's located issues: the
//! rules live with each kind; here they get the scenario's context and a key path.

use super::super::check::Checker;
use super::super::locate::KeyPath;
use super::super::model::Allow;
use crate::fault::FaultSpec;
use crate::fault::settings::{Issues, SettingsContext};

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
    let allow = crate::fault::Allow {
        paths: cx.allow.paths.clone(),
        ports: cx.allow.ports.clone(),
        processes: cx.allow.processes.clone(),
        pids: Vec::new(),
        units: cx.allow.units.clone(),
    };
    let mut issues = Issues::default();
    kind.check(&SettingsContext { allow: &allow, target: cx.target, auth: cx.auth }, &mut issues);
    for (key, message) in issues.0 {
        let at = if key.is_empty() { at.clone() } else { at.key(key) };
        c.fail(&at, message);
    }
}
