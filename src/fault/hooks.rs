//! What a fault acts through that another module owns, as traits this module defines and the owners implement.
//!
//! Why traits: faults sit below the load, the target and the run in the module graph (the scenario names fault
//! kinds, the run drives them). A fault that imported the load's token handle or the target's run directory would
//! close a cycle; instead it states the little it needs here, the owner implements it, and the run (or, for a
//! process of its own, the command line) wires the two together.

use std::path::Path;

/// The run's own load, as `expired_token` spoils it: the load implements it on the handle both engines consult per
/// request.
pub trait LoadTokens: Send + Sync {
    /// From now on `share` of the requests (0 < share ≤ 1) carry `Bearer <token>`; an error says why not.
    fn spoil(&self, share: f64, token: &str) -> Result<(), String>;
    /// Every request carries its good token again; idempotent.
    fn restore(&self);
}

/// The run directories of runs against the embedded simulator (its data filesystem, its secret and scratch files):
/// the target owns them, the watchdog and `recover` clean them after a run that could not.
pub trait RunDirs {
    /// Unmount what is mounted under `dir`, then remove it; refuses a path that is not a run directory.
    fn clean(&self, dir: &Path) -> anyhow::Result<()>;
    /// Remove the run directories of runs that no longer exist; how many were removed.
    fn clean_leftovers(&self) -> usize;
}
