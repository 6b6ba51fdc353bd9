//! Background workers of a process: delivery (claim → send → record), verification,
//! and retention. Each runs until the shared `CancellationToken` is cancelled.

pub mod attempt;
pub mod delivery;
pub mod recorder;
pub mod retention;
pub mod tracker;
pub mod verify;
