//! `connection_flood`: hold N idle TCP connections to the target's HTTP port (exhausts the bridge's 100-client limit,
//! runbook Incident 2), from a holder child so they close when the run ends. Acts from this host, so it is allowed
//! against a remote target.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::holder::{self, HoldSpec};
use super::settings::{CheckSettings, Issues, SettingsContext, rule};
use super::{Fault, FaultContext, FaultErrorKind, Intent};

/// Upper bound on `connections`, well under a default file-descriptor limit.
pub const MAX_CONNECTIONS: u32 = 10_000;

/// `[fault.connection_flood]`: idle connections held open to the target (the bridge serves 100 at most;
/// Incident 2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectionFloodSpec {
    /// Idle connections to hold open, 1 to 10000.
    #[schemars(range(min = 1, max = MAX_CONNECTIONS))]
    pub connections: u32,
}

impl CheckSettings for ConnectionFloodSpec {
    const EXAMPLE: &'static str = "connections = 100";

    fn check(&self, _cx: &SettingsContext, c: &mut Issues) {
        c.rule("connections", rule::within(self.connections, 1..=MAX_CONNECTIONS, "connections"));
    }
}

impl Fault for ConnectionFloodSpec {
    fn kind(&self) -> &'static str {
        "connection_flood"
    }
    fn describe(&self) -> String {
        format!("connection_flood: hold {} idle connections to the target's HTTP port", self.connections)
    }
    fn preflight(&self, ctx: &FaultContext) -> Result<(), FaultErrorKind> {
        ctx.target.http_addr().map(drop)
    }
    fn inject(&self, ctx: &FaultContext, intent: &mut dyn Intent) -> Result<String, FaultErrorKind> {
        let addr = ctx.target.http_addr()?;
        holder::start(ctx, intent, &HoldSpec::Connections { addr, count: self.connections as usize })
    }
}
