//! Scenario 3, end-to-end throughput: `events` events published in batches of 100 to 1 webhook
//! (or fanned out to 10), deliveries/s from the first publish to the last arrival, and that
//! rate's ratio to the raw capacity measured in the same run. Every (webhook, event) pair is
//! checked off at the receiver: lost and duplicate deliveries are reported.
//!
//! `e2e-single` is the same run fed the way most applications publish: one event per request,
//! `single_publishers` (64) requests in flight.

use anyhow::Result;

use super::{loss_figure, targets_apply, Bench, Instance};
use crate::arrivals::Outcome;
use crate::database::Backend;
use crate::publish::{self, Published};
use crate::report::{human, Figure};

/// How a throughput run publishes and fans out.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    pub webhooks: u32,
    /// Events per publish request (1: a single event object).
    pub batch: u64,
    /// Concurrent publishers; `None`: `batch_publishers`.
    pub publishers: Option<usize>,
}

impl Shape {
    pub const BATCHES: Self = Self {
        webhooks: 1,
        batch: super::ingest::BATCH,
        publishers: None,
    };
    pub const FANOUT: Self = Self {
        webhooks: 10,
        ..Self::BATCHES
    };
    pub fn single_events(publishers: usize) -> Self {
        Self {
            webhooks: 1,
            batch: 1,
            publishers: Some(publishers),
        }
    }

    fn scenario(self) -> &'static str {
        match (self.webhooks, self.batch) {
            (1, 1) => "e2e-single",
            (1, _) => "e2e",
            _ => "fanout",
        }
    }

    /// The target ratio to raw capacity, where one applies on `backend`.
    fn target(self, backend: &Backend) -> Option<f64> {
        match (self.scenario(), targets_apply(backend)) {
            ("e2e", true) => Some(0.5),
            ("e2e-single", true) => Some(0.25),
            ("e2e-single", false) => Some(0.2),
            _ => None,
        }
    }
}

/// What one closed-loop publish of `events` in `shape` and the wait for every delivery
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

/// Publishes `events` to `instance` as `shape` says (events per request, publishers), waits
/// until each arrived at the webhooks `0..shape.webhooks` of the receiver (bounded by the drain
/// limit and the stall time), stops the instance and measures.
pub(super) async fn publish_and_drain(
    bench: &Bench,
    instance: Instance,
    shape: Shape,
    events: u64,
) -> Result<Drained> {
    let settings = &bench.settings;
    let published = publish::closed_loop(
        &instance.api,
        events,
        shape.batch,
        shape.publishers.unwrap_or(settings.batch_publishers),
        settings.drain_limit(),
    )
    .await?;
    let hooks: Vec<u32> = (0..shape.webhooks).collect();
    let (tracker, complete) = bench.await_deliveries(&hooks, &published.ids).await;
    let peak = bench.finish(instance).await;
    let outcome = tracker.outcome(&published.ids);
    let (secs, dps) = outcome.rate_since(published.started_ns);
    Ok(Drained {
        published,
        outcome,
        peak,
        secs,
        dps,
        complete,
    })
}

pub async fn run(bench: &mut Bench, backend: &Backend, shape: Shape) -> Result<()> {
    let settings = bench.settings.clone();
    let webhooks = shape.webhooks;
    let scenario = shape.scenario();
    let publishers = shape.publishers.unwrap_or(settings.batch_publishers);
    let label = format!(
        "{scenario} ({webhooks} webhook{}{}{})",
        if webhooks == 1 { "" } else { "s" },
        if shape.batch == 1 {
            format!(", single events, {publishers} in flight")
        } else {
            String::new()
        },
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
        "  {} events × {webhooks} webhook(s), {} per request from {publishers} publishers",
        settings.events, shape.batch
    );
    let Drained {
        published,
        outcome,
        peak,
        secs,
        dps,
        complete,
    } = publish_and_drain(bench, instance, shape, settings.events).await?;
    if webhooks == 1 && shape.batch == super::ingest::BATCH {
        bench.e2e_dps.insert(backend.name(), dps);
    }
    let ratio = bench.raw_rps.filter(|r| *r > 0.0).map(|raw| dps / raw);
    let ratio_text = ratio.map_or_else(
        || "no raw capacity measured".to_owned(),
        |r| format!("{:.1}% of raw", r * 100.0),
    );
    let target = shape.target(backend).filter(|_| ratio.is_some());
    bench.report.push(
        Figure::new(&label, backend.name(), "deliveries/s", dps, "/s")
            .shown(format!("{} /s ({ratio_text})", human(dps)))
            .target_if(
                target.is_some(),
                &format!(">= {:.0}% of raw", target.unwrap_or(0.0) * 100.0),
                ratio.zip(target).is_some_and(|(r, t)| r >= t),
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
            "events_per_request": shape.batch,
            "publishers": publishers,
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
