//! Faults users meet in production, through the real binary: the database goes away and
//! comes back, the disk fills up, receivers misbehave.

mod postgres_restart;
