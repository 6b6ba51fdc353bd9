//! Scenarios 4 and 5: publish→arrival latency at a fixed offered rate, alone and next to bad
//! neighbours.
//!
//! Latency: `latency_rate` single events/s for `latency_secs` to 1 webhook (open loop: the
//! schedule does not wait for answers). Each event carries its send time; the receiver stamps
//! the arrival on the same monotonic clock.
//!
//! Isolation: 10 webhooks, of which #8 answers `500` and #9 sleeps past hooklayer's 1 s timeout;
//! the p99 of the 8 healthy ones is compared with the latency run's p99. The offered rate is
//! `isolation_rate` (default a tenth of the latency rate), so the healthy deliveries/s are close to
//! the latency run's and the comparison isolates the neighbours' effect from plain load.

use std::time::Duration;

use anyhow::Result;

use super::{loss_figure, targets_apply, Bench};
use crate::arrivals::{Outcome, Tracker};
use crate::database::Backend;
use crate::publish::{self, Published};
use crate::receiver::Behaviour;
use crate::report::{human, Figure};

/// Requests in flight the open-loop publisher allows before the schedule slips (reported).
const MAX_OUTSTANDING: usize = 256;

/// Runs one open-loop phase against `webhooks` webhooks; the first `healthy` accept.
async fn offered(
    bench: &Bench,
    backend: &Backend,
    scenario: &str,
    webhooks: u32,
    healthy: u32,
    rate: u64,
) -> Result<(Published, Outcome, Option<u64>)> {
    let settings = &bench.settings;
    let instance = bench.launch(backend, scenario).await?;
    let hooks: Vec<u32> = (0..webhooks).collect();
    let urls: Vec<String> = hooks.iter().map(|&h| bench.receiver.hook_url(h)).collect();
    instance.api.add_webhooks(&urls).await?;
    // Behaviours are set after verification, which every path passes.
    if webhooks > healthy {
        bench.receiver.set_behaviour(healthy, Behaviour::Fail);
    }
    if webhooks > healthy + 1 {
        bench.receiver.set_behaviour(healthy + 1, Behaviour::Sleep);
    }

    let duration = Duration::from_secs(settings.latency_secs);
    eprintln!("  {rate} events/s for {duration:?} to {webhooks} webhook(s)");
    let published = publish::open_loop(&instance.api, rate, duration, MAX_OUTSTANDING).await?;
    let mut tracker = Tracker::new(&hooks[..healthy as usize]);
    tracker
        .wait_all(
            &bench.receiver,
            &published.ids,
            settings.drain_limit(),
            settings.stall(),
        )
        .await;
    let peak = bench.finish(instance).await;
    let outcome = tracker.outcome(&published.ids);
    Ok((published, outcome, peak))
}

/// "p50 / p90 / p99 / max" of an outcome, for the table.
pub(super) fn spread(outcome: &Outcome) -> String {
    outcome.latency.map_or_else(
        || "no arrivals".to_owned(),
        |l| {
            format!(
                "{:.1} / {:.1} / {:.1} / {:.1} ms",
                l.p50_ms, l.p90_ms, l.p99_ms, l.max_ms
            )
        },
    )
}

pub async fn run_latency(bench: &mut Bench, backend: &Backend) -> Result<()> {
    let rate = bench.settings.latency_rate;
    let (published, outcome, peak) = offered(bench, backend, "latency", 1, 1, rate).await?;
    let p99 = outcome.latency.map_or(f64::NAN, |l| l.p99_ms);
    if p99.is_finite() {
        bench.latency_p99.insert(backend.name(), p99);
    }
    let label = format!("latency ({rate}/s)");
    bench.report.push(
        Figure::new(
            &label,
            backend.name(),
            "p50 / p90 / p99 / max",
            p99,
            "ms p99",
        )
        .shown(spread(&outcome))
        .target_if(targets_apply(backend), "p99 <= 20 ms", p99 <= 20.0),
    );
    bench.report.push(
        Figure::new(
            &label,
            backend.name(),
            "offered → accepted",
            published.events_per_sec,
            "events/s",
        )
        .shown(format!(
            "{} events/s accepted, {} failed, schedule lag max {:.1} ms",
            human(published.events_per_sec),
            published.failed_requests,
            published.max_schedule_lag_ms.unwrap_or(0.0)
        )),
    );
    bench
        .report
        .push(loss_figure(&label, backend, &outcome, true));
    let rss = bench.rss_figure(&label, backend, peak, None);
    bench.report.push(rss);
    bench.report.detail(
        "latency",
        backend.name(),
        serde_json::json!({
            "offered_rate": rate, "secs": bench.settings.latency_secs,
            "published": published, "outcome": outcome, "peak_rss_bytes": peak,
        }),
    );
    eprintln!("  latency p50/p90/p99/max: {}", spread(&outcome));
    Ok(())
}

pub async fn run_isolation(bench: &mut Bench, backend: &Backend) -> Result<()> {
    let rate = bench.settings.isolation_rate;
    let (published, outcome, peak) = offered(bench, backend, "isolation", 10, 8, rate).await?;
    let p99 = outcome.latency.map_or(f64::NAN, |l| l.p99_ms);
    let reference = bench.latency_p99.get(backend.name()).copied();
    let ratio = reference.filter(|r| *r > 0.0).map(|r| p99 / r);
    let label = format!("isolation ({rate}/s × 10 webhooks)");
    let versus = ratio.map_or_else(
        || "no latency run to compare".to_owned(),
        |r| format!("{r:.2}× latency p99"),
    );
    bench.report.push(
        Figure::new(
            &label,
            backend.name(),
            "healthy p50 / p90 / p99 / max",
            p99,
            "ms p99",
        )
        .shown(format!("{} ({versus})", spread(&outcome)))
        .target_if(
            targets_apply(backend) && ratio.is_some(),
            "p99 <= 2× latency p99",
            ratio.is_some_and(|r| r <= 2.0),
        ),
    );
    bench
        .report
        .push(loss_figure(&label, backend, &outcome, true));
    let rss = bench.rss_figure(&label, backend, peak, None);
    bench.report.push(rss);
    bench.report.detail(
        "isolation",
        backend.name(),
        serde_json::json!({
            "offered_rate": rate, "secs": bench.settings.latency_secs,
            "webhooks": 10, "healthy": 8, "failing_500": [8], "sleeping": [9],
            "sleep_ms": crate::receiver::SLEEP.as_millis() as u64,
            "published": published, "healthy_outcome": outcome,
            "p99_ratio_to_latency": ratio, "peak_rss_bytes": peak,
        }),
    );
    eprintln!(
        "  isolation healthy p50/p90/p99/max: {} ({versus})",
        spread(&outcome)
    );
    Ok(())
}
