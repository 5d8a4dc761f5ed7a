//! `service`: stop a real deployment's service with one command and start it again with another (e.g.
//! `systemctl stop godot-spacetime`). Runs on this host, so it works against any target, remote ones through ssh.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::settings::{CheckSettings, Issues, SettingsContext, rule};
use super::{Fault, FaultContext, FaultErrorKind, Intent, command};

/// `[fault.service]`: two shell commands (run with `sh -c`, at most 60 s each).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceSpec {
    /// Stops the service at injection, e.g. `systemctl stop godot-spacetime`.
    pub stop: String,
    /// Starts it again at rollback, e.g. `systemctl start godot-spacetime`.
    pub start: String,
}

impl CheckSettings for ServiceSpec {
    const EXAMPLE: &'static str = "stop = \"systemctl stop x\"\nstart = \"systemctl start x\"";

    fn check(&self, _cx: &SettingsContext, c: &mut Issues) {
        c.rule("stop", rule::command(&self.stop));
        c.rule("start", rule::command(&self.start));
    }
}

impl Fault for ServiceSpec {
    fn kind(&self) -> &'static str {
        "service"
    }
    fn describe(&self) -> String {
        format!("service: run `{}`, and `{}` at rollback", self.stop, self.start)
    }
    fn preflight(&self, _ctx: &FaultContext) -> Result<(), FaultErrorKind> {
        command::require_nonempty("stop", &self.stop)?;
        command::require_nonempty("start", &self.start)
    }
    fn inject(&self, _ctx: &FaultContext, intent: &mut dyn Intent) -> Result<String, FaultErrorKind> {
        command::run_with_undo(intent, &self.stop, &self.start)
    }
}
