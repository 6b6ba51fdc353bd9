//! Background workers of a process: delivery (claim → send → record), verification,
//! retention and the queue samples of the dashboard's chart. Each runs until the shared `CancellationToken` is cancelled.

pub mod attempt;
pub mod delivery;
pub mod handoff;
pub mod queue_samples;
pub mod recorder;
pub mod retention;
pub mod tracker;
pub mod verify;
