//! The incident runbook's vocabulary (`RUNBOOK_INCIDENT_RESPONSE.md`): its seven incident classes, its severities,
//! the thresholds it judges by and what a drill expects to see.
//!
//! Why a module of its own, at the bottom of the graph: a scenario states these words (`[expect]`, `[thresholds]`),
//! the judge concludes in them, the record logs them and a report prints them. Defined in any one of those, the others
//! would import it back and the modules would form a cycle; here every one of them imports down.

mod expect;
mod incident;
mod profile;

pub use expect::Expect;
pub use incident::{Expected, Incident, Severity, UnknownIncident, UnknownSeverity};
pub use profile::{Problem, Profile, Thresholds, seconds};
