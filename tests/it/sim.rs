//! The SpaceTime simulator against real processes, files and sockets: every route's shapes, the failures of issue 2
//! ("It must fail for real", items 1-8) and the runbook's own checks.

mod faults;
mod killed_dap;
mod process;
mod routes;
mod runbook;
