//! The recorder: the one task that writes attempt results. Send tasks hand it their records
//! through a channel; it commits them in batches (one transaction for up to 512), which keeps
//! the database's write rate far below the delivery rate.
//!
//! The same commit adds the batch to the per-minute statistics behind the dashboard's charts,
//! so charts never scan the attempts.
//!
//! If a commit fails it is retried a few times; if it still fails the batch is dropped and
//! logged: the deliveries keep their leases, become due again when the leases end, and are
//! sent again (at-least-once, never lost).

use crate::metrics::Outcome;
use crate::state::AppState;
use hooklayer_core::time::Timestamp;
use hooklayer_store::{AttemptOutcome, AttemptRecord};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// Largest batch committed at once.
const BATCH: usize = 512;

/// A finished attempt plus what the metrics need of it.
pub struct Finished {
    pub record: AttemptRecord,
    pub event_created_at: Timestamp,
    /// Claimed by the shaped claim: its outcome may free the webhook's next delivery.
    pub shaped: bool,
}

/// Runs until every sender is dropped and the channel is drained.
pub async fn run(state: Arc<AppState>, mut rx: mpsc::Receiver<Finished>) {
    let mut batch: Vec<Finished> = Vec::with_capacity(BATCH);
    loop {
        if rx.recv_many(&mut batch, BATCH).await == 0 {
            return;
        }
        let records: Vec<AttemptRecord> = batch.iter().map(|f| f.record.clone()).collect();
        let mut tries = 0;
        loop {
            match state.store.record_attempts(&records).await {
                Ok(()) => break,
                Err(e) if tries < 5 => {
                    tries += 1;
                    tracing::warn!(error = %e, tries, "recording attempts failed; retrying");
                    tokio::time::sleep(Duration::from_millis(200 * tries)).await;
                }
                Err(e) => {
                    tracing::error!(error = %e, dropped = records.len(), "recording attempts failed; leases will expire and the deliveries be sent again");
                    break;
                }
            }
        }
        // An ordered line moves on, or an in-flight slot opened: claim again now.
        let mut retry_soon = batch.iter().any(|f| f.shaped);
        for f in batch.drain(..) {
            let r = &f.record;
            let ok = r.attempt.error.is_none();
            let duration = Duration::from_millis(u64::from(r.attempt.duration_ms));
            state.metrics.attempt(
                if ok {
                    Outcome::Succeeded
                } else {
                    Outcome::Failed
                },
                duration,
            );
            match &r.outcome {
                AttemptOutcome::Succeeded => {
                    let lag = (r.attempt.at.millis() + i64::from(r.attempt.duration_ms)
                        - f.event_created_at.millis())
                    .max(0);
                    state.metrics.delivery_finished(
                        Outcome::Succeeded,
                        Some(Duration::from_millis(lag as u64)),
                    );
                }
                AttemptOutcome::Exhausted { webhook_reason } => {
                    state.stopped.stop(r.webhook);
                    tracing::warn!(webhook.id = %r.webhook, reason = %webhook_reason, "webhook deactivated after exhausting a delivery");
                    state.metrics.delivery_finished(Outcome::Failed, None);
                }
                AttemptOutcome::RetryAt(_) => retry_soon = true,
            }
        }
        if retry_soon {
            // The claim loop recomputes its next wake-up from the new due times.
            state.delivery_wake.notify_one();
        }
    }
}
