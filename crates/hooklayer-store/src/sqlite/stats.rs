//! Per-minute delivery statistics on SQLite (the dashboard's charts).

use super::SqliteStore;
use crate::model::{StatDelta, StatRow, LATENCY_BUCKETS};
use crate::rows;
use crate::StoreResult;
use hooklayer_core::ids::{AppId, WebhookId};

const BUCKET_COLUMNS: &str = "b0, b1, b2, b3, b4, b5, b6, b7, b8, b9";

/// One upsert per (webhook, minute): a batch of attempts touches few of them.
pub(super) async fn add(s: &SqliteStore, deltas: &[StatDelta]) -> StoreResult<()> {
    let placeholders: Vec<String> = (1..=4 + LATENCY_BUCKETS).map(placeholder).collect();
    let sum = |c: &str| format!("{c} = delivery_stats.{c} + excluded.{c}");
    let sums: Vec<String> = ["succeeded", "failed"]
        .into_iter()
        .map(str::to_owned)
        .chain((0..LATENCY_BUCKETS).map(|i| format!("b{i}")))
        .map(|c| sum(&c))
        .collect();
    let sql = format!(
        "INSERT INTO delivery_stats (webhook_id, minute, succeeded, failed, {BUCKET_COLUMNS})
         VALUES ({}) ON CONFLICT (webhook_id, minute) DO UPDATE SET {}",
        placeholders.join(", "),
        sums.join(", ")
    );
    let mut tx = super::begin_write(&s.writer).await?;
    for d in deltas {
        let mut q = sqlx::query(&sql)
            .bind(d.webhook.to_string())
            .bind(d.minute)
            .bind(count(d.succeeded))
            .bind(count(d.failed));
        for b in d.buckets {
            q = q.bind(count(b));
        }
        q.execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}

fn count(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn placeholder(i: usize) -> String {
    let _ = i;
    "?".to_owned()
}

pub(super) async fn list(
    s: &SqliteStore,
    app: AppId,
    webhook: Option<WebhookId>,
    from_minute: i64,
) -> StoreResult<Vec<StatRow>> {
    let sums: Vec<String> = (0..LATENCY_BUCKETS)
        .map(|i| format!("CAST(SUM(b{i}) AS BIGINT) AS b{i}"))
        .collect();
    // An app's statistics are those of its current webhooks (at most 100). A webhook's are
    // read by its primary key (webhook_id, minute), never by scanning every webhook's minutes.
    let one = if webhook.is_some() {
        " AND webhook_id = ?"
    } else {
        ""
    };
    let sql = format!(
        "SELECT minute, CAST(SUM(succeeded) AS BIGINT) AS succeeded,
                CAST(SUM(failed) AS BIGINT) AS failed, {}
         FROM delivery_stats
         WHERE minute >= ?
           AND webhook_id IN (SELECT id FROM webhooks WHERE app_id = ?){one}
         GROUP BY minute ORDER BY minute",
        sums.join(", ")
    );
    let mut query = sqlx::query(&sql).bind(from_minute).bind(app.to_string());
    if let Some(webhook) = webhook {
        query = query.bind(webhook.to_string());
    }
    let found = query.fetch_all(&s.reader).await?;
    found.iter().map(rows::stat_row).collect()
}

pub(super) async fn purge(s: &SqliteStore, before_minute: i64) -> StoreResult<u64> {
    let done = sqlx::query("DELETE FROM delivery_stats WHERE minute < ?")
        .bind(before_minute)
        .execute(&s.writer)
        .await?;
    Ok(done.rows_affected())
}
