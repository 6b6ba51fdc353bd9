//! # hooklayer-store
//!
//! Storage behind one trait, [`Store`], with one implementation per backend: SQLite (the
//! embedded default) and PostgreSQL (scale-out). [`connect`] picks the backend once from the
//! URL scheme. Both pass the same conformance suite (`tests/conformance.rs`).
//!
//! ## Layout
//! - [`model`]: the records the store reads and writes (apps, deliveries, attempts, pages).
//! - [`migrate`]: the embedded migration runner shared by both backends.
//! - [`sqlite`]: the SQLite implementation (WAL, one writer).
//! - [`postgres`]: the PostgreSQL implementation (`FOR UPDATE SKIP LOCKED`, `LISTEN/NOTIFY`).
//!
//! ## The queue
//! The delivery queue is the `deliveries` table. A pending delivery is *due* when its
//! `next_attempt_at` has passed. Claiming a delivery moves `next_attempt_at` to the end of the
//! lease, so a claim is invisible to other workers until the lease runs out; a worker that dies
//! simply lets it run out, and the delivery becomes due again (at-least-once).

pub mod handoff;
pub mod migrate;
pub mod model;
pub mod postgres;
mod rollup;
mod rows;
mod shaping;
pub mod sqlite;

use async_trait::async_trait;
use hooklayer_core::event::NewEvent;
use hooklayer_core::ids::{AppId, EventId, RequestId, WebhookId};
use hooklayer_core::time::Timestamp;
use hooklayer_core::webhook::{Webhook, WebhookStatus};
use hooklayer_core::webhook_change::{Applied, WebhookChange};
use std::sync::Arc;

pub use handoff::{Handoff, Ingested};
pub use model::*;

/// A storage failure. Never shown to API callers (they get an opaque 500).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("migration {version} failed: {source}")]
    Migration { version: i64, source: sqlx::Error },
    #[error("unsupported database URL (expected sqlite:// or postgres://)")]
    UnsupportedUrl,
}

pub type StoreResult<T> = Result<T, StoreError>;

/// The largest announcement [`Store::announce`] carries (PostgreSQL limits a notification's
/// payload to 8000 bytes).
pub const MAX_ANNOUNCEMENT: usize = 7900;

impl StoreError {
    /// Whether a write referred to a row that does not exist (a foreign key failed): an app
    /// or webhook deleted while the request was under way.
    pub fn is_foreign_key_violation(&self) -> bool {
        matches!(self, StoreError::Database(sqlx::Error::Database(db)) if db.is_foreign_key_violation())
    }

    /// Whether the database is out of reach or out of room rather than the request wrong:
    /// the connection is gone or refused, no connection came in time, the server is shutting
    /// down or starting, or the disk is full. Such a failure passes; callers answer "try
    /// again later" (the API's 503), not "our fault".
    pub fn is_unavailable(&self) -> bool {
        let StoreError::Database(err) = self else {
            return false;
        };
        match err {
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => true,
            // SQLite's single writer kept losing its transaction to failed commits (a full
            // disk; see `sqlite::begin_write`).
            sqlx::Error::InvalidSavePointStatement => true,
            sqlx::Error::Database(db) => db.code().is_some_and(|code| unavailable_code(&code)),
            _ => false,
        }
    }
}

/// Database error codes that mean "unavailable": PostgreSQL SQLSTATE classes 08 (connection
/// exception) and 53 (insufficient resources: disk full, out of memory, too many
/// connections), 57P01-57P03 (shutting down, crashed, starting up); SQLite primary result
/// codes BUSY (5), IOERR (10), FULL (13), CANTOPEN (14) (sqlx reports extended codes, whose
/// low byte is the primary one).
fn unavailable_code(code: &str) -> bool {
    if code.starts_with("08")
        || code.starts_with("53")
        || matches!(code, "57P01" | "57P02" | "57P03")
    {
        return true;
    }
    code.parse::<u32>()
        .is_ok_and(|extended| matches!(extended & 0xff, 5 | 10 | 13 | 14))
}

/// How a SQLite commit is made durable (`HOOKLAYER_SQLITE_SYNC`); PostgreSQL ignores it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SqliteSync {
    /// `synchronous=FULL`: every commit is fsynced; an accepted event survives a power loss.
    #[default]
    Full,
    /// `synchronous=NORMAL`: a commit survives a crash of the process, not of the machine.
    Normal,
}

