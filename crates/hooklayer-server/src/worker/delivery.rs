//! The delivery worker: claims due deliveries in batches (with a lease), sends each under its
//! webhook's concurrency cap, and hands the results to the recorder.
//!
//! Wake-ups: an in-process notify when this process queued work, a database notification
//! when another process did (PostgreSQL), the next known due time (retries, lease ends), and a
//! poll interval as the fallback.

use super::attempt;
use super::recorder::{self, Finished};
use super::tracker::Tracker;
use crate::outbound::OutboundClient;
use crate::state::AppState;
use hooklayer_core::ids::RequestId;
use hooklayer_core::time::Timestamp;
use hooklayer_store::{Claim, ClaimLane, ClaimedDelivery};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

/// Most deliveries claimed by one query.
const CLAIM_BATCH: usize = 256;
/// One claim round in this many goes to the newest first attempts (see [`claim_round`]).
const FRESH_SHARE: u32 = 4;
/// Most deliveries claimed and not yet finished in this process, and so most attempts in
/// flight at once.
pub const MAX_CLAIMED: usize = 2048;

/// The worker's shared parts: its claim loop, send tasks and the ingest handoff use them.
pub(super) struct Ctx {
    pub(super) state: Arc<AppState>,
    client: OutboundClient,
    pub(super) tracker: Tracker,
    results: mpsc::Sender<Finished>,
    pub(super) shutdown: CancellationToken,
    /// Claimed deliveries never started because of shutdown; released at the end.
    unsent: Mutex<Vec<RequestId>>,
}

/// Runs the claim loop until `shutdown`, then waits for in-flight attempts (bounded by the
/// request timeout), releases what was never started, and drains the recorder.
pub async fn run(state: Arc<AppState>, client: OutboundClient, shutdown: CancellationToken) {
    let (tx, rx) = mpsc::channel(4096);
    let recorder = tokio::spawn(recorder::run(state.clone(), rx));
    let ctx = Arc::new(Ctx {
        tracker: Tracker::new(MAX_CLAIMED, state.config.max_in_flight_per_webhook),
        state,
        client,
        results: tx,
        shutdown,
        unsent: Mutex::new(Vec::new()),
    });
    ctx.state.handoff.open(&ctx);
    claim_loop(&ctx).await;

    // Shutdown: attempts already sent finish (each within the delivery timeout); queued ones
    // give their claim back.
    let deadline = Instant::now() + Duration::from_secs(10);
    while ctx.tracker.in_flight() > 0 && Instant::now() < deadline {
        tokio::select! {
            _ = ctx.tracker.freed.notified() => {}
            _ = tokio::time::sleep(Duration::from_millis(50)) => {}
        }
    }
    let unsent = std::mem::take(&mut *ctx.unsent.lock().unwrap_or_else(|p| p.into_inner()));
    if !unsent.is_empty() {
        if let Err(e) = ctx.state.store.release(&unsent, Timestamp::now()).await {
            tracing::warn!(error = %e, "could not release claims at shutdown; they expire with their lease");
        }
    }
    drop(ctx);
    let _ = recorder.await;
}

async fn claim_loop(ctx: &Arc<Ctx>) {
    let state = &ctx.state;
    // Whether the last round found more due than it could take (see `claim_round`).
    let mut backlog = false;
    while !ctx.shutdown.is_cancelled() {
        let (room, skip_webhooks) = ctx.tracker.room();
        let limit = room.min(CLAIM_BATCH);
        if limit == 0 {
            wait(ctx, Duration::from_millis(100), true).await;
            continue;
        }
        let now = Timestamp::now();
        let lease = i64::try_from(state.config.lease.as_millis()).unwrap_or(i64::MAX);
        // A freed slot is worth a claim round only if this one left due deliveries behind
        // for saturated webhooks. PERFORMANCE: otherwise every finished attempt woke the loop
        // for a round that found nothing (at moderate load, one per delivery: five round
        // trips and, on PostgreSQL, a transaction).
        let wake_on_freed = !skip_webhooks.is_empty();
        let claim = Claim {
            now,
            lease_until: now.plus_millis(lease),
            limit: limit as u32,
            skip_webhooks,
        };
        let claimed = match claim_round(state, &claim, backlog).await {
            Ok(round) => round,
            Err(e) => {
                tracing::warn!(error = %e, "claiming deliveries failed; retrying");
                wait(ctx, Duration::from_secs(1), false).await;
                continue;
            }
        };
        let (full, token_at) = (claimed.more_due, claimed.token_at);
        backlog = full;
        for d in claimed.deliveries {
            dispatch(ctx, d);
        }
        if full {
            continue;
        }
        let mut idle = next_wait(ctx).await;
        if let Some(at) = token_at {
            // A rate-limited webhook gets its next token then.
            let ms = (at.millis() - Timestamp::now().millis()).max(1) as u64;
            idle = idle.min(Duration::from_millis(ms));
        }
        wait(ctx, idle, wake_on_freed).await;
    }
}

