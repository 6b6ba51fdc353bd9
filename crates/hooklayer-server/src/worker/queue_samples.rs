//! Queue samples for the operator's chart (SPEC §13): once a minute a worker counts the
//! pending, due and failed deliveries and keeps them as that minute's row of `queue_samples`
//! (the first process to sample a minute keeps it; the others' rows are dropped). Retention
//! prunes the rows with the statistics. A sample is taken at start too, so a chart has a
//! point as soon as a process runs.
//!
//! Each figure is counted up to [`SAMPLE_CAP`], so a pass stays bounded however deep the
//! queue; the chart then shows the cap.

use crate::state::AppState;
use hooklayer_core::time::Timestamp;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The largest figure a sample records.
pub const SAMPLE_CAP: u32 = 1_000_000;

/// Counts the queue now and keeps it as this minute's sample, unless another process
/// sampled this minute already (the count walks up to [`SAMPLE_CAP`] index entries: one
/// process a minute pays it, not every worker).
pub async fn take(state: &AppState) -> Result<(), hooklayer_store::StoreError> {
    let now = Timestamp::now();
    let minute = now.millis().div_euclid(60_000);
    if !state.store.queue_samples(minute).await?.is_empty() {
        return Ok(());
    }
    let sample = state.store.queue_counts(now, SAMPLE_CAP).await?;
    state.store.add_queue_sample(&sample).await?;
    Ok(())
}

/// The time to the start of the next minute (plus a little, so the sample is of that minute).
fn until_next_minute() -> Duration {
    let ms = Timestamp::now().millis().rem_euclid(60_000);
    Duration::from_millis(u64::try_from(60_000 - ms).unwrap_or(60_000) + 50)
}

pub async fn run(state: Arc<AppState>, shutdown: CancellationToken) {
    while !shutdown.is_cancelled() {
        if let Err(e) = take(&state).await {
            tracing::warn!(error = %e, "queue sample failed; trying again next minute");
        }
        tokio::select! {
            _ = tokio::time::sleep(until_next_minute()) => {}
            _ = shutdown.cancelled() => {}
        }
    }
}
