//! CPU per delivery at moderate load: for each rate of `cpu_rates` (250 and 1,000 events/s),
//! single events offered to 1 webhook for `cpu_secs` (open loop), then the CPU time the stack
//! used from the first publish until the last delivery arrived, divided by the deliveries.
//!
//! "The stack" is the `hooklayer serve` process plus, on PostgreSQL, the server backends
//! connected to the scenario's database (see [`crate::cpu`]); the bench's own publisher and
//! receiver are not counted. A burst measures how fast deliveries can go; this measures what
//! each one costs when the service mostly waits for work — wake-ups, small transactions, polls.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::Result;

use super::{loss_figure, Bench, Instance};
use crate::cpu;
use crate::database::Backend;
use crate::publish;
use crate::report::Figure;

/// Requests in flight the open-loop publisher allows (as in the latency run).
const MAX_OUTSTANDING: usize = 256;

/// CPU seconds so far of hooklayer and of its PostgreSQL backends.
struct CpuSample {
    hooklayer: Option<f64>,
    backends: HashMap<u32, f64>,
}

async fn sample(instance: &Instance, backend: &Backend) -> CpuSample {
    let backends = match backend {
        Backend::Postgres(_) => cpu::postgres_backends(instance.database_url()).await,
        Backend::Sqlite => HashMap::new(),
    };
    CpuSample {
        hooklayer: instance.server.cpu_secs(),
        backends,
    }
}

/// The bound on the whole stack's CPU per delivery (ms) at `rate`, where it sets one.
fn target_ms(rate: u64) -> Option<f64> {
    match rate {
        250 => Some(1.0),
        1000 => Some(0.5),
        _ => None,
    }
}

pub async fn run(bench: &mut Bench, backend: &Backend) -> Result<()> {
    for rate in bench.settings.cpu_rates.clone() {
        run_rate(bench, backend, rate).await?;
    }
    Ok(())
}

async fn run_rate(bench: &mut Bench, backend: &Backend, rate: u64) -> Result<()> {
    let settings = bench.settings.clone();
    let instance = bench.launch(backend, "cpu").await?;
    let hook = 0;
    instance
        .api
        .add_webhooks(&[bench.receiver.hook_url(hook)])
        .await?;
    let duration = Duration::from_secs(settings.cpu_secs);
    eprintln!("  {rate} events/s for {duration:?} to 1 webhook, CPU time counted");

    let before = sample(&instance, backend).await;
    let published = publish::open_loop(&instance.api, rate, duration, MAX_OUTSTANDING).await?;
    let (tracker, _) = bench.await_deliveries(&[hook], &published.ids).await;
    let after = sample(&instance, backend).await;
    let peak = bench.finish(instance).await;
    let outcome = tracker.outcome(&published.ids);

    let hooklayer_secs = after.hooklayer.zip(before.hooklayer).map(|(a, b)| a - b);
    let postgres_secs = matches!(backend, Backend::Postgres(_))
        .then(|| cpu::backends_delta(&before.backends, &after.backends));
    let per_delivery_ms = |secs: f64| {
        if outcome.delivered > 0 {
            secs * 1e3 / outcome.delivered as f64
        } else {
            f64::NAN
        }
    };
    let hooklayer_ms = hooklayer_secs.map_or(f64::NAN, per_delivery_ms);
    let postgres_ms = postgres_secs.map(per_delivery_ms);
    let total_ms = hooklayer_ms + postgres_ms.unwrap_or(0.0);
    let shown = match postgres_ms {
        Some(pg) => format!("{total_ms:.3} ms (hooklayer {hooklayer_ms:.3} + PostgreSQL {pg:.3})"),
        None => format!("{total_ms:.3} ms"),
    };
    let label = format!("cpu ({rate}/s offered, 1 webhook)");
    let target = target_ms(rate).filter(|_| total_ms.is_finite());
    bench.report.push(
        Figure::new(&label, backend.name(), "CPU per delivery", total_ms, "ms")
            .shown(shown.clone())
            .target_if(
                target.is_some(),
                &format!("<= {} ms", target.unwrap_or(0.0)),
                target.is_some_and(|t| total_ms <= t),
            ),
    );
    bench
        .report
        .push(loss_figure(&label, backend, &outcome, true));
    bench.report.detail(
        "cpu",
        backend.name(),
        serde_json::json!({
            "offered_rate": rate, "secs": settings.cpu_secs,
            "hooklayer_cpu_secs": hooklayer_secs, "postgres_backends_cpu_secs": postgres_secs,
            "postgres_backends_seen": after.backends.len(),
            "cpu_ms_per_delivery": total_ms, "hooklayer_cpu_ms_per_delivery": hooklayer_ms,
            "postgres_cpu_ms_per_delivery": postgres_ms,
            "published": published, "outcome": outcome, "peak_rss_bytes": peak,
        }),
    );
    eprintln!("  cpu at {rate}/s: {shown} per delivery");
    Ok(())
}
