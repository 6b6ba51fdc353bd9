//! The dashboard's kept figures on PostgreSQL: per-minute statistics and their quarter-hour
//! roll-up (the charts), bounded queue counts and queue samples (the system page). The SQL is
//! shared with SQLite ([`crate::rollup`]).

use super::PgStore;
use crate::model::{QueueSample, StatDelta, StatRow};
use crate::rollup::{self, int, QUARTER};
use crate::rows;
use crate::StoreResult;
use hooklayer_core::ids::{AppId, WebhookId};
use hooklayer_core::time::Timestamp;

fn ph(i: usize) -> String {
    format!("${i}")
}

/// Adds a batch of deltas to the per-minute rows and their quarter-hour roll-up in one
/// transaction.
pub(super) async fn add(s: &PgStore, deltas: &[StatDelta]) -> StoreResult<()> {
    let mut tx = s.pool.begin().await?;
    add_in(&mut tx, deltas).await?;
    tx.commit().await?;
    Ok(())
}

/// Adds deltas within the caller's transaction: one upsert per table over arrays.
pub(super) async fn add_in(tx: &mut sqlx::PgConnection, deltas: &[StatDelta]) -> StoreResult<()> {
    let sql = format!(
        "WITH minutes AS ({}) {}",
        rollup::upsert_arrays("delivery_stats", "minute", 1),
        rollup::upsert_arrays("delivery_stats_15m", "quarter", 1 + rollup::STAT_COLUMNS)
    );
    let q = bind_stat_rows(sqlx::query(&sql), deltas);
    q.execute(&mut *tx).await?;
    Ok(())
}

/// Binds the arrays of [`rollup::upsert_arrays`] for the per-minute table, then for the
/// quarter-hour table.
pub(super) fn bind_stat_rows<'q>(
    mut q: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    deltas: &[StatDelta],
) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
    for quarters in [false, true] {
        let rows = rollup::stat_rows(deltas, quarters);
        let webhooks: Vec<String> = rows.iter().map(|(w, _, _)| w.clone()).collect();
        let keys: Vec<i64> = rows.iter().map(|(_, k, _)| *k).collect();
        q = q.bind(webhooks).bind(keys);
        for c in 0..rollup::STAT_COLUMNS - 2 {
            let counts: Vec<i64> = rows.iter().map(|(_, _, n)| n[c]).collect();
            q = q.bind(counts);
        }
    }
    q
}

/// Per-minute rows (`quarters` false) from `from_minute`, or quarter rows from its quarter.
pub(super) async fn list(
    s: &PgStore,
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
    let found = query.fetch_all(&s.pool).await?;
    found.iter().map(rows::stat_row).collect()
}

pub(super) async fn totals(
    s: &PgStore,
    app: AppId,
    from_minute: i64,
) -> StoreResult<Vec<(WebhookId, u64, u64)>> {
    let found = sqlx::query(&rollup::totals(ph))
        .bind(from_minute.div_euclid(QUARTER))
        .bind(app.to_string())
        .fetch_all(&s.pool)
        .await?;
    found.iter().map(rollup::total_row).collect()
}

pub(super) async fn purge(s: &PgStore, before_minute: i64) -> StoreResult<u64> {
    let [minutes, quarters, samples] = rollup::purges(ph);
    let done = sqlx::query(&minutes)
        .bind(before_minute)
        .execute(&s.pool)
        .await?;
    sqlx::query(&quarters)
        .bind(before_minute.div_euclid(QUARTER))
        .execute(&s.pool)
        .await?;
    sqlx::query(&samples)
        .bind(before_minute)
        .execute(&s.pool)
        .await?;
    Ok(done.rows_affected())
}

pub(super) async fn open_counts(
    s: &PgStore,
    app: AppId,
    cap: u32,
) -> StoreResult<Vec<(WebhookId, u64, u64)>> {
    let cap = i64::from(cap);
    let found = sqlx::query(&rollup::open_counts(ph))
        .bind(cap)
        .bind(cap)
        .bind(app.to_string())
        .fetch_all(&s.pool)
        .await?;
    found.iter().map(rollup::open_row).collect()
}

pub(super) async fn queue_counts(
    s: &PgStore,
    now: Timestamp,
    cap: u32,
) -> StoreResult<QueueSample> {
    let cap = i64::from(cap);
    let row = sqlx::query(&rollup::queue_counts(ph))
        .bind(cap)
        .bind(now.millis())
        .bind(cap)
        .bind(cap)
        .fetch_one(&s.pool)
        .await?;
    rollup::sample_row(&row, Some(now.millis().div_euclid(60_000)))
}

pub(super) async fn add_sample(s: &PgStore, sample: &QueueSample) -> StoreResult<bool> {
    let done = sqlx::query(&rollup::add_sample(ph))
        .bind(sample.minute)
        .bind(int(sample.pending))
        .bind(int(sample.due))
        .bind(int(sample.failed))
        .execute(&s.pool)
        .await?;
    Ok(done.rows_affected() == 1)
}

pub(super) async fn samples(s: &PgStore, from_minute: i64) -> StoreResult<Vec<QueueSample>> {
    let found = sqlx::query(&rollup::samples(ph))
        .bind(from_minute)
        .fetch_all(&s.pool)
        .await?;
    found.iter().map(|r| rollup::sample_row(r, None)).collect()
}
