//! Scale of state: many apps and webhooks with a large pending backlog, then a restart on that
//! database — start-up time, peak memory and the claim latency of a healthy webhook beside it.
//!
//! 1. `serve` runs on a fresh database; `state_apps` apps are created (CLI) with
//!    `state_webhooks_per_app` webhooks each, all verified by a second receiver, which is then
//!    shut down, so every delivery attempt to them is refused and the backlog stays.
//! 2. Events are published to every app in batches of 100 until `state_deliveries` deliveries are
//!    queued (events per app × webhooks per app × apps).
//! 3. `serve` is stopped and started again on the same database; measured: spawn → `/readyz`
//!    `200`, then publish→arrival latency of one extra healthy webhook (its own app) while the
//!    backlog is pending and being retried, and the peak RSS of the restarted process.
//!
//! The backlog is kept by a receiver that is down rather than by an `api`-only process: the bench
//! starts `serve` with its own fixed settings, and refused attempts are the harder case anyway
//! (workers keep claiming and rescheduling backlog rows while the healthy webhook is measured).

use std::time::{Duration, Instant};

use anyhow::{ensure, Context as _, Result};

use super::latency::spread;
use super::{claim_delay, loss_figure, targets_apply, Bench};
use crate::api::Api;
use crate::arrivals::Tracker;
use crate::database::Backend;
use crate::hooklayer::{self, Hooklayer};
use crate::publish;
use crate::receiver::Receiver;
use crate::report::{human, Figure};

/// Apps registering their webhooks at the same time (verification runs beside it).
const PARALLEL_APPS: usize = 4;
/// Offered single events/s to the healthy webhook while the backlog is pending.
const PROBE_RATE: u64 = 50;
/// How long the restarted process may take to answer `/readyz` `200`.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

