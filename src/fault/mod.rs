//! Faults: things the run does to the target on purpose, each with a way to undo it.

pub mod proxy;
