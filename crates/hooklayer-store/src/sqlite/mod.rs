//! The SQLite store: the embedded default. One process owns the file.
//!
//! CONCURRENCY: SQLite allows one writer at a time. All writes go through a pool of exactly one
//! connection, so writers queue in the pool (fairly, without busy-retry sleeps) instead of
//! fighting over the file lock; reads use a separate pool and, under WAL, never block or are
//! blocked by the writer. An ingest goes first: other write transactions queue for the writer
//! one at a time, so an ingest waits for at most one of them ([`turns`]).

mod apps;
mod changes;
mod counts;
mod ingest;
mod log;
mod queue;
mod script;
mod sessions;
mod shaped;
mod stats;
mod turns;
mod webhooks;

use turns::WriteTx;

use crate::migrate::{self, Migration};
use crate::model::*;
use crate::{SqliteSync, Store, StoreError, StoreResult};
use async_trait::async_trait;
use hooklayer_core::event::NewEvent;
use hooklayer_core::ids::{AppId, EventId, RequestId, WebhookId};
use hooklayer_core::time::Timestamp;
use hooklayer_core::webhook::{Webhook, WebhookStatus};
use hooklayer_core::webhook_change::{Applied, WebhookChange};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Executor, Sqlite, Transaction};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

/// The SQLite implementation of [`Store`].
#[derive(Clone)]
pub struct SqliteStore {
    /// Exactly one connection: the only writer.
    writer: SqlitePool,
    /// Read-only connections for listings and the log.
    reader: SqlitePool,
    /// The WAL checkpointer's connection.
    checkpointer: SqlitePool,
    /// The WAL checkpointer task; stops at [`Store::close`] or when the last clone of the
    /// store is dropped.
    checkpoints: Arc<AbortOnDrop>,
    /// Lets ingests go to the writer ahead of other write transactions.
    turns: turns::WriterTurns,
}

/// Aborts a background task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `url` (`sqlite://PATH`) and migrates it.
    pub async fn open(url: &str, sync: SqliteSync) -> StoreResult<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL (the default) fsyncs the WAL at every commit, so an accepted event survives
            // a power loss (SPEC §5). NORMAL under WAL still survives a crash or kill -9 of the
            // process (the WAL is written before commit returns) but an OS crash or power loss
            // can lose the last commits; it is faster (no fsync per commit).
            .synchronous(match sync {
                SqliteSync::Full => SqliteSynchronous::Full,
                SqliteSync::Normal => SqliteSynchronous::Normal,
            })
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true);
        // PERFORMANCE: by default sqlx pings every connection it hands out, a round trip to
        // the connection's thread before each use; a local file's connection does not go stale.
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(30))
            // PERFORMANCE: the writer never checkpoints itself. An automatic checkpoint runs
            // inside the commit that crosses the threshold and fsyncs the database file,
            // stalling every writer behind it (measured: 150 ms to 1.5 s stalls of ingest);
            // the checkpointer task below does that work on its own connection instead.
            // A 16 MiB page cache (default 2 MiB) keeps group-committed batches from spilling
            // dirty pages to the WAL before their commit.
            .connect_with(
                options
                    .clone()
                    .pragma("wal_autocheckpoint", "0")
                    .pragma("cache_size", "-16384"),
            )
            .await?;
        run_migrations(&writer, migrate::SQLITE).await?;
        let reader = SqlitePoolOptions::new()
            .max_connections(4)
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options.clone().read_only(true))
            .await?;
        let checkpointer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await?;
        let turns = turns::WriterTurns::default();
        let checkpoints = Arc::new(AbortOnDrop(tokio::spawn(checkpoint_loop(
            checkpointer.clone(),
            writer.clone(),
            turns.clone(),
        ))));
        Ok(Self {
            writer,
            reader,
            checkpointer,
            checkpoints,
            turns,
        })
    }
}

impl SqliteStore {
    /// The `synchronous` setting of the writer connection, as SQLite reports it.
    pub async fn synchronous(&self) -> StoreResult<SqliteSync> {
        let level: i64 = sqlx::query_scalar("PRAGMA synchronous")
            .fetch_one(&self.writer)
            .await?;
        match level {
            2 => Ok(SqliteSync::Full),
            1 => Ok(SqliteSync::Normal),
            other => Err(StoreError::Corrupt(format!(
                "unexpected synchronous={other}"
            ))),
        }
    }
}

