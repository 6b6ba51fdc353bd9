//! The delivery log on PostgreSQL: listing, manual retry, replay and retention.

use super::changes::line_up;
use super::{PgStore, NOTIFY_WORK};
use crate::model::*;
use crate::rows::{self, replay_statuses, ATTEMPT_COLUMNS, DELIVERY_COLUMNS};
use crate::StoreResult;
use hooklayer_core::ids::{AppId, RequestId, WebhookId};
use hooklayer_core::time::Timestamp;
use sqlx::{Postgres, QueryBuilder};

async fn load_attempts(s: &PgStore, deliveries: &mut [Delivery]) -> StoreResult<()> {
    if deliveries.is_empty() {
        return Ok(());
    }
    let ids: Vec<String> = deliveries
        .iter()
        .map(|d| d.request_id.to_string())
        .collect();
    let sql =
        format!("SELECT {ATTEMPT_COLUMNS} FROM attempts WHERE request_id = ANY($1) ORDER BY seq");
    let found = sqlx::query(&sql).bind(ids).fetch_all(&s.pool).await?;
    let attempts = found
        .iter()
        .map(rows::attempt)
        .collect::<StoreResult<Vec<_>>>()?;
    rows::attach_attempts(deliveries, attempts);
    Ok(())
}

pub(super) async fn list(
    s: &PgStore,
    app: AppId,
    webhook: WebhookId,
    query: &DeliveryQuery,
) -> StoreResult<DeliveryPage> {
    // Built per shape rather than with `$n IS NULL OR …` so every shape gets a plan that walks
    // the (webhook_id, created_at, request_id) index from the cursor on.
    let mut sql = QueryBuilder::<Postgres>::new(format!(
        "SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE app_id = "
    ));
    sql.push_bind(app.to_string())
        .push(" AND webhook_id = ")
        .push_bind(webhook.to_string());
    if let Some(status) = query.status {
        sql.push(" AND status = ").push_bind(status.as_str());
    }
    if let Some(c) = query.after {
        sql.push(" AND (created_at, request_id) < (")
            .push_bind(c.created_at.millis())
            .push(", ")
            .push_bind(c.request_id.to_string())
            .push(")");
    }
    sql.push(" ORDER BY created_at DESC, request_id DESC LIMIT ")
        .push_bind(i64::from(query.limit) + 1);
    let found = sql.build().fetch_all(&s.pool).await?;
    let items = found
        .iter()
        .map(rows::delivery)
        .collect::<StoreResult<Vec<_>>>()?;
    let mut page = rows::page(items, query.limit);
    load_attempts(s, &mut page.items).await?;
    Ok(page)
}

pub(super) async fn get(
    s: &PgStore,
    app: AppId,
    webhook: WebhookId,
    id: RequestId,
) -> StoreResult<Option<Delivery>> {
    let sql =
        format!("SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE app_id = $1 AND webhook_id = $2 AND request_id = $3");
    let row = sqlx::query(&sql)
        .bind(app.to_string())
        .bind(webhook.to_string())
        .bind(id.to_string())
        .fetch_optional(&s.pool)
        .await?;
    let Some(row) = row else { return Ok(None) };
    let mut one = [rows::delivery(&row)?];
    load_attempts(s, &mut one).await?;
    let [delivery] = one;
    Ok(Some(delivery))
}

pub(super) async fn retry(
    s: &PgStore,
    app: AppId,
    webhook: WebhookId,
    id: RequestId,
    now: Timestamp,
) -> StoreResult<Option<Delivery>> {
    let (webhook_id, request_id) = (webhook.to_string(), id.to_string());
    let mut tx = s.pool.begin().await?;
    // To the end of the webhook's line (it matters when the webhook is ordered).
    let bound = request_id.clone();
    line_up(&mut tx, &webhook_id, "request_id = $3", move |q| {
        q.bind(bound)
    })
    .await?;
    let queued = sqlx::query(
        "UPDATE deliveries SET status = 'pending', next_attempt_at = $1, attempts_made = 0, finished_at = NULL
         WHERE app_id = $2 AND webhook_id = $3 AND request_id = $4",
    )
    .bind(now.millis())
    .bind(app.to_string())
    .bind(&webhook_id)
    .bind(&request_id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if queued > 0 {
        // Wake the workers of every process (on commit).
        sqlx::query(NOTIFY_WORK).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    get(s, app, webhook, id).await
}

pub(super) async fn replay(
    s: &PgStore,
    app: AppId,
    webhook: WebhookId,
    since: Timestamp,
    scope: ReplayScope,
    now: Timestamp,
) -> StoreResult<u64> {
    let (app_id, webhook_id) = (app.to_string(), webhook.to_string());
    let mut tx = s.pool.begin().await?;
    // To the end of the webhook's line, in their original order.
    let matching = format!(
        "app_id = $3 AND created_at >= $4 AND status IN {}",
        replay_statuses(scope)
    );
    let bound = app_id.clone();
    line_up(&mut tx, &webhook_id, &matching, move |q| {
        q.bind(bound).bind(since.millis())
    })
    .await?;
    let sql = format!(
        "UPDATE deliveries SET status = 'pending', next_attempt_at = $1, attempts_made = 0, finished_at = NULL
         WHERE webhook_id = $2 AND {matching}"
    );
    let queued = sqlx::query(&sql)
        .bind(now.millis())
        .bind(&webhook_id)
        .bind(&app_id)
        .bind(since.millis())
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if queued > 0 {
        sqlx::query(NOTIFY_WORK).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(queued)
}

pub(super) async fn purge(s: &PgStore, before: Timestamp, batch: u32) -> StoreResult<u64> {
    let mut tx = s.pool.begin().await?;
    // CONCURRENCY: the batch is locked, so a retry or replay cannot make one of these
    // deliveries pending again before it is gone (it waits, then finds nothing); SKIP LOCKED
    // lets purgers in several processes take different batches.
    let ids: Vec<String> = sqlx::query_scalar(
        "SELECT request_id FROM deliveries WHERE status <> 'pending' AND finished_at < $1
         LIMIT $2 FOR UPDATE SKIP LOCKED",
    )
    .bind(before.millis())
    .bind(i64::from(batch))
    .fetch_all(&mut *tx)
    .await?;
    let mut deleted = 0;
    if !ids.is_empty() {
        // Attempts first, so they are counted (the cascade would delete them uncounted).
        for table in ["attempts", "deliveries"] {
            let sql = format!("DELETE FROM {table} WHERE request_id = ANY($1)");
            deleted += sqlx::query(&sql)
                .bind(&ids)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        }
    }
    tx.commit().await?;
    // Events old enough to have been purged, with no delivery left to read them. Nothing new
    // points at an old event: a re-published id conflicts and queues nothing.
    let events = sqlx::query(
        "DELETE FROM events WHERE (app_id, id) IN (
             SELECT e.app_id, e.id FROM events e WHERE e.ingested_at < $1
             AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.app_id = e.app_id AND d.event_id = e.id)
             LIMIT $2)",
    )
    .bind(before.millis())
    .bind(i64::from(batch))
    .execute(&s.pool)
    .await?;
    Ok(deleted + events.rows_affected())
}