/// Opens the store named by `url` (`sqlite://PATH` or `postgres://…`) with the default
/// options and applies migrations.
pub async fn connect(url: &str) -> StoreResult<Arc<dyn Store>> {
    connect_with(url, SqliteSync::default()).await
}

/// [`connect`] with SQLite's durability chosen.
pub async fn connect_with(url: &str, sqlite_sync: SqliteSync) -> StoreResult<Arc<dyn Store>> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(sqlite::SqliteStore::open(url, sqlite_sync).await?))
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Ok(Arc::new(postgres::PgStore::open(url).await?))
    } else {
        Err(StoreError::UnsupportedUrl)
    }
}

/// Everything hooklayer keeps. Implementations must be safe to share between many tasks and,
/// for PostgreSQL, between many processes.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Answers when the database does (readiness).
    async fn ping(&self) -> StoreResult<()>;

    /// Closes every connection, waiting for those in use to come back; the store answers
    /// nothing afterwards. Called once, when a process stops.
    async fn close(&self);

    /// Waits until another process may have queued work (PostgreSQL `LISTEN`); never returns
    /// on backends where all writers are in this process.
    async fn wait_for_remote_work(&self);

    // ---- apps and tokens -------------------------------------------------------------
    /// Creates an app with its first token (stored as `token_hash`).
    async fn create_app(&self, app: &App, token_hash: &str) -> StoreResult<()>;
    /// Every app, oldest first.
    async fn list_apps(&self) -> StoreResult<Vec<App>>;
    /// Deletes an app with its tokens, webhooks, events and deliveries; false if unknown.
    async fn delete_app(&self, app: AppId) -> StoreResult<bool>;
    /// Adds a token to an app; false if the app is unknown.
    async fn add_token(&self, app: AppId, token_hash: &str, now: Timestamp) -> StoreResult<bool>;
    /// The app a token hash belongs to.
    async fn app_for_token(&self, token_hash: &str) -> StoreResult<Option<AppId>>;

    // ---- dashboard sessions ------------------------------------------------------------
    /// Stores a new dashboard session (and forgets expired ones).
    async fn create_session(&self, session: &UiSession) -> StoreResult<()>;
    /// The unexpired session with this id hash; sessions of a deleted app are gone.
    async fn get_session(&self, id_hash: &str, now: Timestamp) -> StoreResult<Option<UiSession>>;
    /// Ends a session (sign-out).
    async fn delete_session(&self, id_hash: &str) -> StoreResult<()>;

    // ---- webhooks ----------------------------------------------------------------------
    /// Stores a new webhook unless the app already has `max_per_app`.
    async fn create_webhook(
        &self,
        webhook: &Webhook,
        max_per_app: u32,
    ) -> StoreResult<CreateWebhook>;
    /// The app's webhooks, oldest first.
    async fn list_webhooks(&self, app: AppId) -> StoreResult<Vec<Webhook>>;
    async fn get_webhook(&self, app: AppId, id: WebhookId) -> StoreResult<Option<Webhook>>;
    /// A webhook that is not `active` becomes `unverified` (reason cleared) and is queued for
    /// verification now; an `active` one is left alone.
    async fn activate_webhook(
        &self,
        app: AppId,
        id: WebhookId,
        now: Timestamp,
    ) -> StoreResult<Option<Webhook>>;
    /// The webhook becomes `inactive` with `reason`.
    async fn deactivate_webhook(
        &self,
        app: AppId,
        id: WebhookId,
        reason: &str,
    ) -> StoreResult<Option<Webhook>>;
    /// Applies a change (SPEC §11) in one transaction: the new values, a new target makes the
    /// webhook `unverified` (verification due now), a new secret keeps the replaced one for
    /// `secret_overlap_ms`, new delivery settings reset the rate bucket and put the pending
    /// deliveries in line, and the changed keys go to the change history. `None` if unknown.
    async fn change_webhook(
        &self,
        app: AppId,
        id: WebhookId,
        change: WebhookChange,
        secret_overlap_ms: i64,
        now: Timestamp,
    ) -> StoreResult<Option<(Webhook, Applied)>>;
    /// The webhook's most recent `limit` changes, newest first.
    async fn webhook_changes(
        &self,
        webhook: WebhookId,
        limit: u32,
    ) -> StoreResult<Vec<WebhookChangeRecord>>;
    /// Drops previous secrets whose overlap window has ended; returns how many.
    async fn forget_expired_secrets(&self, now: Timestamp) -> StoreResult<u64>;
    /// Deletes a webhook and its deliveries; false if unknown.
    async fn delete_webhook(&self, app: AppId, id: WebhookId) -> StoreResult<bool>;
    /// How many webhooks are in each status (for metrics).
    async fn count_webhooks(&self) -> StoreResult<Vec<(WebhookStatus, u64)>>;

    // ---- verification ------------------------------------------------------------------
    /// Claims up to `limit` `unverified` webhooks whose verification is due, leasing them
    /// until `lease_until` so no other worker verifies them meanwhile.
    async fn claim_unverified(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<Webhook>>;
    /// Applies a verification outcome if the webhook is still `unverified`: `Ok` → `active`,
    /// `Err(reason)` → `inactive` with that reason. Returns whether it applied.
    async fn finish_verification(
        &self,
        id: WebhookId,
        outcome: Result<(), String>,
    ) -> StoreResult<bool>;

    // ---- events and deliveries -----------------------------------------------------------
    /// Stores the events that are new to the app and queues one delivery per active webhook
    /// subscribed to each, all in one transaction. Returns one answer per input event, in
    /// order; an event the app already had gets its first answer back.
    async fn ingest(
        &self,
        app: AppId,
        events: &[NewEvent],
        now: Timestamp,
    ) -> StoreResult<Vec<IngestAnswer>> {
        Ok(self
            .ingest_handing_off(app, events, now, &Handoff::none())
            .await?
            .answers)
    }
    /// [`Store::ingest`], and in the same transaction claims up to `handoff.limit` of the new
    /// deliveries (default-setting webhooks only, in queueing order) for the caller's worker,
    /// leased until `handoff.lease_until` (see [`handoff`]).
    async fn ingest_handing_off(
        &self,
        app: AppId,
        events: &[NewEvent],
        now: Timestamp,
        handoff: &Handoff,
    ) -> StoreResult<Ingested>;
    /// Claims due deliveries of active webhooks whose delivery settings are the defaults
    /// (see the crate docs on leases), taken in the order of `lane`.
    async fn claim_due(&self, claim: &Claim, lane: ClaimLane) -> StoreResult<Vec<ClaimedDelivery>>;
    /// Claims due deliveries of active *shaped* webhooks (rate limit, in-flight cap or order
    /// set, SPEC §12), each webhook's row locked while its allowance is worked out, so the
    /// settings hold across every process sharing the database.
    async fn claim_shaped(&self, claim: &Claim) -> StoreResult<ShapedClaim>;
    /// Records finished attempts, applies their outcomes and adds them to the dashboard's
    /// statistics (one transaction for the batch). Outcomes only apply to deliveries still
    /// `pending`.
    async fn record_attempts(&self, records: &[AttemptRecord]) -> StoreResult<()>;
    /// Makes claimed-but-unsent deliveries due again now (graceful shutdown).
    async fn release(&self, ids: &[RequestId], now: Timestamp) -> StoreResult<()>;
    /// The earliest `next_attempt_at` of any pending delivery of an active webhook.
    async fn next_due(&self) -> StoreResult<Option<Timestamp>>;
    /// Queue depth by state (for metrics).
    async fn queue_depth(&self, now: Timestamp) -> StoreResult<QueueDepth>;

    // ---- delivery log ------------------------------------------------------------------
    /// A page of a webhook's deliveries, newest first.
    async fn list_deliveries(
        &self,
        app: AppId,
        webhook: WebhookId,
        query: &DeliveryQuery,
    ) -> StoreResult<DeliveryPage>;
    async fn get_delivery(
        &self,
        app: AppId,
        webhook: WebhookId,
        id: RequestId,
    ) -> StoreResult<Option<Delivery>>;
    /// Queues one delivery again now with a fresh attempt budget, whatever its status.
    async fn retry_delivery(
        &self,
        app: AppId,
        webhook: WebhookId,
        id: RequestId,
        now: Timestamp,
    ) -> StoreResult<Option<Delivery>>;
    /// Queues again every delivery of the webhook created at or after `since` in `scope`.
    async fn replay(
        &self,
        app: AppId,
        webhook: WebhookId,
        since: Timestamp,
        scope: ReplayScope,
        now: Timestamp,
    ) -> StoreResult<u64>;
    /// How many deliveries [`Store::replay`] would queue with the same arguments.
    async fn replay_count(
        &self,
        app: AppId,
        webhook: WebhookId,
        since: Timestamp,
        scope: ReplayScope,
    ) -> StoreResult<u64>;
    /// Each webhook of the app with its pending and failed deliveries, each counted up to
    /// `cap`, in one round trip (a list page of 100 webhooks makes one query, not 200).
    async fn open_counts(&self, app: AppId, cap: u32) -> StoreResult<Vec<(WebhookId, u64, u64)>>;
    /// Adds attempts to the per-minute statistics (one row per webhook and minute) and their
    /// quarter-hour roll-up. [`Store::record_attempts`] does this for the attempts it records.
    async fn add_stats(&self, deltas: &[StatDelta]) -> StoreResult<()>;
    /// Per-minute statistics from `from_minute` on, oldest first: of one webhook, or summed
    /// over every webhook of the app.
    async fn stats(
        &self,
        app: AppId,
        webhook: Option<WebhookId>,
        from_minute: i64,
    ) -> StoreResult<Vec<StatRow>>;
    /// The quarter-hour roll-up of the statistics (`delivery_stats_15m`), for quarters that end
    /// after `from_minute`, oldest first; a row's `minute` is its quarter's first minute. Of
    /// one webhook, or summed over every webhook of the app.
    async fn stats_by_quarter(
        &self,
        app: AppId,
        webhook: Option<WebhookId>,
        from_minute: i64,
    ) -> StoreResult<Vec<StatRow>>;
    /// Each webhook of the app with attempts in quarters that end after `from_minute`: its
    /// succeeded and failed attempts there (one aggregate over the roll-up).
    async fn attempt_totals(
        &self,
        app: AppId,
        from_minute: i64,
    ) -> StoreResult<Vec<(WebhookId, u64, u64)>>;
    /// Deletes statistics (per minute and per quarter) and queue samples of minutes before
    /// `before_minute`; returns per-minute rows deleted.
    async fn purge_stats(&self, before_minute: i64) -> StoreResult<u64>;
    /// Pending, due-at-`now` and failed deliveries, each counted up to `cap` (a page stays
    /// fast whatever the depth); `minute` is `now`'s.
    async fn queue_counts(&self, now: Timestamp, cap: u32) -> StoreResult<QueueSample>;
    /// Keeps a queue sample unless its minute has one already (another process's); returns
    /// whether it was kept.
    async fn add_queue_sample(&self, sample: &QueueSample) -> StoreResult<bool>;
    /// Queue samples from `from_minute` on, oldest first.
    async fn queue_samples(&self, from_minute: i64) -> StoreResult<Vec<QueueSample>>;
    // ---- listener streams (SPEC §14) ---------------------------------------------------
    /// Tells every process sharing the database, this one included, each of `messages` in
    /// order (PostgreSQL `NOTIFY hooklayer_listen`, one statement for all); a no-op on
    /// backends where every writer is in this process. Each message must stay under
    /// [`MAX_ANNOUNCEMENT`] bytes.
    async fn announce(&self, messages: &[String]) -> StoreResult<()> {
        let _ = messages;
        Ok(())
    }
    /// The next announcement of any process; never returns on backends where every writer is
    /// in this process. An error means the channel broke: call again after a pause.
    async fn next_announcement(&self) -> StoreResult<String> {
        std::future::pending().await
    }
    /// The app's stored events with these ids, in any order; unknown ids are left out.
    async fn events_by_id(&self, app: AppId, ids: &[EventId]) -> StoreResult<Vec<NewEvent>>;

    /// Deletes up to `batch` finished deliveries (with their attempts) finished before
    /// `before`, then events older than `before` with no delivery left. Returns rows deleted.
    async fn purge_finished(&self, before: Timestamp, batch: u32) -> StoreResult<u64>;
}
