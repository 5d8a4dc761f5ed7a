//! `cpu_hog`: busy threads on the target's host for the fault's window (runbook Incident 3, scenario A), spun in a
//! holder child so they load the host, not the run, and stop when the run does.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::holder::{self, HoldSpec};
use super::settings::{CheckSettings, Issues, SettingsContext, rule};
use super::{Fault, FaultContext, FaultErrorKind, Intent};

/// Upper bound on `threads`, so a typo cannot fork-bomb the host.
pub const MAX_THREADS: u32 = 256;

/// `[fault.cpu_hog]`: busy threads on the target host (Incident 3, scenario A).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CpuHogSpec {
    /// Busy threads (each wants one full core), 1 to 256.
    #[schemars(range(min = 1, max = MAX_THREADS))]
    pub threads: u32,
}

impl CheckSettings for CpuHogSpec {
    const EXAMPLE: &'static str = "threads = 2";

    fn check(&self, _cx: &SettingsContext, c: &mut Issues) {
        c.rule("threads", rule::within(self.threads, 1..=MAX_THREADS, "threads"));
    }
}

impl Fault for CpuHogSpec {
    fn kind(&self) -> &'static str {
        "cpu_hog"
    }
    fn describe(&self) -> String {
        format!("cpu_hog: spin {} busy threads on this host", self.threads)
    }
    fn preflight(&self, ctx: &FaultContext) -> Result<(), FaultErrorKind> {
        ctx.require_local()?;
        Ok(())
    }
    fn inject(&self, ctx: &FaultContext, intent: &mut dyn Intent) -> Result<String, FaultErrorKind> {
        holder::start(ctx, intent, &HoldSpec::Cpu { threads: self.threads as usize })
    }
}
