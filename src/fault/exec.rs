//! `exec`: any fault this crate does not ship, as a pair of shell commands (ssh to a host, kubectl, tc ...).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::settings::{CheckSettings, Issues, SettingsContext, rule};
use super::{Fault, FaultContext, FaultErrorKind, Intent, command};

/// `[fault.exec]`: two shell commands (run with `sh -c`, at most 60 s each); exit codes and output go to the event log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExecSpec {
    /// Makes the change at injection.
    pub inject: String,
    /// Undoes it at rollback; must succeed when run twice or when `inject` never ran.
    pub rollback: String,
}

impl CheckSettings for ExecSpec {
    const EXAMPLE: &'static str = "inject = \"true\"\nrollback = \"true\"";

    fn check(&self, _cx: &SettingsContext, c: &mut Issues) {
        c.rule("inject", rule::command(&self.inject));
        c.rule("rollback", rule::command(&self.rollback));
    }
}

impl Fault for ExecSpec {
    fn kind(&self) -> &'static str {
        "exec"
    }
    fn describe(&self) -> String {
        format!("exec: run `{}`, and `{}` at rollback", self.inject, self.rollback)
    }
    fn preflight(&self, _ctx: &FaultContext) -> Result<(), FaultErrorKind> {
        command::require_nonempty("inject", &self.inject)?;
        command::require_nonempty("rollback", &self.rollback)
    }
    fn inject(&self, _ctx: &FaultContext, intent: &mut dyn Intent) -> Result<String, FaultErrorKind> {
        command::run_with_undo(intent, &self.inject, &self.rollback)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Allow, testutil};
    use super::*;

    #[test]
    fn inject_writes_marker_and_rollback_removes_it() {
        let dir = tempfile::tempdir().unwrap();
        let m = dir.path().join("marker");
        let spec =
            ExecSpec { inject: format!("echo hi > {}", m.display()), rollback: format!("rm -f {}", m.display()) };
        let ctx = testutil::ctx(Allow::default());
        spec.preflight(&ctx).unwrap();
        let mut undo = Vec::new();
        spec.inject(&ctx, &mut undo).unwrap();
        assert!(m.exists());
        testutil::rollback(undo.clone());
        assert!(!m.exists());
        testutil::rollback(undo); // twice: still fine
        let empty = ExecSpec { inject: " ".into(), rollback: "true".into() };
        assert!(empty.preflight(&ctx).unwrap_err().to_string().contains("`inject` is empty"));
    }
}
