//! The SpaceTime simulator against real processes, files and sockets: every route's shapes, the failures of issue 2
//! ("It must fail for real", items 2-8) and the runbook's own checks.

mod faults;
mod process;
mod routes;
mod runbook;