/// Every write transaction takes the write lock at its start. A deferred transaction that reads
/// first and writes later fails at once with `SQLITE_BUSY_SNAPSHOT` if another process (the
/// CLI) committed in between; an immediate one waits for the lock (`busy_timeout`) instead.
const BEGIN_WRITE: &str = "BEGIN IMMEDIATE";

/// Begins a write transaction on the writer connection.
///
/// When SQLite fails a `COMMIT` with a full disk or an I/O error it rolls the transaction back
/// itself; sqlx's own `ROLLBACK` then fails and sqlx keeps counting the transaction as open,
/// so every later `BEGIN` on that connection is refused (`InvalidSavePointStatement`) and, as
/// it is the only writer, every write would fail until a restart. Such a connection is closed
/// here (the pool opens a fresh one) and the transaction begun again. On a full disk another
/// task's failed commit may break the fresh connection before this one begins, so it tries a
/// few times; the error left after that counts as "unavailable" ([`StoreError::is_unavailable`]).
///
/// A background write (every write but an ingest) takes its turn first ([`turns`]).
pub(crate) async fn begin_write(s: &SqliteStore) -> StoreResult<WriteTx> {
    let turn = s.turns.background_turn().await;
    Ok(WriteTx::new(begin_on(&s.writer).await?, Some(turn)))
}

/// [`begin_write`] for an ingest: it queues for the writer at once, so it waits for at most
/// the one background write holding or awaiting the writer, not for every recorder, claim and
/// statistics batch behind it.
pub(crate) async fn begin_ingest(s: &SqliteStore) -> StoreResult<WriteTx> {
    Ok(WriteTx::new(begin_on(&s.writer).await?, None))
}

pub(crate) async fn begin_on(writer: &SqlitePool) -> StoreResult<Transaction<'static, Sqlite>> {
    let mut tries = 0;
    loop {
        match writer.begin_with(BEGIN_WRITE).await {
            Err(sqlx::Error::InvalidSavePointStatement) if tries < 3 => {
                tries += 1;
                tracing::warn!(
                    "the SQLite writer lost track of a failed transaction; reconnecting it"
                );
                writer.acquire().await?.close().await.ok();
            }
            begun => return Ok(begun?),
        }
    }
}

/// How often the WAL is copied back into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(500);

/// WAL frames (pages of 4 KiB plus a header) beyond which the checkpointer starts the WAL
/// over: 128 MiB.
const WAL_RESET_FRAMES: i64 = 32_768;

/// How long a connection waits for a lock another holds.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the WAL reset waits for readers to leave the WAL; it holds the writer meanwhile.
const RESET_BUSY_TIMEOUT: Duration = Duration::from_millis(50);

/// Runs checkpoints (see [`checkpoint_once`]) until aborted. A failed checkpoint is retried at
/// the next tick; the WAL only grows meanwhile.
async fn checkpoint_loop(checkpointer: SqlitePool, writer: SqlitePool, turns: turns::WriterTurns) {
    let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = checkpoint_once(&checkpointer, &writer, &turns, WAL_RESET_FRAMES).await {
            tracing::debug!(error = %e, "WAL checkpoint failed; retrying at the next tick");
        }
    }
}

/// A PASSIVE checkpoint on the checkpointer's connection (it never blocks the writer or
/// readers), then, when the WAL holds more than `reset_frames` frames and that one copied
/// them all back, a TRUNCATE checkpoint on the writer's connection, in a background turn.
///
/// Under a continuous write load a passive checkpoint never finds the WAL wholly copied back
/// before the next commit appends to it, so SQLite never starts the WAL over and the file
/// grows without bound: 13 GB while a million deliveries were queued for a receiver that was
/// down, with readers slowing as the WAL index grew and a restart reading it all. TRUNCATE
/// copies what came since the passive checkpoint, waits (briefly) for readers to leave the
/// WAL and empties the file. It runs on the writer's own connection between two transactions
/// (from another connection it polled for the write lock for seconds under load): writes wait
/// for it once per `reset_frames` frames written, as they wait for a background write.
async fn checkpoint_once(
    checkpointer: &SqlitePool,
    writer: &SqlitePool,
    turns: &turns::WriterTurns,
    reset_frames: i64,
) -> StoreResult<()> {
    let (busy, in_wal, copied): (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
        .fetch_one(checkpointer)
        .await?;
    if busy == 0 && in_wal > reset_frames && copied == in_wal {
        let _turn = turns.background_turn().await;
        let mut conn = writer.acquire().await?;
        // A long read in the WAL (the orphan search, a dashboard count) would hold every write
        // back for the whole busy timeout: wait briefly, else try again at the next tick (the
        // checkpoint then answers "busy" rather than failing).
        let set = |timeout: Duration| format!("PRAGMA busy_timeout = {}", timeout.as_millis());
        sqlx::query(&set(RESET_BUSY_TIMEOUT))
            .execute(&mut *conn)
            .await?;
        let reset = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&mut *conn)
            .await;
        if let Err(e) = sqlx::query(&set(BUSY_TIMEOUT)).execute(&mut *conn).await {
            // Never hand the writer back with the short timeout.
            conn.close_on_drop();
            return Err(e.into());
        }
        reset?;
    }
    Ok(())
}

