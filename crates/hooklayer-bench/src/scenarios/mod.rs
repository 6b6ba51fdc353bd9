//! The scenarios and what they share: the [`Bench`] context (receiver, clients, settings, report)
//! and an [`Instance`] — a fresh database, a fresh `hooklayer serve` and an app — per scenario,
//! so each one's peak RSS (`VmHWM`) is its own and none inherits another's queue.

mod backlog;
mod claim_delay;
mod cpu;
mod ingest;
mod latency;
mod ordered;
mod raw;
mod scaleout;
mod slow;
mod state;
mod throughput;
mod ui;
mod ui_seed;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, Result};
use clap::ValueEnum;
use serde::Serialize;

use crate::api::Api;
use crate::arrivals::Tracker;
use crate::database::{Backend, Databases, FreshDb};
use crate::hooklayer::{self, Hooklayer, Launch};
use crate::receiver::Receiver;
use crate::report::{mib, Figure, Report};

/// A benchmark scenario; they always run in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scenario {
    /// Raw capacity: the bench's own client → receiver, same TLS, body size and concurrency.
    Raw,
    /// Ingest: events/s accepted, single events and batches of 100.
    Ingest,
    /// End-to-end throughput to 1 webhook.
    E2e,
    /// End-to-end throughput to 1 webhook from single-event publishes (how most apps publish).
    E2eSingle,
    /// End-to-end throughput with fan-out to 10 webhooks.
    Fanout,
    /// Publish→arrival latency at a fixed offered rate.
    Latency,
    /// Latency of healthy webhooks next to a failing and a hanging one.
    Isolation,
    /// Throughput and latency of 10 ordered webhooks (one attempt at a time each).
    Ordered,
    /// CPU time per delivery at moderate offered rates.
    Cpu,
    /// Many webhooks whose receivers take 50–200 ms to answer.
    Slow,
    /// PostgreSQL only: 1 api + 2 worker processes against 1 `all` process.
    Scaleout,
    /// Memory with a large queue for a receiver that is down.
    Backlog,
    /// Restart, memory and latency with many webhooks and a large pending backlog.
    State,
    /// Dashboard page time with many webhooks and a large delivery log.
    Ui,
}

impl Scenario {
    pub fn name(self) -> &'static str {
        match self {
            Self::Raw => "raw",
            Self::Ingest => "ingest",
            Self::E2e => "e2e",
            Self::E2eSingle => "e2e-single",
            Self::Fanout => "fanout",
            Self::Latency => "latency",
            Self::Isolation => "isolation",
            Self::Ordered => "ordered",
            Self::Cpu => "cpu",
            Self::Slow => "slow",
            Self::Scaleout => "scaleout",
            Self::Backlog => "backlog",
            Self::State => "state",
            Self::Ui => "ui",
        }
    }
}

/// Resolved counts and rates (after `--quick`).
#[derive(Debug, Clone, Serialize)]
pub struct Settings {
    /// Events of the throughput runs (and requests of the raw-capacity run, at least 10,000).
    pub events: u64,
    /// Single events of the ingest run.
    pub ingest_single_events: u64,
    /// Raw-capacity connections and closed-loop single-event publishers; defaults to
    /// hooklayer's `HOOKLAYER_MAX_IN_FLIGHT_PER_WEBHOOK` (16), so the raw client may use exactly
    /// as many parallel connections as hooklayer uses for one webhook.
    pub concurrency: usize,
    /// Concurrent publishers of batches (each batch is 100 events).
    pub batch_publishers: usize,
    pub latency_rate: u64,
    pub latency_secs: u64,
    /// Offered events/s of the isolation run (10 webhooks each, so ×10 deliveries/s).
    pub isolation_rate: u64,
    pub backlog: u64,
    /// How long the backlog run keeps sampling memory after publishing.
    pub backlog_settle_secs: u64,
    /// Bound on publishing and on waiting for deliveries, per phase.
    pub drain_limit_secs: u64,
    /// Give up waiting when nothing arrived for this long (covers hooklayer's 10 s + 30 s retries).
    pub stall_secs: u64,
    /// Concurrent single-event publishers of the `e2e-single` run.
    pub single_publishers: usize,
    /// Offered events/s of the `cpu` run, one phase each.
    pub cpu_rates: Vec<u64>,
    /// Seconds of each `cpu` phase.
    pub cpu_secs: u64,
    /// Webhooks, offered deliveries/s (all webhooks together) and seconds of the `slow` run.
    pub slow_webhooks: u32,
    pub slow_rate: u64,
    pub slow_secs: u64,
    /// `HOOKLAYER_SQLITE_SYNC` given to every SQLite `serve` (`None`: hooklayer's default).
    pub sqlite_sync: Option<String>,
    pub quick: bool,
    /// One idle listener stream is open during the throughput runs.
    pub idle_listener: bool,
    /// Apps, webhooks per app and queued deliveries of the state run.
    pub state_apps: u64,
    pub state_webhooks_per_app: u64,
    pub state_deliveries: u64,
    /// Webhooks (one app), deliveries in the log, and requests per page of the ui run.
    pub ui_webhooks: u64,
    pub ui_deliveries: u64,
    pub ui_requests: u64,
}

