//! Retention: deletes finished deliveries, their attempts, orphaned events and the charts'
//! per-minute statistics older than `HOOKLAYER_RETENTION`, in small batches with a pause
//! between them so that ingest and delivery writes interleave and none waits long behind a
//! purge. Each pass also drops the previous secrets whose rotation overlap window has ended
//! (SPEC §11).

use crate::state::AppState;
use hooklayer_core::time::Timestamp;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Rows per purge statement.
pub const BATCH: u32 = 500;

/// One full pass: purges batch after batch until nothing old is left. Returns rows deleted.
pub async fn pass(
    state: &AppState,
    shutdown: &CancellationToken,
) -> Result<u64, hooklayer_store::StoreError> {
    let retention = i64::try_from(state.config.retention.as_millis()).unwrap_or(i64::MAX);
    let before = Timestamp::now().plus_millis(-retention);
    // Past its window a previous secret no longer signs (the claim checks the time); here
    // it leaves the database too.
    state.store.forget_expired_secrets(Timestamp::now()).await?;
    let mut total = 0;
    while !shutdown.is_cancelled() {
        let deleted = state.store.purge_finished(before, BATCH).await?;
        total += deleted;
        if deleted == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // The charts' statistics are kept as long as the log they describe (not counted in the
    // pass's total, which is about the log).
    state
        .store
        .purge_stats(before.millis().div_euclid(60_000))
        .await?;
    Ok(total)
}

pub async fn run(state: Arc<AppState>, shutdown: CancellationToken) {
    while !shutdown.is_cancelled() {
        match pass(&state, &shutdown).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(rows = n, "retention pass deleted old deliveries and events"),
            Err(e) => {
                tracing::warn!(error = %e, "retention pass failed; trying again next interval")
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(state.config.retention_interval) => {}
            _ = shutdown.cancelled() => {}
        }
    }
}
