//! # hooklayer-bench
//!
//! Measures hooklayer on the machine at hand, as a ratio to what that machine can physically do
//! in the same run. It starts the real `hooklayer` binary as a subprocess (SQLite, and Postgres
//! with `--postgres-url`), runs its own HTTPS receiver (hyper + rustls, CA generated at start),
//! drives hooklayer only through its public CLI and HTTP API, and prints one markdown table
//! (also written, with every measurement, as JSON). See `docs/BENCHMARKS.md`.
//!
//! # Layout
//!
//! - [`clock`]: the monotonic clock shared by publishers and receiver (latency).
//! - [`tls`]: the generated CA and leaf; rustls configs for receiver and clients.
//! - [`receiver`]: the HTTPS receiver; records every accepted delivery.
//! - [`arrivals`]: matches arrivals to publishes: lost, duplicate, latency percentiles.
//! - [`events`]: request bodies (events, batches, delivery-shaped raw bodies).
//! - [`hooklayer`]: the subprocess: locate/build, `serve`, `apps create`, peak RSS.
//! - [`database`]: a fresh SQLite file or Postgres database per scenario.
//! - [`api`]: webhooks and events through hooklayer's HTTP API.
//! - [`publish`]: closed-loop (throughput) and open-loop (fixed rate) publishers.
//! - [`cpu`]: CPU time of hooklayer and of its PostgreSQL backends, from `/proc`.
//! - [`scenarios`]: the measurements and their shared context.
//! - [`report`]: the table and the JSON file.

mod api;
mod arrivals;
mod clock;
mod cpu;
mod database;
mod events;
mod hooklayer;
mod publish;
mod receiver;
mod report;
mod scenarios;
mod tls;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, Result};
use clap::Parser;

use crate::database::{Backend, Databases};
use crate::receiver::Receiver;
use crate::scenarios::{Bench, Scenario, Settings};

/// Benchmark hooklayer against this machine's raw HTTPS capacity.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Scenarios to run, comma-separated [default: all]. `e2e`, `e2e-single` and `fanout` also
    /// run `raw` (their denominator).
    #[arg(long, value_enum, value_delimiter = ',')]
    scenarios: Option<Vec<Scenario>>,
    /// Events of the throughput runs and requests of the raw run (at least 10000)
    /// [default: 50000; quick: 2000].
    #[arg(long)]
    events: Option<u64>,
    /// The hooklayer binary [default: `hooklayer` next to this executable, built with
    /// `cargo build --release -p hooklayer-server` if missing].
    #[arg(long)]
    hooklayer_bin: Option<PathBuf>,
    /// Also run every scenario on Postgres; a fresh database is created (and dropped) on this
    /// server for each scenario, so the role needs CREATEDB.
    #[arg(long, env = "HOOKLAYER_BENCH_POSTGRES_URL")]
    postgres_url: Option<String>,
    /// Where to write the JSON figures (the markdown table goes next to it, as `.md`).
    #[arg(long, default_value = "bench-results/latest.json")]
    out: PathBuf,
    /// Small counts and short phases: a smoke run of a minute or so.
    #[arg(long)]
    quick: bool,
    /// Raw-capacity connections and single-event publishers; default = hooklayer's default
    /// HOOKLAYER_MAX_IN_FLIGHT_PER_WEBHOOK.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Concurrent publishers of 100-event batches.
    #[arg(long, default_value_t = 4)]
    batch_publishers: usize,
    /// Offered events/s of the latency run.
    #[arg(long, default_value_t = 1000)]
    latency_rate: u64,
    /// Seconds of the latency and isolation runs [default: 20; quick: 3].
    #[arg(long)]
    latency_secs: Option<u64>,
    /// Offered events/s of the isolation run (to 10 webhooks) [default: latency rate / 10].
    #[arg(long)]
    isolation_rate: Option<u64>,
    /// Deliveries queued in the backlog run [default: 100000; quick: 5000].
    #[arg(long)]
    backlog: Option<u64>,
    /// Hold one idle listener stream open on the app during the e2e and fanout runs (its
    /// cost on durable delivery; see docs/BENCHMARKS.md).
    #[arg(long)]
    idle_listener: bool,
    /// Single-event publishes in flight in the `e2e-single` run.
    #[arg(long, default_value_t = 64)]
    single_publishers: usize,
    /// Offered events/s of the `cpu` run, one phase per rate.
    #[arg(long, value_delimiter = ',', default_values_t = [250, 1000])]
    cpu_rates: Vec<u64>,
    /// Seconds of each `cpu` phase [default: 10; quick: 3].
    #[arg(long)]
    cpu_secs: Option<u64>,
    /// Webhooks of the `slow` run (each answers after 50–200 ms).
    #[arg(long, default_value_t = 100)]
    slow_webhooks: u32,
    /// Offered deliveries/s of the `slow` run, all webhooks together [default: 5000; quick: 500].
    #[arg(long)]
    slow_rate: Option<u64>,
    /// Seconds of the `slow` run [default: 30; quick: 3].
    #[arg(long)]
    slow_secs: Option<u64>,
    /// `HOOKLAYER_SQLITE_SYNC` for every SQLite run (hooklayer's default is `full`); the table
    /// then names the backend `sqlite (sync=normal)`.
    #[arg(long, value_parser = ["full", "normal"])]
    sqlite_sync: Option<String>,
    /// Apps of the state run [default: 10; full size 100].
    #[arg(long, default_value_t = 10)]
    state_apps: u64,
    /// Webhooks per app of the state run [default: 10; full size 100].
    #[arg(long, default_value_t = 10)]
    state_webhooks_per_app: u64,
    /// Deliveries queued in the state run [default: 10000; full size 1000000].
    #[arg(long, default_value_t = 10_000)]
    state_deliveries: u64,
    /// Webhooks (all in one app) of the ui run.
    #[arg(long, default_value_t = 100)]
    ui_webhooks: u64,
    /// Deliveries in the log of the ui run [default: 1000000; quick 20000].
    #[arg(long)]
    ui_deliveries: Option<u64>,
    /// Requests per dashboard page in the ui run [default: 100; quick 10].
    #[arg(long)]
    ui_requests: Option<u64>,
    /// Upper bound, in seconds, on each publishing phase and each wait for deliveries.
    #[arg(long, default_value_t = 300)]
    drain_timeout: u64,
}

