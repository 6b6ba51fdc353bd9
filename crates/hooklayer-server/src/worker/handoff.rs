//! The door between this process's publish API and its delivery worker: an ingest claims what
//! the worker has room for in its own transaction (see `hooklayer_store::handoff`) and hands
//! those deliveries straight to the worker, so a new event's first attempt waits for no claim
//! round, no claim statement and no claim commit.
//!
//! What the worker has no room for (or all of it, in a process that runs no worker, or while
//! the worker stops) is queued due now and claimed as before.
//!
//! New deliveries may go [`RESERVE`] beyond the worker's claim cap: a worker saturated by a
//! backlog (thousands of due retries to failing endpoints, a restart after an outage) still
//! starts a new event's first attempt at once. Only new deliveries use the reserve, and each
//! webhook's saturation still applies, so the backlog keeps the cap's room and no one webhook
//! takes the reserve; what waits when new events alone keep the worker saturated is the backlog.

use super::delivery::{self, Ctx};
use hooklayer_core::time::Timestamp;
use hooklayer_store::{ClaimedDelivery, Handoff};
use std::sync::{Arc, Mutex, Weak};

/// How many deliveries beyond the claim cap an ingest may hand over.
pub const RESERVE: usize = 256;

/// Held by the shared state; the delivery worker opens it while it runs.
#[derive(Default)]
pub struct HandoffDoor {
    // CONCURRENCY: held only to copy the pointer, never across an await.
    worker: Mutex<Weak<Ctx>>,
}

/// A worker that accepted to take part of one ingest.
pub struct Taker {
    ctx: Arc<Ctx>,
    handoff: Handoff,
}

impl HandoffDoor {
    /// Called by the delivery worker when it starts.
    pub(super) fn open(&self, ctx: &Arc<Ctx>) {
        *self.lock() = Arc::downgrade(ctx);
    }

    /// The worker's offer for one ingest, if a worker runs here, is not stopping, and has room.
    pub fn offer(&self) -> Option<Taker> {
        let ctx = self.lock().upgrade()?;
        if ctx.shutdown.is_cancelled() {
            return None;
        }
        let (room, skip_webhooks) = ctx.tracker.room_beyond(RESERVE);
        if room == 0 {
            return None;
        }
        let lease = i64::try_from(ctx.state.config.lease.as_millis()).unwrap_or(i64::MAX);
        let handoff = Handoff {
            lease_until: Timestamp::now().plus_millis(lease),
            limit: u32::try_from(room).unwrap_or(u32::MAX),
            per_webhook: u32::try_from(ctx.tracker.saturation()).unwrap_or(u32::MAX),
            skip_webhooks,
        };
        Some(Taker { ctx, handoff })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Weak<Ctx>> {
        self.worker.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Taker {
    /// What the ingest may claim for this worker.
    pub fn handoff(&self) -> &Handoff {
        &self.handoff
    }

    /// Starts the deliveries the ingest claimed. Should the worker have begun stopping
    /// meanwhile, they are given back (due now) for the next worker to claim.
    pub fn take(self, claimed: Vec<ClaimedDelivery>) {
        if claimed.is_empty() {
            return;
        }
        if self.ctx.shutdown.is_cancelled() {
            let ids: Vec<_> = claimed.iter().map(|d| d.request_id).collect();
            let store = self.ctx.state.store.clone();
            tokio::spawn(async move {
                if let Err(e) = store.release(&ids, Timestamp::now()).await {
                    tracing::warn!(error = %e, "could not give back deliveries claimed at shutdown; they are due again when their lease ends");
                }
            });
            return;
        }
        for d in claimed {
            delivery::dispatch(&self.ctx, d);
        }
    }
}
