//! `frame_work`: turn on the simulator's busy-work knob, so every frame takes longer, FPS drops and latency rises
//! (runbook Incident 3); rollback sets the knob back. Only the embedded simulator has the knob: refused against any
//! other target.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::settings::{CheckSettings, Issues, SettingsContext, rule};
use super::{Fault, FaultContext, FaultErrorKind, Intent, knobs};

/// The simulator's own bound on the knob.
pub const MAX_MS: f64 = 10_000.0;

/// `[fault.frame_work]`: the simulator's busy-work knob: FPS drops, latency rises (Incident 3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FrameWorkSpec {
    /// Extra work per frame, in milliseconds (a 90 Hz frame is 11.1 ms).
    #[schemars(range(min = 0, max = MAX_MS))]
    pub ms: f64,
}

impl CheckSettings for FrameWorkSpec {
    const EXAMPLE: &'static str = "ms = 12.5";

    fn check(&self, cx: &SettingsContext, c: &mut Issues) {
        c.rule("ms", rule::positive(self.ms, MAX_MS, "milliseconds"));
        c.needs_simulator(cx, "frame_work");
    }
}

impl Fault for FrameWorkSpec {
    fn kind(&self) -> &'static str {
        "frame_work"
    }
    fn describe(&self) -> String {
        format!("frame_work: the simulator busy-works {} ms every frame", self.ms)
    }
    fn preflight(&self, ctx: &FaultContext) -> Result<(), FaultErrorKind> {
        knobs::preflight(ctx, self.kind())
    }
    fn inject(&self, ctx: &FaultContext, intent: &mut dyn Intent) -> Result<String, FaultErrorKind> {
        knobs::set(ctx, intent, self.kind(), "frame_work_ms", self.ms.into())
    }
}