pub async fn run(bench: &mut Bench, backend: &Backend) -> Result<()> {
    let settings = bench.settings.clone();
    let (apps, per_app) = (
        settings.state_apps.max(1),
        settings.state_webhooks_per_app.max(1),
    );
    let events_per_app = settings.state_deliveries.div_ceil(apps * per_app).max(1);
    let bin = bench.bin.clone().context("no hooklayer binary")?;
    let db = bench.databases.fresh(backend, &bench.dir, "state").await?;
    let launch =
        |phase: &str| bench.launch_settings(&bin, &db.url, backend, &format!("state-{phase}"));

    // 1–2: the state, built through the API of a first process.
    let first = Hooklayer::start(&launch("build"), &bench.http).await?;
    let down = Receiver::start(bench.tls_server.clone()).await?;
    eprintln!(
        "  {apps} apps × {per_app} webhooks, {events_per_app} events per app ({} deliveries)",
        human((apps * per_app * events_per_app) as f64)
    );
    let started = Instant::now();
    let mut clients = Vec::with_capacity(apps as usize);
    for _ in 0..apps {
        let app = hooklayer::create_app(&bin, &db.url).await?;
        clients.push(Api::new(bench.http.clone(), &first.base_url, &app));
    }
    for (chunk_no, chunk) in clients.chunks(PARALLEL_APPS).enumerate() {
        let mut tasks = Vec::with_capacity(chunk.len());
        for (i, api) in chunk.iter().enumerate() {
            let app_no = (chunk_no * PARALLEL_APPS + i) as u64;
            let urls: Vec<String> = (0..per_app)
                .map(|h| down.hook_url((app_no * per_app + h) as u32))
                .collect();
            let api = api.clone();
            tasks.push(tokio::spawn(async move { api.add_webhooks(&urls).await }));
        }
        for task in tasks {
            task.await?.map_err(|err| err.context(first.log()))?;
        }
    }
    let registered_secs = started.elapsed().as_secs_f64();
    down.shutdown().await;
    let started = Instant::now();
    let mut queued = 0u64;
    for api in &clients {
        let published = publish::closed_loop(
            api,
            events_per_app,
            super::ingest::BATCH,
            settings.batch_publishers,
            settings.drain_limit(),
        )
        .await?;
        ensure!(
            published.accepted == events_per_app,
            "backlog publish: {} of {events_per_app} accepted ({:?})",
            published.accepted,
            published.first_error
        );
        queued += published.accepted * per_app;
    }
    let publish_secs = started.elapsed().as_secs_f64();
    first.stop().await;

    // 3: restart on that state and measure.
    let spawned = Instant::now();
    let server = Hooklayer::start(&launch("restart"), &bench.http).await?;
    wait_ready(&bench.http, &server).await?;
    let ready_secs = spawned.elapsed().as_secs_f64();
    let probe_app = hooklayer::create_app(&bin, &db.url).await?;
    let probe = Api::new(bench.http.clone(), &server.base_url, &probe_app);
    let pending = probe.queue_depth("pending").await;
    let probe_hook = probe.add_webhooks(&[bench.receiver.hook_url(0)]).await?;
    let duration = Duration::from_secs(settings.latency_secs);
    eprintln!("  restarted in {ready_secs:.2} s; probing {PROBE_RATE} events/s for {duration:?}");
    let published = publish::open_loop(&probe, PROBE_RATE, duration, 64).await?;
    let mut tracker = Tracker::new(&[0]);
    tracker
        .wait_all(
            &bench.receiver,
            &published.ids,
            settings.drain_limit(),
            settings.stall(),
        )
        .await;
    let outcome = tracker.outcome(&published.ids);
    let peak = server.stop().await;
    let delays = match probe_hook.first() {
        Some(hook) => claim_delay::first_attempt_delays(&db.url, hook).await?,
        None => Vec::new(),
    };
    bench.databases.release(db).await;
    let (claim_p50, claim_p99) = (
        claim_delay::quantile(&delays, 0.5),
        claim_delay::quantile(&delays, 0.99),
    );

    let label = format!(
        "state ({} webhooks / {} apps, {} queued)",
        apps * per_app,
        apps,
        human(queued as f64)
    );
    let name = backend.name();
    let p99 = outcome.latency.map_or(f64::NAN, |l| l.p99_ms);
    bench.report.push(
        Figure::new(&label, name, "restart → /readyz 200", ready_secs, "s")
            .shown(format!("{ready_secs:.2} s"))
            .target_if(targets_apply(backend), "<= 1 s", ready_secs <= 1.0),
    );
    bench.report.push(
        Figure::new(
            &label,
            name,
            "healthy publish → arrival p50 / p90 / p99 / max",
            p99,
            "ms p99",
        )
        .shown(format!("{} at {PROBE_RATE}/s", spread(&outcome))),
    );
    bench.report.push(
        Figure::new(
            &label,
            name,
            "healthy claim latency (queued → attempt started) p50 / p99",
            claim_p99,
            "ms p99",
        )
        .shown(format!(
            "{claim_p50:.0} / {claim_p99:.0} ms of {} deliveries",
            delays.len()
        ))
        .target_if(targets_apply(backend), "p99 <= 20 ms", claim_p99 <= 20.0),
    );
    bench
        .report
        .push(loss_figure(&label, backend, &outcome, true));
    let rss = bench.rss_figure(&label, backend, peak, Some(200.0));
    bench.report.push(rss);
    bench.report.detail(
        "state",
        name,
        serde_json::json!({
            "apps": apps, "webhooks_per_app": per_app, "events_per_app": events_per_app,
            "deliveries_queued": queued, "register_secs": registered_secs,
            "backlog_publish_secs": publish_secs, "restart_ready_secs": ready_secs,
            "queue_depth_pending_after_restart": pending, "probe_rate": PROBE_RATE,
            "probe": published, "probe_outcome": outcome, "peak_rss_bytes": peak,
            "claim_latency_p50_ms": claim_p50, "claim_latency_p99_ms": claim_p99,
        }),
    );
    eprintln!(
        "  state: registered in {registered_secs:.1} s, {queued} queued in {publish_secs:.1} s, \
         ready {ready_secs:.2} s, pending {}, healthy {}, claim p50/p99 {claim_p50:.0}/{claim_p99:.0} ms, peak RSS {}",
        pending.map_or_else(|| "n/a".to_owned(), human),
        spread(&outcome),
        peak.map_or_else(
            || "n/a".to_owned(),
            |b| format!("{:.1} MiB", crate::report::mib(b))
        )
    );
    Ok(())
}

/// Polls `/readyz` (bounded) until it answers `200`.
async fn wait_ready(http: &reqwest::Client, server: &Hooklayer) -> Result<()> {
    let url = format!("{}/readyz", server.base_url);
    let started = Instant::now();
    loop {
        let ready = http
            .get(&url)
            .send()
            .await
            .is_ok_and(|r| r.status() == reqwest::StatusCode::OK);
        if ready {
            return Ok(());
        }
        ensure!(
            started.elapsed() < READY_TIMEOUT,
            "/readyz not 200 within {READY_TIMEOUT:?}\n{}",
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
