//! Scenario "ordered": 10 webhooks with `delivery: {"ordered": true}`, each taking one attempt
//! at a time in acceptance order. `events / 10` events (at least 100) are published in batches
//! of 100 and fanned out to all 10; reported: deliveries/s from the first publish to the last
//! arrival, publish→arrival latency percentiles, and lost / duplicate deliveries. There is no
//! target: an ordered webhook's rate is bounded by one round trip plus one commit per delivery.

use anyhow::Result;

use super::throughput::{publish_and_drain, Drained, Shape};
use super::{loss_figure, Bench};
use crate::database::Backend;
use crate::report::{human, Figure};

/// Ordered webhooks in the run.
const WEBHOOKS: u32 = 10;

/// Published like the fan-out run: batches of 100 from `batch_publishers`, to all 10.
const SHAPE: Shape = Shape {
    webhooks: WEBHOOKS,
    ..Shape::BATCHES
};

pub async fn run(bench: &mut Bench, backend: &Backend) -> Result<()> {
    let settings = bench.settings.clone();
    let label = "ordered (10 webhooks)";
    let events = (settings.events / 10).max(100);
    let instance = bench.launch(backend, "ordered").await?;
    let urls: Vec<String> = (0..WEBHOOKS).map(|h| bench.receiver.hook_url(h)).collect();
    instance
        .api
        .add_webhooks_with(&urls, Some(serde_json::json!({"ordered": true})))
        .await?;

    eprintln!("  {events} events × {WEBHOOKS} ordered webhooks, batches of 100");
    let Drained {
        published,
        outcome,
        peak,
        secs,
        dps,
        complete,
    } = publish_and_drain(bench, instance, SHAPE, events).await?;
    let p99 = outcome.latency.map_or(f64::NAN, |l| l.p99_ms);
    bench.report.push(
        Figure::new(label, backend.name(), "deliveries/s", dps, "/s")
            .shown(format!("{} /s", human(dps))),
    );
    bench.report.push(
        Figure::new(
            label,
            backend.name(),
            "p50 / p90 / p99 / max",
            p99,
            "ms p99",
        )
        .shown(super::latency::spread(&outcome)),
    );
    bench
        .report
        .push(loss_figure(label, backend, &outcome, true));
    let rss = bench.rss_figure(label, backend, peak, None);
    bench.report.push(rss);
    bench.report.detail(
        "ordered",
        backend.name(),
        serde_json::json!({
            "webhooks": WEBHOOKS,
            "deliveries_per_sec": dps,
            "secs_first_publish_to_last_arrival": secs,
            "all_arrived": complete,
            "published": published,
            "outcome": outcome,
            "peak_rss_bytes": peak,
        }),
    );
    eprintln!(
        "  {label}: {} deliveries/s, latency {}, {} lost, {} dup",
        human(dps),
        super::latency::spread(&outcome),
        outcome.lost,
        outcome.duplicates
    );
    Ok(())
}
