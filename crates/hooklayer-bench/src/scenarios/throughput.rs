//! Scenario 3, end-to-end throughput: `events` events published in batches of 100 to 1 webhook
//! (or fanned out to 10), deliveries/s from the first publish to the last arrival, and that
//! rate's ratio to the raw capacity measured in the same run. Every (webhook, event) pair is
//! checked off at the receiver: lost and duplicate deliveries are reported.

use anyhow::Result;

use super::{loss_figure, targets_apply, Bench, Instance};
use crate::arrivals::Outcome;
use crate::arrivals::Tracker;
use crate::clock::{now_ns, secs_between};
use crate::database::Backend;
use crate::publish;
use crate::publish::Published;
use crate::report::{human, Figure};

/// What one closed-loop publish of `events` (batches of 100) and the wait for every delivery
/// measured; the instance is stopped.
pub(super) struct Drained {
    pub published: Published,
    pub outcome: Outcome,
    pub peak: Option<u64>,
    pub secs: f64,
    /// Deliveries from the first publish to the last first arrival, per second.
    pub dps: f64,
    pub complete: bool,
}

pub(super) async fn publish_and_drain(
    bench: &Bench,
    instance: Instance,
    hooks: &[u32],
    events: u64,
) -> Result<Drained> {
    let settings = &bench.settings;
    let published = publish::closed_loop(
        &instance.api,
        events,
        super::ingest::BATCH,
        settings.batch_publishers,
        settings.drain_limit(),
    )
    .await?;
    let mut tracker = Tracker::new(hooks);
    let complete = tracker
        .wait_all(
            &bench.receiver,
            &published.ids,
            settings.drain_limit(),
            settings.stall(),
        )
        .await;
    let peak = bench.finish(instance).await;
    let outcome = tracker.outcome(&published.ids);
    let end_ns = outcome.last_at_ns.unwrap_or_else(now_ns);
    let secs = secs_between(published.started_ns, end_ns);
    let dps = if secs > 0.0 {
        outcome.delivered as f64 / secs
    } else {
        0.0
    };
    Ok(Drained {
        published,
        outcome,
        peak,
        secs,
        dps,
        complete,
    })
}

pub async fn run(bench: &mut Bench, backend: &Backend, webhooks: u32) -> Result<()> {
    let settings = bench.settings.clone();
    let scenario = if webhooks == 1 { "e2e" } else { "fanout" };
    let label = format!(
        "{scenario} ({webhooks} webhook{}{})",
        if webhooks == 1 { "" } else { "s" },
        if settings.idle_listener {
            ", 1 idle listener"
        } else {
            ""
        }
    );
    let instance = bench.launch(backend, scenario).await?;
    let hooks: Vec<u32> = (0..webhooks).collect();
    let urls: Vec<String> = hooks.iter().map(|&h| bench.receiver.hook_url(h)).collect();
    instance.api.add_webhooks(&urls).await?;
    // Held until the end of the run: dropping it closes the stream.
    let _listener = if settings.idle_listener {
        Some(instance.api.open_idle_listener().await?)
    } else {
        None
    };

    eprintln!(
        "  {} events × {webhooks} webhook(s), batches of 100 from {} publishers",
        settings.events, settings.batch_publishers
    );
    let Drained {
        published,
        outcome,
        peak,
        secs,
        dps,
        complete,
    } = publish_and_drain(bench, instance, &hooks, settings.events).await?;
    let ratio = bench.raw_rps.filter(|r| *r > 0.0).map(|raw| dps / raw);
    let ratio_text = ratio.map_or_else(
        || "no raw capacity measured".to_owned(),
        |r| format!("{:.1}% of raw", r * 100.0),
    );
    let with_targets = targets_apply(backend) && webhooks == 1;
    bench.report.push(
        Figure::new(&label, backend.name(), "deliveries/s", dps, "/s")
            .shown(format!("{} /s ({ratio_text})", human(dps)))
            .target_if(
                with_targets && ratio.is_some(),
                ">= 50% of raw",
                ratio.is_some_and(|r| r >= 0.5),
            ),
    );
    bench
        .report
        .push(loss_figure(&label, backend, &outcome, true));
    let rss = bench.rss_figure(&label, backend, peak, Some(100.0));
    bench.report.push(rss);
    bench.report.detail(
        scenario,
        backend.name(),
        serde_json::json!({
            "webhooks": webhooks,
            "deliveries_per_sec": dps,
            "ratio_to_raw": ratio,
            "secs_first_publish_to_last_arrival": secs,
            "all_arrived": complete,
            "published": published,
            "outcome": outcome,
            "malformed": bench.receiver.malformed(),
            "peak_rss_bytes": peak,
        }),
    );
    eprintln!(
        "  {label}: {} deliveries/s ({ratio_text}), {} lost, {} dup",
        human(dps),
        outcome.lost,
        outcome.duplicates
    );
    Ok(())
}
