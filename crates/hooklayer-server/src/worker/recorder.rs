//! The recorder: the one task that writes attempt results. Send tasks hand it their records
//! through a channel; it commits them in batches (one transaction for up to 512, gathered for
//! up to 20 ms), which keeps the database's write rate far below the delivery rate.
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

/// How long the recorder waits for more outcomes after the first of a batch.
///
/// PERFORMANCE: at moderate load outcomes come one at a time, and each was a transaction of
/// its own — a commit (an fsync on SQLite) and a few round trips to the database per
/// delivery. Waiting this long after the first outcome lets the next ones share its commit.
/// Nothing waits on an outcome being recorded except the log (pending a few milliseconds
/// longer) and a crash in the window (its deliveries are sent again, as after any crash
/// before the record). Not when a shaped webhook's outcome is in the batch: its ordered line
/// or its in-flight cap moves on only once the outcome is recorded. Under load a batch fills
/// or the previous commit takes longer than this, so throughput does not change.
const LINGER: Duration = Duration::from_millis(20);

/// A finished attempt plus what the metrics need of it.
pub struct Finished {
    pub record: AttemptRecord,
    pub event_created_at: Timestamp,
    /// Claimed by the shaped claim: its outcome may free the webhook's next delivery.
    pub shaped: bool,
}

/// Adds what arrives within [`LINGER`] to a batch (see there), unless it is full or holds a
/// shaped webhook's outcome; returns at once when the channel closes.
async fn gather_more(rx: &mut mpsc::Receiver<Finished>, batch: &mut Vec<Finished>) {
    let until = tokio::time::Instant::now() + LINGER;
    while batch.len() < BATCH && !batch.iter().any(|f| f.shaped) {
        let room = BATCH - batch.len();
        match tokio::time::timeout_at(until, rx.recv_many(batch, room)).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
}

/// Runs until every sender is dropped and the channel is drained.
pub async fn run(state: Arc<AppState>, mut rx: mpsc::Receiver<Finished>) {
    let mut batch: Vec<Finished> = Vec::with_capacity(BATCH);
    loop {
        if rx.recv_many(&mut batch, BATCH).await == 0 {
            return;
        }
        gather_more(&mut rx, &mut batch).await;
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

#[cfg(test)]
mod tests {
    use super::*;
    use hooklayer_core::ids::{RequestId, WebhookId};
    use hooklayer_store::Attempt;

    fn finished(shaped: bool) -> Finished {
        let now = Timestamp::now();
        Finished {
            record: AttemptRecord {
                request_id: RequestId::new(),
                webhook: WebhookId::new(),
                lease_until: now,
                attempt: Attempt {
                    at: now,
                    duration_ms: 1,
                    status_code: Some(200),
                    error: None,
                    response_body: None,
                },
                outcome: AttemptOutcome::Succeeded,
            },
            event_created_at: now,
            shaped,
        }
    }

    /// Sends an outcome at each (milliseconds from now, shaped).
    fn send_at(tx: mpsc::Sender<Finished>, when: &[(u64, bool)]) {
        let when = when.to_vec();
        let start = tokio::time::Instant::now();
        tokio::spawn(async move {
            for (ms, shaped) in when {
                tokio::time::sleep_until(start + Duration::from_millis(ms)).await;
                let _ = tx.send(finished(shaped)).await;
            }
        });
    }

    #[tokio::test(start_paused = true)]
    async fn outcomes_within_the_window_share_the_batch() {
        let (tx, mut rx) = mpsc::channel(16);
        let mut batch = vec![finished(false)];
        send_at(tx, &[(5, false), (15, false), (25, false)]);
        gather_more(&mut rx, &mut batch).await;
        assert_eq!(
            batch.len(),
            3,
            "the ones at 5 and 15 ms, not the one at 25 ms"
        );
        assert_eq!(rx.recv().await.map(|f| f.shaped), Some(false));
    }

    #[tokio::test(start_paused = true)]
    async fn a_shaped_outcome_is_recorded_at_once() {
        let (tx, mut rx) = mpsc::channel(16);
        let mut batch = vec![finished(true)];
        let start = tokio::time::Instant::now();
        gather_more(&mut rx, &mut batch).await;
        assert_eq!((batch.len(), start.elapsed()), (1, Duration::ZERO));

        // One arriving in the window ends it too.
        let mut batch = vec![finished(false)];
        send_at(tx, &[(5, false), (10, true), (12, false)]);
        gather_more(&mut rx, &mut batch).await;
        assert_eq!(batch.len(), 3, "up to the shaped one at 10 ms");
        assert_eq!(start.elapsed(), Duration::from_millis(10));
    }

    #[tokio::test(start_paused = true)]
    async fn a_closed_channel_ends_the_window_and_a_full_batch_never_waits() {
        let (tx, mut rx) = mpsc::channel(16);
        drop(tx);
        let mut batch = vec![finished(false)];
        let start = tokio::time::Instant::now();
        gather_more(&mut rx, &mut batch).await;
        assert_eq!((batch.len(), start.elapsed()), (1, Duration::ZERO));

        let (_tx, mut rx) = mpsc::channel(16);
        let mut batch: Vec<Finished> = (0..BATCH).map(|_| finished(false)).collect();
        gather_more(&mut rx, &mut batch).await;
        assert_eq!((batch.len(), start.elapsed()), (BATCH, Duration::ZERO));
    }
}
