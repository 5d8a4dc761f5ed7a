//! `memory_leak`: turn on the simulator's leak knob, so its resident memory grows with every request (runbook
//! Incident 6); rollback sets the knob back. Only the embedded simulator has the knob: refused against any other
//! target.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Fault, FaultContext, FaultErrorKind, Intent, knobs};

/// `[fault.memory_leak]`: the simulator's leak knob (Incident 6).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MemoryLeakSpec {
    /// Bytes retained per request.
    pub bytes_per_request: u64,
}

impl Fault for MemoryLeakSpec {
    fn kind(&self) -> &'static str {
        "memory_leak"
    }
    fn describe(&self) -> String {
        format!("memory_leak: the simulator retains {} bytes per request", self.bytes_per_request)
    }
    fn preflight(&self, ctx: &FaultContext) -> Result<(), FaultErrorKind> {
        if self.bytes_per_request == 0 {
            return Err(FaultErrorKind::Refused {
                what: "bytes_per_request = 0 leaks nothing".into(),
                fix: "use at least 1 byte, e.g. 65536".into(),
            });
        }
        knobs::preflight(ctx, self.kind())
    }
    fn inject(&self, ctx: &FaultContext, intent: &mut dyn Intent) -> Result<String, FaultErrorKind> {
        knobs::set(ctx, intent, self.kind(), "leak_bytes_per_request", self.bytes_per_request.into())
    }
}