impl Args {
    fn settings(&self) -> Settings {
        let pick = |explicit: Option<u64>, full: u64, quick: u64| {
            explicit.unwrap_or(if self.quick { quick } else { full })
        };
        let events = pick(self.events, 50_000, 2_000);
        Settings {
            events,
            ingest_single_events: (events / 5).max(100),
            concurrency: self.concurrency.max(1),
            batch_publishers: self.batch_publishers.max(1),
            latency_rate: self.latency_rate.max(1),
            latency_secs: pick(self.latency_secs, 20, 3),
            isolation_rate: self.isolation_rate.unwrap_or(self.latency_rate / 10).max(1),
            backlog: pick(self.backlog, 100_000, 5_000),
            backlog_settle_secs: if self.quick { 2 } else { 12 },
            drain_limit_secs: self.drain_timeout.max(1),
            stall_secs: 35,
            single_publishers: self.single_publishers.max(1),
            cpu_rates: self.cpu_rates.iter().copied().filter(|r| *r > 0).collect(),
            cpu_secs: pick(self.cpu_secs, 10, 3).max(1),
            slow_webhooks: self.slow_webhooks.max(1),
            slow_rate: pick(self.slow_rate, 5000, 500).max(1),
            slow_secs: pick(self.slow_secs, 30, 3).max(1),
            sqlite_sync: self.sqlite_sync.clone(),
            quick: self.quick,
            idle_listener: self.idle_listener,
            state_apps: self.state_apps,
            state_webhooks_per_app: self.state_webhooks_per_app,
            state_deliveries: self.state_deliveries,
            ui_webhooks: self.ui_webhooks,
            ui_deliveries: pick(self.ui_deliveries, 1_000_000, 20_000),
            ui_requests: pick(self.ui_requests, 100, 10),
        }
    }

