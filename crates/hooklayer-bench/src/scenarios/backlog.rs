//! Scenario 6b, a big backlog: `backlog` deliveries queued for a receiver that is down, then it
//! comes back.
//!
//! A second receiver passes the webhook's verification and is then shut down (listener closed,
//! kept-alive connections cut), so every delivery attempt is refused. The events are published
//! in batches of 100; memory is then sampled for `backlog_settle_secs` more, which spans
//! hooklayer's first retry wave. A well-behaved service keeps the queue in the database, not in
//! memory: peak RSS should not grow with the backlog.
//!
//! Then `serve` is stopped, the receiver comes back on the same address, and `serve` is
//! started again on the same database: the time from its start until `/readyz` answers `200` is
//! measured (a restart with a backlog must not scan it first), then how fast the backlog
//! drains — every delivery arrived, from `/readyz` to the last first arrival — against the
//! end-to-end rate of the same run.
//!
//! This scenario's `serve` retries every [`RETRY_EVERY`] (instead of the default schedule's
//! growing delays), and the bench waits that long (plus jitter), and at least the lease of
//! what the stopped process had claimed, before the restart, so every delivery is due when
//! the restarted process starts: the drain measures the process, not the retry schedule.

use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};

use super::{Bench, Instance};
use crate::arrivals::Tracker;
use crate::clock::now_ns;
use crate::database::Backend;
use crate::hooklayer::Hooklayer;
use crate::publish;
use crate::receiver::Receiver;
use crate::report::{human, mib, Figure};

/// The delay before every retry of this scenario's `serve`.
const RETRY_EVERY: Duration = Duration::from_secs(10);
/// Retries before a delivery would fail: far more than a run of this scenario lasts.
const RETRIES: usize = 120;
/// hooklayer's default `HOOKLAYER_LEASE`: how long the stopped process's claims stay taken.
const DEFAULT_LEASE: Duration = Duration::from_secs(30);

/// `HOOKLAYER_RETRY_SCHEDULE` of this scenario.
fn retry_schedule() -> String {
    vec![format!("{}s", RETRY_EVERY.as_secs()); RETRIES].join(",")
}

pub async fn run(bench: &mut Bench, backend: &Backend) -> Result<()> {
    let settings = bench.settings.clone();
    let schedule = retry_schedule();
    let instance = bench
        .launch_with(backend, "backlog", None, Some(&schedule))
        .await?;
    let down = Receiver::start(bench.tls_server.clone()).await?;
    let receiver_addr = down.addr();
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

    let Instance { server, db, .. } = instance;
    let queued_peak = server.stop().await;
    // Every delivery's next attempt is at most RETRY_EVERY + 10 % jitter after its last, and
    // what the stopped process had claimed is due again when its lease runs out.
    let due_again = (RETRY_EVERY + RETRY_EVERY / 10).max(DEFAULT_LEASE);
    tokio::time::sleep(due_again + Duration::from_secs(1)).await;
    let back = Receiver::start_at(bench.tls_server.clone(), receiver_addr).await?;
    eprintln!("  the receiver is back; restarting serve");
    let drained =
        restart_and_drain(bench, backend, &db.url, &schedule, &back, &published.ids).await;
    bench.databases.release(db).await;
    let drained = drained?;

    let label = format!(
        "backlog ({} queued, receiver down, then back)",
        human(published.accepted as f64)
    );
    let peak = queued_peak.max(drained.peak);
    let rss = bench.rss_figure(&label, backend, peak, Some(200.0));
    bench.report.push(rss);
    let ready_ms = drained.ready.as_secs_f64() * 1e3;
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
    let e2e = bench.e2e_dps.get(backend.name()).copied();
    let share = e2e.filter(|r| *r > 0.0).map(|r| drained.dps / r);
    bench.report.push(
        Figure::new(
            &label,
            backend.name(),
            "drain after the receiver is back",
            drained.dps,
            "/s",
        )
        .shown(format!(
            "{} deliveries/s ({}), {} lost / {} dup of {}",
            human(drained.dps),
            share.map_or_else(
                || "no e2e rate in this run".to_owned(),
                |s| format!("{:.0}% of this run's e2e", s * 100.0)
            ),
            drained.lost,
            drained.duplicates,
            published.accepted,
        ))
        .target_if(
            share.is_some() && published.accepted >= 1_000_000,
            ">= 80% of e2e, 0 lost",
            share.is_some_and(|s| s >= 0.8) && drained.lost == 0,
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
            "peak_rss_bytes_queued": queued_peak,
            "peak_rss_bytes_draining": drained.peak,
            "restart_ready_ms": ready_ms,
            "drain_secs": drained.secs,
            "drain_deliveries_per_sec": drained.dps,
            "drain_share_of_e2e": share,
            "all_arrived": drained.complete,
            "lost": drained.lost,
            "duplicates": drained.duplicates,
        }),
    );
    eprintln!(
        "  backlog: peak RSS {}, ready in {ready_ms:.0} ms, drained at {} /s",
        peak.map_or_else(|| "n/a".to_owned(), |b| format!("{:.1} MiB", mib(b))),
        human(drained.dps)
    );
    Ok(())
}

/// What the restarted process did with the backlog.
struct Drain {
    ready: Duration,
    peak: Option<u64>,
    /// Deliveries from `/readyz` to the last first arrival, per second.
    dps: f64,
    secs: f64,
    complete: bool,
    lost: u64,
    duplicates: u64,
}

/// Starts `serve` again on `database_url`, times it until `/readyz` answers `200`, and waits
/// until every event of `ids` arrived at `back` (bounded by the drain limit and the stall time).
async fn restart_and_drain(
    bench: &Bench,
    backend: &Backend,
    database_url: &str,
    schedule: &str,
    back: &Receiver,
    ids: &[u128],
) -> Result<Drain> {
    let bin = bench.bin.as_deref().context("no hooklayer binary")?;
    let mut launch = bench.launch_settings(bin, database_url, backend, "backlog-restart");
    launch.retry_schedule = Some(schedule);
    let started = Instant::now();
    let server = Hooklayer::start(&launch, &bench.http).await?;
    let url = format!("{}/readyz", server.base_url);
    loop {
        let status = bench.http.get(&url).send().await.map(|r| r.status());
        if status.is_ok_and(|s| s == reqwest::StatusCode::OK) {
            break;
        }
        if started.elapsed() > Duration::from_secs(60) {
            anyhow::bail!("/readyz did not answer 200 within 60 s\n{}", server.log());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let ready = started.elapsed();
    let ready_ns = now_ns();
    let mut tracker = Tracker::new(&[0]);
    let settings = &bench.settings;
    let complete = tracker
        .wait_all(back, ids, settings.drain_limit(), settings.stall())
        .await;
    let peak = server.stop().await;
    let outcome = tracker.outcome(ids);
    let (secs, dps) = outcome.rate_since(ready_ns);
    Ok(Drain {
        ready,
        peak,
        dps,
        secs,
        complete,
        lost: outcome.lost,
        duplicates: outcome.duplicates,
    })
}