impl Settings {
    pub fn drain_limit(&self) -> Duration {
        Duration::from_secs(self.drain_limit_secs)
    }
    pub fn stall(&self) -> Duration {
        Duration::from_secs(self.stall_secs)
    }
}

/// Everything the scenarios share for a whole run.
pub struct Bench {
    pub settings: Settings,
    /// The hooklayer binary; `None` when only the raw-capacity run was asked for.
    pub bin: Option<PathBuf>,
    /// Plain-HTTP client for hooklayer's API (publishing included): keep-alive, HTTP/1.1.
    pub http: reqwest::Client,
    /// TLS client config trusting the bench CA (the raw-capacity client is built from it).
    pub tls_client: rustls::ClientConfig,
    /// The receiver's TLS config, for the extra receiver of the backlog run.
    pub tls_server: Arc<rustls::ServerConfig>,
    pub receiver: Receiver,
    /// Temporary directory: CA file, SQLite files, hooklayer logs.
    pub dir: PathBuf,
    pub ca_file: PathBuf,
    pub databases: Arc<Databases>,
    /// Requests/s of the raw-capacity run, the denominator of the e2e ratios.
    pub raw_rps: Option<f64>,
    /// Latency p99 (ms) per backend, the reference of the isolation run.
    pub latency_p99: HashMap<&'static str, f64>,
    /// End-to-end deliveries/s (1 webhook, batches) per backend, the reference of the
    /// backlog's drain.
    pub e2e_dps: HashMap<&'static str, f64>,
    pub report: Report,
}

/// One scenario's hooklayer: fresh database, running `serve`, an app and a client for it.
pub struct Instance {
    pub server: Hooklayer,
    pub api: Api,
    db: FreshDb,
}

impl Instance {
    /// The `HOOKLAYER_DATABASE_URL` this instance runs on.
    pub fn database_url(&self) -> &str {
        &self.db.url
    }
}

impl Bench {
    /// Starts a fresh hooklayer on `backend` for the scenario `label` (killed if this fails).
    pub async fn launch(&self, backend: &Backend, label: &str) -> Result<Instance> {
        self.launch_as(backend, label, None).await
    }

    /// As [`Bench::launch`], with `serve` in `role` (`api`, `worker`; `None`: `all`).
    pub async fn launch_as(
        &self,
        backend: &Backend,
        label: &str,
        role: Option<&str>,
    ) -> Result<Instance> {
        self.launch_with(backend, label, role, None).await
    }

    /// As [`Bench::launch_as`], with `HOOKLAYER_RETRY_SCHEDULE` set to `retry_schedule`.
    pub async fn launch_with(
        &self,
        backend: &Backend,
        label: &str,
        role: Option<&str>,
        retry_schedule: Option<&str>,
    ) -> Result<Instance> {
        let bin = self.bin.as_deref().context("no hooklayer binary")?;
        let db = self.databases.fresh(backend, &self.dir, label).await?;
        let mut launch = self.launch_settings(bin, &db.url, backend, label);
        launch.role = role;
        launch.retry_schedule = retry_schedule;
        let server = Hooklayer::start(&launch, &self.http).await?;
        let app = match hooklayer::create_app(bin, &db.url).await {
            Ok(app) => app,
            Err(err) => return Err(err.context(server.log())),
        };
        let api = Api::new(self.http.clone(), &server.base_url, &app);
        Ok(Instance { server, api, db })
    }