async fn run_migrations(pool: &SqlitePool, migrations: &[Migration]) -> StoreResult<()> {
    sqlx::query(migrate::CREATE_TABLE).execute(pool).await?;
    for m in migrations {
        let applied: Option<i64> =
            sqlx::query_scalar("SELECT version FROM schema_migrations WHERE version = ?")
                .bind(m.version)
                .fetch_optional(pool)
                .await?;
        if applied.is_some() {
            continue;
        }
        let fail = |source| StoreError::Migration {
            version: m.version,
            source,
        };
        let mut tx = pool.begin().await?;
        // Through `Executor::execute`, not `RawSql::execute`, whose future rustc cannot prove
        // `Send` (higher-ranked lifetimes): `open` must be callable from a spawned task.
        (&mut *tx)
            .execute(sqlx::raw_sql(m.sql))
            .await
            .map_err(fail)?;
        sqlx::query("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)")
            .bind(m.version)
            .bind(Timestamp::now().millis())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
    }
    Ok(())
}

#[async_trait]
impl Store for SqliteStore {
    async fn close(&self) {
        self.checkpoints.0.abort();
        self.checkpointer.close().await;
        self.reader.close().await;
        // The writer last: closing the last connection checkpoints the WAL into the file.
        self.writer.close().await;
    }

    async fn ping(&self) -> StoreResult<()> {
        // Read a real table: a file made unreadable or deleted fails here.
        sqlx::query("SELECT COUNT(*) FROM schema_migrations")
            .fetch_one(&self.reader)
            .await?;
        sqlx::query("SELECT 1").fetch_one(&self.writer).await?;
        // Open connections keep working on a deleted or moved file (they hold its inode), but
        // whatever is written from then on is gone at the next start: not ready either.
        let file: String =
            sqlx::query_scalar("SELECT file FROM pragma_database_list WHERE name = 'main'")
                .fetch_one(&self.writer)
                .await?;
        if !file.is_empty() {
            std::fs::metadata(&file).map_err(sqlx::Error::Io)?;
        }
        Ok(())
    }

    async fn wait_for_remote_work(&self) {
        // Every writer is in this process and wakes the workers itself.
        std::future::pending::<()>().await
    }

    async fn create_app(&self, app: &App, token_hash: &str) -> StoreResult<()> {
        apps::create(self, app, token_hash).await
    }
    async fn list_apps(&self) -> StoreResult<Vec<App>> {
        apps::list(self).await
    }
    async fn delete_app(&self, app: AppId) -> StoreResult<bool> {
        apps::delete(self, app).await
    }
    async fn add_token(&self, app: AppId, token_hash: &str, now: Timestamp) -> StoreResult<bool> {
        apps::add_token(self, app, token_hash, now).await
    }
    async fn app_for_token(&self, token_hash: &str) -> StoreResult<Option<AppId>> {
        apps::app_for_token(self, token_hash).await
    }

    async fn replay_count(
        &self,
        app: AppId,
        webhook: WebhookId,
        since: Timestamp,
        scope: ReplayScope,
    ) -> StoreResult<u64> {
        counts::replay_count(self, app, webhook, since, scope).await
    }