/// Counts a claimed delivery and starts its send task (which waits for its webhook's slot).
pub(super) fn dispatch(ctx: &Arc<Ctx>, d: ClaimedDelivery) {
    let permits = ctx.tracker.add(d.webhook, d.max_in_flight);
    let ctx = ctx.clone();
    let span = tracing::info_span!("delivery", app.id = %d.app, webhook.id = %d.webhook, request.id = %d.request_id, attempt = d.attempts_made + 1);
    tokio::spawn(
        async move {
            let claimed_at = Instant::now();
            let permit = permits.acquire_owned().await.ok();
            send(&ctx, d, claimed_at, permit).await;
        }
        .instrument(span),
    );
}

/// What one round of claims took.
struct ClaimRound {
    deliveries: Vec<ClaimedDelivery>,
    /// The oldest-due lane came back full (or had no room): more is due, claim again at once.
    more_due: bool,
    /// When a rate-limited webhook gets its next token.
    token_at: Option<Timestamp>,
}

/// One round of claims, in three lanes sharing `claim.limit`:
/// - while a due backlog exists (`backlog`: the last round's oldest-due lane came back full),
///   a quarter of the room (at least one) first goes to the newest first attempts, and up to
///   as much to shaped webhooks, so neither waits for the backlog to drain. An event
///   published now is not held behind thousands of older due rows of other webhooks (a
///   restart after an outage, endpoints that keep failing), even when the worker is saturated
///   and frees its room a few deliveries at a time — retries never crowd this lane;
/// - the oldest due deliveries with the rest: the backlog drains in order;
/// - without a backlog, shaped webhooks (SPEC §12, claimed apart under their rows' locks)
///   get what room is left.
async fn claim_round(
    state: &AppState,
    claim: &Claim,
    backlog: bool,
) -> hooklayer_store::StoreResult<ClaimRound> {
    let limit = claim.limit;
    let share = limit.div_ceil(FRESH_SHARE);
    let mut deliveries = Vec::new();
    let mut token_at = None;
    if backlog {
        let fresh = Claim {
            limit: share,
            ..claim.clone()
        };
        match state
            .store
            .claim_due(&fresh, ClaimLane::NewestFirstAttempts)
            .await
        {
            Ok(found) => deliveries = found,
            Err(e) => tracing::warn!(error = %e, "claiming new deliveries failed; retrying"),
        }
        let room = limit.saturating_sub(deliveries.len() as u32);
        token_at = claim_shaped(state, claim, share.min(room), &mut deliveries).await;
    }
    let oldest = Claim {
        limit: limit.saturating_sub(deliveries.len() as u32),
        ..claim.clone()
    };
    let mut more_due = true;
    if oldest.limit > 0 {
        let found = state.store.claim_due(&oldest, ClaimLane::OldestDue).await?;
        more_due = found.len() as u32 == oldest.limit;
        deliveries.extend(found);
    }
    if !backlog {
        let room = limit.saturating_sub(deliveries.len() as u32);
        token_at = claim_shaped(state, claim, room, &mut deliveries).await;
    }
    Ok(ClaimRound {
        deliveries,
        more_due,
        token_at,
    })
}

/// Claims up to `limit` deliveries of shaped webhooks into `into`; answers when a
/// rate-limited webhook gets its next token.
async fn claim_shaped(
    state: &AppState,
    claim: &Claim,
    limit: u32,
    into: &mut Vec<ClaimedDelivery>,
) -> Option<Timestamp> {
    if limit == 0 {
        return None;
    }
    let shaped = Claim {
        limit,
        ..claim.clone()
    };
    match state.store.claim_shaped(&shaped).await {
        Ok(s) => {
            into.extend(s.deliveries);
            s.wake_at
        }
        Err(e) => {
            tracing::warn!(error = %e, "claiming shaped deliveries failed; retrying");
            None
        }
    }
}