    fn launch_settings<'a>(
        &'a self,
        bin: &'a std::path::Path,
        database_url: &'a str,
        backend: &Backend,
        label: &str,
    ) -> Launch<'a> {
        Launch {
            bin,
            database_url,
            ca_file: &self.ca_file,
            log_file: self
                .dir
                .join(format!("hooklayer-{label}-{}.log", backend.name())),
            sqlite_sync: self.settings.sqlite_sync.as_deref(),
            role: None,
            admin_token: None,
            retry_schedule: None,
        }
    }

    /// One more `serve` in `role` on `instance`'s database (e.g. a worker beside an api).
    pub async fn start_beside(
        &self,
        instance: &Instance,
        backend: &Backend,
        label: &str,
        role: &str,
    ) -> Result<Hooklayer> {
        let bin = self.bin.as_deref().context("no hooklayer binary")?;
        let mut launch = self.launch_settings(bin, instance.database_url(), backend, label);
        launch.role = Some(role);
        Hooklayer::start(&launch, &self.http).await
    }

    /// Waits (bounded by the drain limit and the stall time) until every event of `ids` arrived
    /// at every webhook of `hooks`; returns the tracker and whether all arrived.
    pub async fn await_deliveries(&self, hooks: &[u32], ids: &[u128]) -> (Tracker, bool) {
        let mut tracker = Tracker::new(hooks);
        let complete = tracker
            .wait_all(
                &self.receiver,
                ids,
                self.settings.drain_limit(),
                self.settings.stall(),
            )
            .await;
        (tracker, complete)
    }

    /// Stops the instance and drops its database; returns its peak RSS in bytes.
    pub async fn finish(&self, instance: Instance) -> Option<u64> {
        let peak = instance.server.stop().await;
        self.databases.release(instance.db).await;
        peak
    }

    /// The "peak RSS" row of a scenario.
    pub fn rss_figure(
        &self,
        scenario: &str,
        backend: &Backend,
        peak: Option<u64>,
        limit_mib: Option<f64>,
    ) -> Figure {
        let value = peak.map_or(f64::NAN, mib);
        let figure = Figure::new(scenario, backend.name(), "hooklayer peak RSS", value, "MiB");
        match limit_mib {
            Some(limit) if peak.is_some() => figure.target_if(
                *backend == Backend::Sqlite,
                &format!("<= {limit} MiB"),
                value <= limit,
            ),
            _ => figure,
        }
    }

    /// Runs one scenario on one backend (`Raw` ignores the backend), recording a failure in the
    /// report instead of ending the run.
    pub async fn run(&mut self, scenario: Scenario, backend: &Backend) {
        self.receiver.reset();
        let result = match scenario {
            Scenario::Raw => raw::run(self).await,
            Scenario::Ingest => ingest::run(self, backend).await,
            Scenario::E2e => throughput::run(self, backend, throughput::Shape::BATCHES).await,
            Scenario::E2eSingle => {
                let shape = throughput::Shape::single_events(self.settings.single_publishers);
                throughput::run(self, backend, shape).await
            }
            Scenario::Fanout => throughput::run(self, backend, throughput::Shape::FANOUT).await,
            Scenario::Latency => latency::run_latency(self, backend).await,
            Scenario::Isolation => latency::run_isolation(self, backend).await,
            Scenario::Ordered => ordered::run(self, backend).await,
            Scenario::Cpu => cpu::run(self, backend).await,
            Scenario::Slow => slow::run(self, backend).await,
            Scenario::Scaleout => scaleout::run(self, backend).await,
            Scenario::Backlog => backlog::run(self, backend).await,
            Scenario::State => state::run(self, backend).await,
            Scenario::Ui => ui::run(self, backend).await,
        };
        if let Err(err) = result {
            let backend_name = if scenario == Scenario::Raw {
                "-"
            } else {
                backend.name()
            };
            eprintln!("  {} ({backend_name}) failed: {err:#}", scenario.name());
            self.report.error(scenario.name(), backend_name, &err);
        }
        self.receiver.reset();
    }
}

/// Whether the targets apply: they are stated for SQLite.
pub fn targets_apply(backend: &Backend) -> bool {
    *backend == Backend::Sqlite
}

/// The "lost / duplicates" row shared by the delivery scenarios.
pub fn loss_figure(
    scenario: &str,
    backend: &Backend,
    outcome: &crate::arrivals::Outcome,
    with_target: bool,
) -> Figure {
    Figure::new(
        scenario,
        backend.name(),
        "lost / duplicate",
        outcome.lost as f64,
        "lost",
    )
    .shown(format!(
        "{} lost / {} dup of {}",
        outcome.lost, outcome.duplicates, outcome.expected
    ))
    .target_if(with_target, "0 lost", outcome.lost == 0)
}
