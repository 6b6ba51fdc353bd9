//! Scenario 6b, memory under a backlog: `backlog` deliveries queued for a receiver that is down.
//!
//! A second receiver passes the webhook's verification and is then shut down (listener closed,
//! kept-alive connections cut), so every delivery attempt is refused. The events are published
//! in batches of 100; memory is then sampled for `backlog_settle_secs` more, which spans
//! hooklayer's first retry wave (10 s ± 10 %). A well-behaved service keeps the queue in the
//! database, not in memory: peak RSS should not grow with the backlog.
//!
//! Then `serve` is stopped and started again on the same database, and the time from its start
//! until `/readyz` answers `200` is measured: a restart with a backlog must not scan it first.

use std::time::Duration;

use anyhow::Result;

use super::Bench;
use crate::database::Backend;
use crate::publish;
use crate::receiver::Receiver;
use crate::report::{human, Figure};

pub async fn run(bench: &mut Bench, backend: &Backend) -> Result<()> {
    let settings = bench.settings.clone();
    let instance = bench.launch(backend, "backlog").await?;
    let down = Receiver::start(bench.tls_server.clone()).await?;
    instance.api.add_webhooks(&[down.hook_url(0)]).await?;
    down.shutdown().await;

    eprintln!(
        "  {} events for a receiver that is down, then {} s of retries",
        settings.backlog, settings.backlog_settle_secs
    );
    let published = publish::closed_loop(
        &instance.api,
        settings.backlog,
        super::ingest::BATCH,
        settings.batch_publishers,
        settings.drain_limit(),
    )
    .await?;
    tokio::time::sleep(Duration::from_secs(settings.backlog_settle_secs)).await;
    // hooklayer_queue_depth is optional for the bench: shown when the server exports it.
    let pending = instance.api.queue_depth("pending").await;
    let (peak, ready) = bench
        .restart_until_ready(instance, backend, "backlog")
        .await;
    let ready = ready?;

    let label = format!(
        "backlog ({} queued, receiver down)",
        human(published.accepted as f64)
    );
    let rss = bench.rss_figure(&label, backend, peak, Some(200.0));
    bench.report.push(rss);
    let ready_ms = ready.as_secs_f64() * 1e3;
    bench.report.push(
        Figure::new(
            &label,
            backend.name(),
            "restart → /readyz 200",
            ready_ms,
            "ms",
        )
        .shown(format!("{ready_ms:.0} ms"))
        .target_if(
            published.accepted >= 1_000_000,
            "<= 1 s (1,000,000 queued)",
            ready_ms <= 1000.0,
        ),
    );
    bench.report.push(
        Figure::new(
            &label,
            backend.name(),
            "events accepted",
            published.accepted as f64,
            "events",
        )
        .shown(format!(
            "{} of {} ({} events/s, queue depth pending: {})",
            published.accepted,
            settings.backlog,
            human(published.events_per_sec),
            pending.map_or_else(|| "n/a".to_owned(), human)
        )),
    );
    bench.report.detail(
        "backlog",
        backend.name(),
        serde_json::json!({
            "backlog": settings.backlog,
            "settle_secs": settings.backlog_settle_secs,
            "published": published,
            "queue_depth_pending": pending,
            "peak_rss_bytes": peak,
            "restart_ready_ms": ready_ms,
        }),
    );
    eprintln!(
        "  backlog: peak RSS {}",
        peak.map_or_else(
            || "n/a".to_owned(),
            |b| format!("{:.1} MiB", crate::report::mib(b))
        )
    );
    Ok(())
}
