//! `noop`: a fault that does nothing, for baseline runs and for testing the runner itself.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::settings::CheckSettings;
use super::{Fault, FaultContext, FaultErrorKind, Intent};

/// `[fault.noop]`: no settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoopSpec {}

impl CheckSettings for NoopSpec {}

impl Fault for NoopSpec {
    fn kind(&self) -> &'static str {
        "noop"
    }
    fn describe(&self) -> String {
        "noop: change nothing".into()
    }
    fn preflight(&self, _ctx: &FaultContext) -> Result<(), FaultErrorKind> {
        Ok(())
    }
    fn inject(&self, _ctx: &FaultContext, _intent: &mut dyn Intent) -> Result<String, FaultErrorKind> {
        Ok("nothing changed".into())
    }
}
