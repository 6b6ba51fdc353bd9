//! The dashboard's kept figures on SQLite: per-minute statistics and their quarter-hour
//! roll-up (the charts), bounded queue counts and queue samples (the system page). The SQL is
//! shared with PostgreSQL ([`crate::rollup`]).

use super::script::Script;
use super::SqliteStore;
use crate::model::{QueueSample, StatDelta, StatRow};
use crate::rollup::{self, int, QUARTER};
use crate::rows;
use crate::StoreResult;
use hooklayer_core::ids::{AppId, WebhookId};
use hooklayer_core::time::Timestamp;

fn ph(_: usize) -> String {
    "?".to_owned()
}

/// Adds a batch of deltas to the per-minute rows and their quarter-hour roll-up in one
/// transaction.
pub(super) async fn add(s: &SqliteStore, deltas: &[StatDelta]) -> StoreResult<()> {
    let mut tx = super::begin_write(s).await?;
    add_in(&mut tx, deltas).await?;
    tx.commit().await?;
    Ok(())
}

/// Adds deltas within the caller's transaction: a multi-row upsert per table, since a batch
/// of attempts touches few rows.
pub(super) async fn add_in(
    tx: &mut sqlx::SqliteConnection,
    deltas: &[StatDelta],
) -> StoreResult<()> {
    let mut script = Script::default();
    add_to_script(&mut script, deltas);
    script.run(tx).await
}

/// Appends the upserts adding `deltas` to a script (the recorder's, with the attempts they
/// count, so both are in one commit).
pub(super) fn add_to_script(script: &mut Script<'_>, deltas: &[StatDelta]) {
    for (table, key, quarters) in [
        ("delivery_stats", "minute", false),
        ("delivery_stats_15m", "quarter", true),
    ] {
        for chunk in rollup::stat_rows(deltas, quarters).chunks(rollup::UPSERT_ROWS) {
            script.statement(&rollup::upsert(table, key, chunk.len(), ph));
            for (webhook, key, counts) in chunk {
                script.bind(webhook.clone()).bind(*key);
                for n in counts {
                    script.bind(*n);
                }
            }
        }
    }
}

/// Per-minute rows (`quarters` false) from `from_minute`, or quarter rows from its quarter.
pub(super) async fn list(
    s: &SqliteStore,
    app: AppId,
    webhook: Option<WebhookId>,
    from_minute: i64,
    quarters: bool,
) -> StoreResult<Vec<StatRow>> {
    let (table, key, from) = if quarters {
        (
            "delivery_stats_15m",
            "quarter",
            from_minute.div_euclid(QUARTER),
        )
    } else {
        ("delivery_stats", "minute", from_minute)
    };
    let sql = rollup::summed(table, key, webhook.is_some(), ph);
    let mut query = sqlx::query(&sql).bind(from).bind(app.to_string());
    if let Some(webhook) = webhook {
        query = query.bind(webhook.to_string());
    }
    let found = query.fetch_all(&s.reader).await?;
    found.iter().map(rows::stat_row).collect()
}

pub(super) async fn totals(
    s: &SqliteStore,
    app: AppId,
    from_minute: i64,
) -> StoreResult<Vec<(WebhookId, u64, u64)>> {
    let found = sqlx::query(&rollup::totals(ph))
        .bind(from_minute.div_euclid(QUARTER))
        .bind(app.to_string())
        .fetch_all(&s.reader)
        .await?;
    found.iter().map(rollup::total_row).collect()
}

pub(super) async fn purge(s: &SqliteStore, before_minute: i64) -> StoreResult<u64> {
    let [minutes, quarters, samples] = rollup::purges(ph);
    let done = sqlx::query(&minutes)
        .bind(before_minute)
        .execute(&s.writer)
        .await?;
    sqlx::query(&quarters)
        .bind(before_minute.div_euclid(QUARTER))
        .execute(&s.writer)
        .await?;
    sqlx::query(&samples)
        .bind(before_minute)
        .execute(&s.writer)
        .await?;
    Ok(done.rows_affected())
}

pub(super) async fn open_counts(
    s: &SqliteStore,
    app: AppId,
    cap: u32,
) -> StoreResult<Vec<(WebhookId, u64, u64)>> {
    let cap = i64::from(cap);
    let found = sqlx::query(&rollup::open_counts(ph))
        .bind(cap)
        .bind(cap)
        .bind(app.to_string())
        .fetch_all(&s.reader)
        .await?;
    found.iter().map(rollup::open_row).collect()
}

pub(super) async fn queue_counts(
    s: &SqliteStore,
    now: Timestamp,
    cap: u32,
) -> StoreResult<QueueSample> {
    let cap = i64::from(cap);
    let row = sqlx::query(&rollup::queue_counts(ph))
        .bind(cap)
        .bind(now.millis())
        .bind(cap)
        .bind(cap)
        .fetch_one(&s.reader)
        .await?;
    rollup::sample_row(&row, Some(now.millis().div_euclid(60_000)))
}

pub(super) async fn add_sample(s: &SqliteStore, sample: &QueueSample) -> StoreResult<bool> {
    let done = sqlx::query(&rollup::add_sample(ph))
        .bind(sample.minute)
        .bind(int(sample.pending))
        .bind(int(sample.due))
        .bind(int(sample.failed))
        .execute(&s.writer)
        .await?;
    Ok(done.rows_affected() == 1)
}

pub(super) async fn samples(s: &SqliteStore, from_minute: i64) -> StoreResult<Vec<QueueSample>> {
    let found = sqlx::query(&rollup::samples(ph))
        .bind(from_minute)
        .fetch_all(&s.reader)
        .await?;
    found.iter().map(|r| rollup::sample_row(r, None)).collect()
}