    async fn add_stats(&self, deltas: &[StatDelta]) -> StoreResult<()> {
        stats::add(self, deltas).await
    }
    async fn stats(
        &self,
        app: AppId,
        webhook: Option<WebhookId>,
        from_minute: i64,
    ) -> StoreResult<Vec<StatRow>> {
        stats::list(self, app, webhook, from_minute, false).await
    }
    async fn stats_by_quarter(
        &self,
        app: AppId,
        webhook: Option<WebhookId>,
        from_minute: i64,
    ) -> StoreResult<Vec<StatRow>> {
        stats::list(self, app, webhook, from_minute, true).await
    }
    async fn attempt_totals(
        &self,
        app: AppId,
        from_minute: i64,
    ) -> StoreResult<Vec<(WebhookId, u64, u64)>> {
        stats::totals(self, app, from_minute).await
    }
    async fn purge_stats(&self, before_minute: i64) -> StoreResult<u64> {
        stats::purge(self, before_minute).await
    }
    async fn open_counts(&self, app: AppId, cap: u32) -> StoreResult<Vec<(WebhookId, u64, u64)>> {
        stats::open_counts(self, app, cap).await
    }
    async fn queue_counts(&self, now: Timestamp, cap: u32) -> StoreResult<QueueSample> {
        stats::queue_counts(self, now, cap).await
    }
    async fn add_queue_sample(&self, sample: &QueueSample) -> StoreResult<bool> {
        stats::add_sample(self, sample).await
    }
    async fn queue_samples(&self, from_minute: i64) -> StoreResult<Vec<QueueSample>> {
        stats::samples(self, from_minute).await
    }

    async fn create_session(&self, session: &UiSession) -> StoreResult<()> {
        sessions::create(self, session).await
    }
    async fn get_session(&self, id_hash: &str, now: Timestamp) -> StoreResult<Option<UiSession>> {
        sessions::get(self, id_hash, now).await
    }
    async fn delete_session(&self, id_hash: &str) -> StoreResult<()> {
        sessions::delete(self, id_hash).await
    }

