//! The range of every number a scenario holds (kind tables keep theirs in their own files): one place the checks,
//! the JSON Schema's `minimum`/`maximum` and scenarios/README.md take them from.
//!
//! Why bounds at all: a number the run cannot honour must be refused by `validate`, not found by a panic (a
//! `max_in_flight` near 2^63 is a capacity overflow, durations near 2^64 s overflow an `Instant`). Each bound is
//! far past any real drill and well inside what the arithmetic holds.

use std::time::Duration;

/// Open model: arrivals per second (`[load] rate`, a phase's `rate`/`ramp_to`).
pub const MAX_RATE: f64 = 1_000_000.0;
/// Open model: requests in flight at once.
pub const MAX_IN_FLIGHT: usize = 65_536;
/// Users model: concurrent users.
pub const MAX_USERS: usize = 100_000;
/// An endpoint's weight in a mix.
pub const MAX_WEIGHT: u32 = 1_000_000;
/// One phase.
pub const MAX_PHASE: Duration = Duration::from_secs(24 * 3600);
/// The whole timeline, and so any fault's TTL and any expectation's window.
pub const MAX_TIMELINE: Duration = Duration::from_secs(7 * 24 * 3600);
/// A request's timeout, the users' ramp and think time.
pub const MAX_REQUEST_WAIT: Duration = Duration::from_secs(3600);
/// The probe cadence: faster floods the target with `/status`, slower sees nothing of a phase.
pub const MIN_PROBE_INTERVAL: Duration = Duration::from_millis(100);
pub(crate) const MAX_PROBE_INTERVAL: Duration = Duration::from_secs(3600);
/// Linux's largest PID (`PID_MAX_LIMIT`).
pub const MAX_PID: u32 = 4_194_304;
/// A `[[host]]`'s lease: how long its agent keeps faults after the harness goes silent.
pub const MAX_LEASE: Duration = Duration::from_secs(3600);
/// `[sim] data_fs_mib`: a tmpfs is memory.
pub const MAX_DATA_FS_MIB: u32 = 16_384;
/// A scenario's name names a report directory.
pub const MAX_NAME: usize = 100;
