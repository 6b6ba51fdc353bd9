//! Scale-out on PostgreSQL: the same load — `events` events in batches of 100 to 1 webhook — once
//! on 1 `serve` (role `all`), once on 1 `serve --role api` with 2 `serve --role worker` beside it
//! on the same database. Reported: deliveries/s of each and their ratio, lost and duplicate
//! deliveries of the split setup. Several workers claim from one queue: this shows whether
//! they add throughput or only contend, and that no delivery is lost or sent twice (nothing is
//! killed here, so any duplicate is a claim race). SQLite is one process by design: skipped.

use anyhow::Result;

use super::{loss_figure, Bench, Instance};
use crate::arrivals::Outcome;
use crate::database::Backend;
use crate::hooklayer::Hooklayer;
use crate::publish;
use crate::report::{human, Figure};

/// Worker processes beside the api process.
const WORKERS: usize = 2;

pub async fn run(bench: &mut Bench, backend: &Backend) -> Result<()> {
    if *backend == Backend::Sqlite {
        eprintln!("  scaleout runs on PostgreSQL only (SQLite is one process)");
        return Ok(());
    }
    let single = bench.launch(backend, "scaleout_all").await?;
    let (single_dps, _) = load(bench, single, Vec::new()).await?;

    let api = bench
        .launch_as(backend, "scaleout_api", Some("api"))
        .await?;
    let mut workers = Vec::with_capacity(WORKERS);
    for n in 0..WORKERS {
        let label = format!("scaleout_worker{n}");
        workers.push(bench.start_beside(&api, backend, &label, "worker").await?);
    }
    let (split_dps, outcome) = load(bench, api, workers).await?;

    let ratio = if single_dps > 0.0 {
        split_dps / single_dps
    } else {
        f64::NAN
    };
    let label = format!(
        "scaleout ({} events, 1 webhook, 1 api + {WORKERS} workers vs 1 all)",
        human(bench.settings.events as f64)
    );
    bench.report.push(
        Figure::new(&label, backend.name(), "deliveries/s", split_dps, "/s")
            .shown(format!(
                "{} /s vs {} /s in one process ({ratio:.2}×)",
                human(split_dps),
                human(single_dps)
            ))
            .target(">= the single process's", ratio >= 1.0),
    );
    bench
        .report
        .push(loss_figure(&label, backend, &outcome, true).target(
            "0 lost, 0 duplicates (nothing killed)",
            outcome.lost == 0 && outcome.duplicates == 0,
        ));
    bench.report.detail(
        "scaleout",
        backend.name(),
        serde_json::json!({
            "workers": WORKERS, "single_process_dps": single_dps, "split_dps": split_dps,
            "ratio": ratio, "split_outcome": outcome,
        }),
    );
    eprintln!(
        "  scaleout: {} /s split vs {} /s single ({ratio:.2}×), {} lost, {} dup",
        human(split_dps),
        human(single_dps),
        outcome.lost,
        outcome.duplicates
    );
    Ok(())
}

/// Publishes the load through `instance` (whose database `workers` share), waits for every
/// delivery, stops the workers and then the instance (its database is dropped last); returns
/// deliveries/s and the outcome.
async fn load(
    bench: &Bench,
    instance: Instance,
    workers: Vec<Hooklayer>,
) -> Result<(f64, Outcome)> {
    let settings = &bench.settings;
    let hook = 0;
    instance
        .api
        .add_webhooks(&[bench.receiver.hook_url(hook)])
        .await?;
    eprintln!(
        "  {} events in batches of 100, {} worker process(es) beside the one publishing",
        settings.events,
        workers.len()
    );
    let published = publish::closed_loop(
        &instance.api,
        settings.events,
        super::ingest::BATCH,
        settings.batch_publishers,
        settings.drain_limit(),
    )
    .await?;
    let (tracker, _) = bench.await_deliveries(&[hook], &published.ids).await;
    for worker in workers {
        worker.stop().await;
    }
    bench.finish(instance).await;
    let outcome = tracker.outcome(&published.ids);
    bench.receiver.reset();
    let (_, dps) = outcome.rate_since(published.started_ns);
    Ok((dps, outcome))
}
