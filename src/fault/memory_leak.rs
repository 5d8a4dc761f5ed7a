//! `memory_leak`: turn on the simulator's leak knob, so its resident memory grows with every request (runbook
//! Incident 6); rollback sets the knob back. Only the embedded simulator has the knob: refused against any other
//! target.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::settings::{CheckSettings, Issues, SettingsContext, rule};
use super::{Fault, FaultContext, FaultErrorKind, Intent, knobs};

/// `[fault.memory_leak]`: the simulator's leak knob (Incident 6).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MemoryLeakSpec {
    /// Bytes retained per request, 1 to 16 MiB.
    #[schemars(range(min = 1, max = MAX_BYTES_PER_REQUEST))]
    pub bytes_per_request: u64,
}

/// 16 MiB per request leaks a GiB in 64 requests: far past any drill, and a `u64` the simulator's arithmetic holds.
pub const MAX_BYTES_PER_REQUEST: u64 = 16 << 20;

impl CheckSettings for MemoryLeakSpec {
    const EXAMPLE: &'static str = "bytes_per_request = 4096";

    fn check(&self, cx: &SettingsContext, c: &mut Issues) {
        c.rule("bytes_per_request", rule::within(self.bytes_per_request, 1..=MAX_BYTES_PER_REQUEST, "bytes"));
        c.needs_simulator(cx, "memory_leak");
    }
}

impl Fault for MemoryLeakSpec {
    fn kind(&self) -> &'static str {
        "memory_leak"
    }
    fn describe(&self) -> String {
        format!("memory_leak: the simulator retains {} bytes per request", self.bytes_per_request)
    }
    fn preflight(&self, ctx: &FaultContext) -> Result<(), FaultErrorKind> {
        knobs::preflight(ctx, self.kind())
    }
    fn inject(&self, ctx: &FaultContext, intent: &mut dyn Intent) -> Result<String, FaultErrorKind> {
        knobs::set(ctx, intent, self.kind(), "leak_bytes_per_request", self.bytes_per_request.into())
    }
}
