//! Building and running one hooklayer process: `App::build(config)` opens the store and the
//! outbound client; `App::run(listener, shutdown)` serves HTTP and runs the workers of the
//! configured role until `shutdown` resolves, then stops gracefully. Tests pass their own
//! listener (port 0) and shutdown future.

use crate::config::{Config, ConfigError};
use crate::outbound::{OutboundClient, OutboundConfig};
use crate::state::AppState;
use crate::worker;
use std::future::{Future, IntoFuture};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// How long stopping may wait for the database connections to close.
const STORE_CLOSE: Duration = Duration::from_secs(2);

/// A built process, ready to run.
pub struct App {
    state: Arc<AppState>,
    client: OutboundClient,
}

/// Why a process could not start: always a setting (reported with its env var, exit code 2).
pub type StartError = ConfigError;

impl App {
    /// Opens the database (creating and migrating it) and builds the outbound client.
    pub async fn build(config: Config) -> Result<Self, StartError> {
        let client = OutboundClient::new(&OutboundConfig {
            timeout: config.delivery_timeout,
            trusted_ca_pem: config.trusted_ca_pem.clone(),
            allow_http: config.allow_http_targets,
            addresses: config.address_policy(),
            // PERFORMANCE: many webhooks can share a host (one SaaS receiving for many
            // customers), so one host may see every attempt this process has in flight. Keeping
            // fewer idle connections than that closes connections as soon as they finish and
            // makes the next attempts pay a TCP and TLS handshake each: with 100 slow webhooks
            // on one host, handshakes took a third of the CPU and delivery fell to a third of
            // the offered rate. Idle connections still close after the pool's idle timeout.
            max_idle_per_host: crate::worker::delivery::MAX_CLAIMED,
        })
        .map_err(|e| ConfigError::new("HOOKLAYER_TRUSTED_CA", e.to_string()))?;
        let store = open_store(&config).await?;
        if config.allow_http_targets {
            tracing::warn!("HOOKLAYER_ALLOW_HTTP_TARGETS is on: deliveries may travel unencrypted (development only)");
        }
        Ok(Self {
            state: Arc::new(AppState::new(config, store)),
            client,
        })
    }

    /// The shared state (tests read the store and metrics through it).
    pub fn state(&self) -> &Arc<AppState> {
        &self.state
    }

    /// Serves until `shutdown` resolves, then stops accepting, lets in-flight attempts finish
    /// (at most 10 s), and returns. Queued work stays in the database.
    pub async fn run(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let token = CancellationToken::new();
        let role = self.state.config.role;
        let mut workers = tokio::task::JoinSet::new();
        if role.runs_workers() {
            workers.spawn(worker::delivery::run(
                self.state.clone(),
                self.client.clone(),
                token.clone(),
            ));
            workers.spawn(worker::verify::run(
                self.state.clone(),
                self.client.clone(),
                token.clone(),
            ));
            workers.spawn(worker::retention::run(self.state.clone(), token.clone()));
            workers.spawn(worker::queue_samples::run(
                self.state.clone(),
                token.clone(),
            ));
        }
        let router = crate::routes::router(self.state.clone())
            .layer(axum::middleware::from_fn(crate::telemetry::trace_request));
        let relay = role
            .runs_api()
            .then(|| self.state.listeners.take_relay())
            .flatten();
        if let Some((origin, outbox)) = relay {
            tokio::spawn(crate::listen::relay::run(
                self.state.store.clone(),
                self.state.listeners.hub.clone(),
                origin,
                outbox,
                token.clone(),
            ));
        }
        tracing::info!(listen = %listener.local_addr()?, role = ?role, "hooklayer serving");
        let stop = token.clone();
        let listeners = self.state.listeners.hub.clone();
        tokio::spawn(async move {
            shutdown.await;
            // Listener streams never end by themselves: close them first, so the graceful
            // shutdown below is not held by them.
            listeners.close_all();
            stop.cancel();
        });
        let serve_stop = token.clone();
        // The peer address feeds the dashboard's sign-in throttle.
        let serve = axum::serve(
            listener,
            router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .with_graceful_shutdown(async move { serve_stop.cancelled().await })
        .into_future();
        // Graceful shutdown waits for open connections; a client that never finishes its
        // request must not hold the process past the shutdown budget.
        let linger = async {
            token.cancelled().await;
            tokio::time::sleep(Duration::from_secs(10)).await;
        };
        tokio::select! {
            served = serve => served?,
            _ = linger => tracing::warn!("connections still open 10 s after shutdown began; closing them"),
        }
        token.cancel();
        let drained = tokio::time::timeout(Duration::from_secs(12), async {
            while workers.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            tracing::warn!(
                "workers did not stop in time; their leases expire and others take over"
            );
        }
        // Close the database before returning: SQLite checkpoints its WAL and every
        // connection ends cleanly, instead of being dropped while the runtime shuts down.
        // Bounded: a worker abandoned above may still hold a connection.
        if tokio::time::timeout(STORE_CLOSE, self.state.store.close())
            .await
            .is_err()
        {
            tracing::warn!("database connections still in use at exit; they are dropped");
        }
        tracing::info!("hooklayer stopped");
        Ok(())
    }
}

/// Opens the store, turning failures into a start error naming `HOOKLAYER_DATABASE_URL`.
pub async fn open_store(config: &Config) -> Result<Arc<dyn hooklayer_store::Store>, StartError> {
    let url = &config.database_url;
    hooklayer_store::connect_with(url, config.sqlite_sync)
        .await
        .map_err(|e| {
            ConfigError::new(
                "HOOKLAYER_DATABASE_URL",
                format!("cannot open {}: {e}", crate::config::redact_url(url)),
            )
        })
}
