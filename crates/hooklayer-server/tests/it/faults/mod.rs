//! Faults users meet in production, through the real binary: the database goes away and
//! comes back, the disk fills up, receivers misbehave.

mod disk_full;
mod hostile_receivers;
mod postgres_restart;
