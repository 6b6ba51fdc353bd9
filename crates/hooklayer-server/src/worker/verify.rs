//! The verification worker: claims `unverified` webhooks (with a lease, so a crash leaves
//! them to be verified again after the lease) and runs the handshake of SPEC §4 for each.

use crate::metrics::Outcome;
use crate::outbound::{verification, OutboundClient};
use crate::state::AppState;
use hooklayer_core::ids::webhook_uri;
use hooklayer_core::time::Timestamp;
use std::sync::Arc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

/// Most verifications run at once by one process.
const BATCH: u32 = 32;

pub async fn run(state: Arc<AppState>, client: OutboundClient, shutdown: CancellationToken) {
    let mut running = JoinSet::new();
    while !shutdown.is_cancelled() {
        let now = Timestamp::now();
        // The lease outlasts the handshake (bounded by the delivery timeout) with room to spare.
        let lease =
            i64::try_from((state.config.delivery_timeout * 10).as_millis()).unwrap_or(i64::MAX);
        match state
            .store
            .claim_unverified(now, now.plus_millis(lease.max(10_000)), BATCH)
            .await
        {
            Ok(hooks) => {
                let full = hooks.len() == BATCH as usize;
                for w in hooks {
                    let state = state.clone();
                    let client = client.clone();
                    let span =
                        tracing::info_span!("verification", app.id = %w.app, webhook.id = %w.id);
                    running.spawn(
                        async move {
                            let uri = webhook_uri(w.app, w.id);
                            let outcome = verification::verify(&client, &w.target_url, &uri, w.version).await;
                            let metric = if outcome.is_ok() { Outcome::Succeeded } else { Outcome::Failed };
                            match &outcome {
                                Ok(()) => tracing::info!("webhook verified"),
                                Err(reason) => tracing::info!(%reason, "webhook verification failed"),
                            }
                            state.metrics.verification(metric);
                            if let Err(e) = state.store.finish_verification(w.id, outcome).await {
                                tracing::warn!(error = %e, "could not store a verification outcome; it runs again after the lease");
                            }
                        }
                        .instrument(span),
                    );
                }
                if full {
                    continue;
                }
            }
            Err(e) => tracing::warn!(error = %e, "claiming webhooks to verify failed"),
        }
        while running.try_join_next().is_some() {}
        tokio::select! {
            _ = state.verify_wake.notified() => {}
            _ = tokio::time::sleep(state.config.poll_interval) => {}
            _ = shutdown.cancelled() => {}
        }
    }
    // Handshakes in progress finish (each bounded by the delivery timeout).
    while running.join_next().await.is_some() {}
}
