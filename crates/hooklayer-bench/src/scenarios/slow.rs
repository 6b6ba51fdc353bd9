//! Slow receivers: `slow_webhooks` (100) webhooks whose receiver answers each delivery after
//! 50–200 ms (uniform), `slow_rate` deliveries/s offered in all (each event goes to every
//! webhook, so `slow_rate / slow_webhooks` events/s) for `slow_secs`. Real receivers are this
//! slow, so what matters here is concurrency, connection reuse and memory per in-flight attempt.
//!
//! Figures: the delivered rate (deliveries from the first publish to the last arrival), the
//! publish→arrival lag p99 (arrival = the receiver has the body, before its delay), and the peak
//! RSS of hooklayer. The targets are stated for 5,000/s over 30 s on 100 webhooks; they are
//! judged only at (at least) that size.

use std::time::Duration;

use anyhow::Result;

use super::{loss_figure, Bench};
use crate::database::Backend;
use crate::publish;
use crate::report::{human, mib, Figure};

/// The receiver's answer delay range.
const ANSWER_DELAY: (Duration, Duration) = (Duration::from_millis(50), Duration::from_millis(200));
/// Requests in flight the open-loop publisher allows.
const MAX_OUTSTANDING: usize = 256;
/// "Delivered at the offered rate": at least this share of it, measured up to the last arrival.
const RATE_SHARE: f64 = 0.95;

pub async fn run(bench: &mut Bench, backend: &Backend) -> Result<()> {
    let settings = bench.settings.clone();
    let webhooks = settings.slow_webhooks.max(1);
    let event_rate = (settings.slow_rate / u64::from(webhooks)).max(1);
    let offered = (event_rate * u64::from(webhooks)) as f64;
    let instance = bench.launch(backend, "slow").await?;
    let hooks: Vec<u32> = (0..webhooks).collect();
    let urls: Vec<String> = hooks.iter().map(|&h| bench.receiver.hook_url(h)).collect();
    instance.api.add_webhooks(&urls).await?;
    // After verification, which is answered at once.
    bench.receiver.set_answer_delay(Some(ANSWER_DELAY));

    let duration = Duration::from_secs(settings.slow_secs);
    eprintln!(
        "  {event_rate} events/s × {webhooks} webhooks answering in 50–200 ms, for {duration:?}"
    );
    let published =
        publish::open_loop(&instance.api, event_rate, duration, MAX_OUTSTANDING).await?;
    let (tracker, _) = bench.await_deliveries(&hooks, &published.ids).await;
    let peak = bench.finish(instance).await;
    let outcome = tracker.outcome(&published.ids);

    let (secs, delivered_rate) = outcome.rate_since(published.started_ns);
    let p99 = outcome.latency.map_or(f64::NAN, |l| l.p99_ms);
    let judged = offered >= 5000.0 && settings.slow_secs >= 30 && webhooks >= 100;
    let label = format!(
        "slow ({} deliveries/s × {} s, {webhooks} webhooks, 50–200 ms)",
        human(offered),
        settings.slow_secs
    );
    let name = backend.name();
    bench.report.push(
        Figure::new(&label, name, "delivered rate", delivered_rate, "/s")
            .shown(format!(
                "{} /s ({:.0}% of offered)",
                human(delivered_rate),
                delivered_rate / offered * 100.0
            ))
            .target_if(
                judged,
                "offered rate (>= 95%)",
                delivered_rate >= offered * RATE_SHARE,
            ),
    );
    bench.report.push(
        Figure::new(&label, name, "lag p50 / p99 / max", p99, "ms p99")
            .shown(outcome.latency.map_or_else(
                || "no arrivals".to_owned(),
                |l| format!("{:.1} / {:.1} / {:.1} ms", l.p50_ms, l.p99_ms, l.max_ms),
            ))
            .target_if(judged, "p99 <= 500 ms", p99 <= 500.0),
    );
    let rss = peak.map_or(f64::NAN, mib);
    bench.report.push(
        Figure::new(&label, name, "hooklayer peak RSS", rss, "MiB").target_if(
            judged && peak.is_some(),
            "<= 150 MiB",
            rss <= 150.0,
        ),
    );
    bench
        .report
        .push(loss_figure(&label, backend, &outcome, true));
    bench.report.detail(
        "slow",
        name,
        serde_json::json!({
            "webhooks": webhooks, "events_per_sec": event_rate, "offered_deliveries_per_sec": offered,
            "secs": settings.slow_secs, "answer_delay_ms": [50, 200],
            "delivered_per_sec": delivered_rate, "secs_first_publish_to_last_arrival": secs,
            "published": published, "outcome": outcome, "peak_rss_bytes": peak,
        }),
    );
    eprintln!(
        "  slow: {} /s delivered of {} offered, lag p99 {p99:.1} ms, peak RSS {rss:.1} MiB",
        human(delivered_rate),
        human(offered)
    );
    Ok(())
}
