//! Bookkeeping of the deliveries this process has claimed: how many in all and per webhook,
//! and the per-webhook semaphores that cap concurrent requests to one webhook.
//!
//! Isolation: a webhook that already has [`SATURATION`] times its in-flight cap claimed is
//! skipped by the next claims, so a slow or failing webhook cannot fill this worker's capacity
//! while deliveries to healthy webhooks wait.
//!
//! Wake-ups: [`Tracker::freed`] is signalled only when a claim becomes possible again (a
//! webhook drops below saturation, or the process below its claim cap), not on every finished
//! delivery, so an idle claim loop is not spun by completions.

use hooklayer_core::ids::WebhookId;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::{Notify, Semaphore};

/// Claimed deliveries per webhook, in multiples of its in-flight cap, before it is skipped:
/// enough queued behind the cap to keep it busy between two claims.
pub const SATURATION: usize = 4;

struct Slot {
    claimed: usize,
    permits: Arc<Semaphore>,
}

#[derive(Default)]
struct Inner {
    total: usize,
    slots: HashMap<WebhookId, Slot>,
}

/// Shared between the claim loop and the send tasks.
pub struct Tracker {
    max_claimed: usize,
    per_webhook: usize,
    // CONCURRENCY: held only for map updates, never across an await.
    inner: Mutex<Inner>,
    /// Signalled when a claim becomes possible again (see the module docs).
    pub freed: Notify,
}

impl Tracker {
    pub fn new(max_claimed: usize, per_webhook: usize) -> Self {
        Self {
            max_claimed,
            per_webhook,
            inner: Mutex::new(Inner::default()),
            freed: Notify::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// How many more deliveries may be claimed, and which webhooks to skip.
    pub fn room(&self) -> (usize, Vec<WebhookId>) {
        self.room_beyond(0)
    }

    /// [`Tracker::room`], counting `reserve` more beyond the claim cap (the ingest handoff's
    /// reserve for new deliveries, see `worker::handoff`).
    pub fn room_beyond(&self, reserve: usize) -> (usize, Vec<WebhookId>) {
        let inner = self.lock();
        let skip = inner
            .slots
            .iter()
            .filter(|(_, s)| s.claimed >= self.saturated())
            .map(|(id, _)| *id)
            .collect();
        (
            (self.max_claimed + reserve).saturating_sub(inner.total),
            skip,
        )
    }

    /// Counts a claimed delivery; returns its webhook's semaphore, of `cap` permits when the
    /// webhook sets its own in-flight cap (the shaped claim already bounds it across
    /// processes; the semaphore keeps this process inside it too).
    pub fn add(&self, webhook: WebhookId, cap: Option<u32>) -> Arc<Semaphore> {
        let mut inner = self.lock();
        inner.total += 1;
        let permits = cap.map_or(self.per_webhook, |c| c as usize);
        let slot = inner.slots.entry(webhook).or_insert_with(|| Slot {
            claimed: 0,
            permits: Arc::new(Semaphore::new(permits)),
        });
        slot.claimed += 1;
        slot.permits.clone()
    }

    /// A claimed delivery is done (sent or released).
    pub fn done(&self, webhook: WebhookId) {
        let reopened = {
            let mut inner = self.lock();
            let total_reopened = inner.total == self.max_claimed;
            inner.total = inner.total.saturating_sub(1);
            let mut webhook_reopened = false;
            if let Some(slot) = inner.slots.get_mut(&webhook) {
                webhook_reopened = slot.claimed == self.saturated();
                slot.claimed = slot.claimed.saturating_sub(1);
                if slot.claimed == 0 {
                    inner.slots.remove(&webhook);
                }
            }
            total_reopened || webhook_reopened || inner.total == 0
        };
        if reopened {
            // A stored permit covers the case where the claim loop is not waiting yet.
            self.freed.notify_one();
        }
    }

    fn saturated(&self) -> usize {
        self.per_webhook * SATURATION
    }

    /// How many deliveries of one webhook may be claimed before it is skipped.
    pub fn saturation(&self) -> usize {
        self.saturated()
    }

    /// Deliveries claimed and not yet done.
    pub fn in_flight(&self) -> usize {
        self.lock().total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_saturated_webhook_is_skipped_and_freed_again() {
        let t = Tracker::new(100, 2);
        let slow = WebhookId::new();
        for _ in 0..8 {
            t.add(slow, None);
        }
        let (room, skip) = t.room();
        assert_eq!((room, skip), (92, vec![slow]));
        t.done(slow);
        assert_eq!(t.room(), (93, vec![]));
        for _ in 0..7 {
            t.done(slow);
        }
        assert_eq!(t.in_flight(), 0);
    }

    #[test]
    fn the_reserve_is_room_beyond_the_claim_cap() {
        let t = Tracker::new(4, 100);
        let w = WebhookId::new();
        for _ in 0..5 {
            t.add(w, None);
        }
        assert_eq!(t.room().0, 0, "over the cap: the claims wait");
        assert_eq!(t.room_beyond(3).0, 2, "two more new deliveries may come in");
        for _ in 0..2 {
            t.done(w);
        }
        assert_eq!((t.room().0, t.room_beyond(3).0), (1, 4));
    }
}
