//! Scenario 2, ingest: events/s answered `202`, for single events and for batches of 100.
//!
//! One active webhook is registered first, so every accepted event also commits its delivery
//! (the `202` waits for that) and the workers deliver concurrently, as in production. The run
//! measures the publish side only; deliveries still in the queue when it ends are abandoned with
//! the process.

use anyhow::Result;

use super::{targets_apply, Bench};
use crate::database::Backend;
use crate::publish::{self, Published};
use crate::report::{human, Figure};

/// Events per request of the batch phase.
pub const BATCH: u64 = 100;

pub async fn run(bench: &mut Bench, backend: &Backend) -> Result<()> {
    let settings = bench.settings.clone();
    let instance = bench.launch(backend, "ingest").await?;
    instance
        .api
        .add_webhooks(&[bench.receiver.hook_url(0)])
        .await?;

    eprintln!(
        "  {} single events from {} publishers",
        settings.ingest_single_events, settings.concurrency
    );
    let single = publish::closed_loop(
        &instance.api,
        settings.ingest_single_events,
        1,
        settings.concurrency,
        settings.drain_limit(),
    )
    .await?;
    eprintln!(
        "  {} events in batches of {BATCH} from {} publishers",
        settings.events, settings.batch_publishers
    );
    let batched = publish::closed_loop(
        &instance.api,
        settings.events,
        BATCH,
        settings.batch_publishers,
        settings.drain_limit(),
    )
    .await?;
    let peak = bench.finish(instance).await;

    let with_targets = targets_apply(backend);
    let row = |figure: &str, p: &Published, target: f64| {
        Figure::new(
            "ingest",
            backend.name(),
            figure,
            p.events_per_sec,
            "events/s",
        )
        .shown(format!(
            "{} events/s ({} failed requests)",
            human(p.events_per_sec),
            p.failed_requests
        ))
        .target_if(
            with_targets,
            &format!(">= {} events/s", human(target)),
            p.events_per_sec >= target && p.failed_requests == 0,
        )
    };
    let single_row = row("single events", &single, 3_000.0);
    let batch_row = row("batches of 100", &batched, 20_000.0);
    bench.report.push(single_row);
    bench.report.push(batch_row);
    let rss = bench.rss_figure("ingest", backend, peak, None);
    bench.report.push(rss);
    bench.report.detail(
        "ingest",
        backend.name(),
        serde_json::json!({
            "single": single,
            "batch_size": BATCH,
            "batched": batched,
            "single_publishers": settings.concurrency,
            "batch_publishers": settings.batch_publishers,
            "peak_rss_bytes": peak,
        }),
    );
    eprintln!(
        "  ingest: {} events/s single, {} events/s batched",
        human(single.events_per_sec),
        human(batched.events_per_sec)
    );
    Ok(())
}