    async fn create_webhook(
        &self,
        webhook: &Webhook,
        max_per_app: u32,
    ) -> StoreResult<CreateWebhook> {
        webhooks::create(self, webhook, max_per_app).await
    }
    async fn list_webhooks(&self, app: AppId) -> StoreResult<Vec<Webhook>> {
        webhooks::list(self, app).await
    }
    async fn get_webhook(&self, app: AppId, id: WebhookId) -> StoreResult<Option<Webhook>> {
        webhooks::get(&self.reader, app, id).await
    }
    async fn activate_webhook(
        &self,
        app: AppId,
        id: WebhookId,
        now: Timestamp,
    ) -> StoreResult<Option<Webhook>> {
        webhooks::activate(self, app, id, now).await
    }
    async fn deactivate_webhook(
        &self,
        app: AppId,
        id: WebhookId,
        reason: &str,
    ) -> StoreResult<Option<Webhook>> {
        webhooks::deactivate(self, app, id, reason).await
    }
    async fn change_webhook(
        &self,
        app: AppId,
        id: WebhookId,
        change: WebhookChange,
        secret_overlap_ms: i64,
        now: Timestamp,
    ) -> StoreResult<Option<(Webhook, Applied)>> {
        changes::change(self, app, id, change, secret_overlap_ms, now).await
    }
    async fn webhook_changes(
        &self,
        webhook: WebhookId,
        limit: u32,
    ) -> StoreResult<Vec<WebhookChangeRecord>> {
        changes::history(self, webhook, limit).await
    }
    async fn forget_expired_secrets(&self, now: Timestamp) -> StoreResult<u64> {
        changes::forget_expired_secrets(self, now).await
    }
    async fn delete_webhook(&self, app: AppId, id: WebhookId) -> StoreResult<bool> {
        webhooks::delete(self, app, id).await
    }
    async fn count_webhooks(&self) -> StoreResult<Vec<(WebhookStatus, u64)>> {
        webhooks::count(self).await
    }
    async fn claim_unverified(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<Webhook>> {
        webhooks::claim_unverified(self, now, lease_until, limit).await
    }
    async fn finish_verification(
        &self,
        id: WebhookId,
        outcome: Result<(), String>,
    ) -> StoreResult<bool> {
        webhooks::finish_verification(self, id, outcome).await
    }

    async fn ingest_handing_off(
        &self,
        app: AppId,
        events: &[NewEvent],
        now: Timestamp,
        handoff: &crate::Handoff,
    ) -> StoreResult<crate::Ingested> {
        ingest::ingest(self, app, events, now, handoff).await
    }
    async fn claim_due(&self, claim: &Claim, lane: ClaimLane) -> StoreResult<Vec<ClaimedDelivery>> {
        queue::claim_due(self, claim, lane).await
    }
    async fn claim_shaped(&self, claim: &Claim) -> StoreResult<ShapedClaim> {
        shaped::claim(self, claim).await
    }
    async fn record_attempts(&self, records: &[AttemptRecord]) -> StoreResult<()> {
        queue::record_attempts(self, records).await
    }
    async fn release(&self, ids: &[RequestId], now: Timestamp) -> StoreResult<()> {
        queue::release(self, ids, now).await
    }
    async fn next_due(&self) -> StoreResult<Option<Timestamp>> {
        queue::next_due(self).await
    }
    async fn queue_depth(&self, now: Timestamp) -> StoreResult<QueueDepth> {
        queue::depth(self, now).await
    }

    async fn list_deliveries(
        &self,
        app: AppId,
        webhook: WebhookId,
        query: &DeliveryQuery,
    ) -> StoreResult<DeliveryPage> {
        log::list(self, app, webhook, query).await
    }
    async fn get_delivery(
        &self,
        app: AppId,
        webhook: WebhookId,
        id: RequestId,
    ) -> StoreResult<Option<Delivery>> {
        log::get(&self.reader, app, webhook, id).await
    }
    async fn retry_delivery(
        &self,
        app: AppId,
        webhook: WebhookId,
        id: RequestId,
        now: Timestamp,
    ) -> StoreResult<Option<Delivery>> {
        log::retry(self, app, webhook, id, now).await
    }
    async fn replay(
        &self,
        app: AppId,
        webhook: WebhookId,
        since: Timestamp,
        scope: ReplayScope,
        now: Timestamp,
    ) -> StoreResult<u64> {
        log::replay(self, app, webhook, since, scope, now).await
    }
    async fn events_by_id(&self, app: AppId, ids: &[EventId]) -> StoreResult<Vec<NewEvent>> {
        log::events_by_id(&self.reader, app, ids).await
    }
    async fn purge_finished(&self, before: Timestamp, batch: u32) -> StoreResult<u64> {
        log::purge(self, before, batch).await
    }
}

/// `?, ?, ?` for `n` placeholders.
pub(crate) fn placeholders(n: usize) -> String {
    vec!["?"; n].join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_wal_past_the_reset_size_is_started_over_and_a_smaller_one_is_kept() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("wal.db");
        let store = SqliteStore::open(&format!("sqlite://{}", path.display()), SqliteSync::Full)
            .await
            .expect("open");
        let wal = dir.path().join("wal.db-wal");
        let wal_bytes = || std::fs::metadata(&wal).map_or(0, |m| m.len());
        sqlx::query("CREATE TABLE filler (body BLOB NOT NULL)")
            .execute(&store.writer)
            .await
            .expect("create");
        // About 60 pages of WAL.
        for _ in 0..60 {
            sqlx::query("INSERT INTO filler VALUES (zeroblob(4000))")
                .execute(&store.writer)
                .await
                .expect("insert");
        }
        let written = wal_bytes();

        let (checkpointer, writer, turns) = (&store.checkpointer, &store.writer, &store.turns);
        checkpoint_once(checkpointer, writer, turns, 10_000)
            .await
            .expect("checkpoint");
        let below_reset = wal_bytes();
        checkpoint_once(checkpointer, writer, turns, 10)
            .await
            .expect("checkpoint");
        let past_reset = wal_bytes();

        assert!(written > 60 * 4096, "the WAL grew: {written} bytes");
        assert_eq!(below_reset, written, "a passive checkpoint keeps the file");
        assert_eq!(past_reset, 0, "past the reset size the WAL is emptied");
        let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM filler")
            .fetch_one(&store.reader)
            .await
            .expect("count");
        assert_eq!(rows, 60);
    }

    #[tokio::test]
    async fn the_chosen_synchronous_level_reaches_the_writer() {
        let dir = tempfile::tempdir().expect("temp dir");
        for sync in [SqliteSync::Full, SqliteSync::Normal] {
            let url = format!("sqlite://{}", dir.path().join("s.db").display());
            let store = SqliteStore::open(&url, sync).await.expect("open");
            assert_eq!(store.synchronous().await.expect("pragma"), sync);
        }
    }
}