/// Whether the delivery's webhook may still be sent to. The in-memory stop set is a hint
/// (stops seen by this process); the database decides whenever the hint says stopped or the
/// delivery waited long for its slot, since another process or the CLI may have changed the
/// webhook meanwhile.
async fn still_active(ctx: &Ctx, d: &ClaimedDelivery, claimed_at: Instant) -> bool {
    let waited_long = claimed_at.elapsed() >= Duration::from_secs(1);
    if !ctx.state.stopped.is_stopped(d.webhook) && !waited_long {
        return true;
    }
    match ctx.state.store.get_webhook(d.app, d.webhook).await {
        Ok(Some(w)) if w.status == hooklayer_core::webhook::WebhookStatus::Active => {
            // Re-activated (and verified) since it was stopped here.
            ctx.state.stopped.resume(d.webhook);
            true
        }
        // Stopped, deleted, or the database is unreachable (the outcome could not be
        // recorded either): the claim runs out and the delivery is due again later.
        _ => false,
    }
}

/// How long to sleep when nothing is due: until the next known due time, at most the poll
/// interval.
async fn next_wait(ctx: &Ctx) -> Duration {
    let poll = ctx.state.config.poll_interval;
    match ctx.state.store.next_due().await {
        Ok(Some(at)) => {
            let ms = at.millis() - Timestamp::now().millis();
            // Due already but not claimable (its webhook is saturated here): the poll covers it.
            if ms <= 0 {
                poll
            } else {
                Duration::from_millis(ms as u64 + 1).min(poll)
            }
        }
        _ => poll,
    }
}

async fn wait(ctx: &Ctx, timeout: Duration, on_freed: bool) {
    let freed = async {
        if on_freed {
            ctx.tracker.freed.notified().await
        } else {
            std::future::pending().await
        }
    };
    tokio::select! {
        _ = ctx.state.delivery_wake.notified() => {}
        _ = ctx.state.store.wait_for_remote_work() => {}
        _ = freed => {}
        _ = tokio::time::sleep(timeout) => {}
        _ = ctx.shutdown.cancelled() => {}
    }
}

/// Sends one claimed delivery holding `permit`, its webhook's in-flight slot (`None`: the
/// webhook's semaphore was closed).
async fn send(
    ctx: &Ctx,
    d: ClaimedDelivery,
    claimed_at: Instant,
    permit: Option<tokio::sync::OwnedSemaphorePermit>,
) {
    // Never start an attempt after shutdown began: give the claim back at the end instead.
    if permit.is_none() || ctx.shutdown.is_cancelled() {
        ctx.unsent
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(d.request_id);
        ctx.tracker.done(d.webhook);
        return;
    }
    // Nor when the webhook stopped while this delivery waited for its slot, or when the
    // attempt could outlast the claim: the claim simply runs out and the delivery is due again.
    // (The lease is judged after the webhook check, which may wait on the database.)
    let config = &ctx.state.config;
    if !still_active(ctx, &d, claimed_at).await
        || !attempt::fits_in_lease(
            d.lease_until,
            Timestamp::now(),
            config.delivery_timeout,
            config.lease,
        )
    {
        ctx.tracker.done(d.webhook);
        return;
    }
    let jitter = rand::random_range(-1.0..=1.0);
    let record = attempt::run(&ctx.client, &ctx.state.config.retry_schedule, &d, jitter).await;
    // The request is over: the webhook's next delivery may go while this outcome waits for the
    // recorder (a busy database must not hold a healthy webhook's slots).
    drop(permit);
    tracing::info!(
        http.status = record.attempt.status_code,
        duration_ms = record.attempt.duration_ms,
        error = record.attempt.error.as_deref(),
        "delivery attempt"
    );
    let finished = Finished {
        record,
        event_created_at: d.event_created_at,
        shaped: d.shaped,
    };
    // The recorder outlives every sender, so this only fails if it panicked.
    if ctx.results.send(finished).await.is_err() {
        tracing::error!(
            "the recorder is gone; the lease will expire and the delivery be sent again"
        );
    }
    ctx.tracker.done(d.webhook);
}