    /// The selected scenarios, deduplicated, in canonical order.
    fn scenarios(&self) -> Vec<Scenario> {
        let mut list = self.scenarios.clone().unwrap_or_else(|| {
            vec![
                Scenario::Raw,
                Scenario::Ingest,
                Scenario::E2e,
                Scenario::E2eSingle,
                Scenario::Fanout,
                Scenario::Latency,
                Scenario::Isolation,
                Scenario::Ordered,
                Scenario::Cpu,
                Scenario::Slow,
                Scenario::Scaleout,
                Scenario::Backlog,
                Scenario::State,
                Scenario::Ui,
            ]
        });
        if list
            .iter()
            .any(|s| matches!(s, Scenario::E2e | Scenario::E2eSingle | Scenario::Fanout))
        {
            list.push(Scenario::Raw);
        }
        list.sort();
        list.dedup();
        list
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    clock::now_ns();
    // reqwest may consult the process-wide rustls provider; make it ring, like everything else.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let databases = Arc::new(Databases::default());
    // Ctrl-C drops the run future: every hooklayer child is killed on drop; the Postgres
    // databases are dropped below either way.
    let result = tokio::select! {
        result = run(&args, Arc::clone(&databases)) => result,
        _ = tokio::signal::ctrl_c() => Err(anyhow::anyhow!("interrupted")),
    };
    databases.release_all().await;
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(err) => {
            eprintln!("hooklayer-bench: {err:#}");
            ExitCode::from(2)
        }
    }
}

/// The whole run; `Ok(false)` when a scenario failed (the report says which).
async fn run(args: &Args, databases: Arc<Databases>) -> Result<bool> {
    let settings = args.settings();
    let scenarios = args.scenarios();
    // The raw-capacity run alone needs no hooklayer (useful to check the machine and the bench).
    let bin = if scenarios.iter().any(|s| *s != Scenario::Raw) {
        Some(hooklayer::locate(args.hooklayer_bin.as_deref())?)
    } else {
        None
    };
    let version = match &bin {
        Some(bin) => hooklayer::version(bin).await,
        None => None,
    };
    let pki = tls::generate()?;
    let dir = tempfile::Builder::new()
        .prefix("hooklayer-bench-")
        .tempdir()
        .context("creating a temporary directory")?;
    let ca_file = dir.path().join("bench-ca.pem");
    std::fs::write(&ca_file, &pki.ca_pem).context("writing the CA file")?;
    let receiver = Receiver::start(Arc::clone(&pki.server)).await?;
    let http = reqwest::Client::builder()
        .tls_backend_preconfigured(pki.client.clone())
        .http1_only()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .context("building the API client")?;

    let mut report = report::Report {
        machine: report::machine(),
        ..report::Report::default()
    };
    let started_unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    report.settings = serde_json::json!({
        "started_at_unix": started_unix,
        "settings": settings, "hooklayer_bin": bin, "hooklayer_version": version,
        "postgres": args.postgres_url.is_some(),
    });
    let under_test = match &bin {
        Some(bin) => format!(
            "{} ({})",
            bin.display(),
            version.as_deref().unwrap_or("version unknown")
        ),
        None => "no hooklayer needed".to_owned(),
    };
    eprintln!(
        "hooklayer-bench: {under_test}, {} CPUs, logs in {}",
        report.machine["cpus"],
        dir.path().display()
    );

    let mut bench = Bench {
        settings,
        bin,
        http,
        tls_client: pki.client,
        tls_server: pki.server,
        receiver,
        dir: dir.path().to_path_buf(),
        ca_file,
        databases,
        raw_rps: None,
        latency_p99: Default::default(),
        e2e_dps: Default::default(),
        report,
    };
    let mut backends = vec![Backend::Sqlite];
    backends.extend(args.postgres_url.clone().map(Backend::Postgres));
    if scenarios.contains(&Scenario::Raw) {
        eprintln!("== raw");
        bench.run(Scenario::Raw, &Backend::Sqlite).await;
    }
    for backend in &backends {
        for &scenario in scenarios.iter().filter(|s| **s != Scenario::Raw) {
            eprintln!("== {} on {}", scenario.name(), backend.name());
            bench.run(scenario, backend).await;
        }
    }

    if let Some(sync) = &args.sqlite_sync {
        bench
            .report
            .rename_backend("sqlite", &format!("sqlite (sync={sync})"));
    }
    println!("{}", bench.report.markdown());
    bench.report.write(&args.out)?;
    eprintln!("figures written to {}", args.out.display());
    // Keep the logs of a failed run for inspection.
    if !bench.report.errors.is_empty() || std::env::var_os("HOOKLAYER_BENCH_KEEP_LOGS").is_some() {
        let kept = dir.keep();
        eprintln!("hooklayer logs kept in {}", kept.display());
    }
    Ok(bench.report.errors.is_empty())
}
