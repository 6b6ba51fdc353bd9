//! The delivery log on SQLite: listing, manual retry, replay and retention; events read back
//! by id for listener streams.

use super::changes::line_up;
use super::queue::ROWS_PER_STATEMENT;
use super::{begin_write, placeholders, SqliteStore};
use crate::model::*;
use crate::rows::{self, replay_statuses, stored_event, ATTEMPT_COLUMNS, DELIVERY_COLUMNS};
use crate::StoreResult;
use hooklayer_core::event::NewEvent;
use hooklayer_core::ids::{AppId, EventId, RequestId, WebhookId};
use hooklayer_core::time::Timestamp;
use sqlx::SqlitePool;

async fn load_attempts(pool: &SqlitePool, deliveries: &mut [Delivery]) -> StoreResult<()> {
    if deliveries.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "SELECT {ATTEMPT_COLUMNS} FROM attempts WHERE request_id IN ({}) ORDER BY seq",
        placeholders(deliveries.len())
    );
    let mut q = sqlx::query(&sql);
    for d in deliveries.iter() {
        q = q.bind(d.request_id.to_string());
    }
    let found = q.fetch_all(pool).await?;
    let attempts = found
        .iter()
        .map(rows::attempt)
        .collect::<StoreResult<Vec<_>>>()?;
    rows::attach_attempts(deliveries, attempts);
    Ok(())
}

pub(super) async fn list(
    s: &SqliteStore,
    app: AppId,
    webhook: WebhookId,
    query: &DeliveryQuery,
) -> StoreResult<DeliveryPage> {
    let mut sql =
        format!("SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE app_id = ? AND webhook_id = ?");
    if query.status.is_some() {
        sql.push_str(" AND status = ?");
    }
    if query.after.is_some() {
        sql.push_str(" AND (created_at < ? OR (created_at = ? AND request_id < ?))");
    }
    sql.push_str(" ORDER BY created_at DESC, request_id DESC LIMIT ?");
    let mut q = sqlx::query(&sql)
        .bind(app.to_string())
        .bind(webhook.to_string());
    if let Some(status) = query.status {
        q = q.bind(status.as_str());
    }
    if let Some(c) = query.after {
        q = q
            .bind(c.created_at.millis())
            .bind(c.created_at.millis())
            .bind(c.request_id.to_string());
    }
    let found = q
        .bind(i64::from(query.limit) + 1)
        .fetch_all(&s.reader)
        .await?;
    let items = found
        .iter()
        .map(rows::delivery)
        .collect::<StoreResult<Vec<_>>>()?;
    let mut page = rows::page(items, query.limit);
    load_attempts(&s.reader, &mut page.items).await?;
    Ok(page)
}

pub(super) async fn get(
    pool: &SqlitePool,
    app: AppId,
    webhook: WebhookId,
    id: RequestId,
) -> StoreResult<Option<Delivery>> {
    let sql = format!("SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE app_id = ? AND webhook_id = ? AND request_id = ?");
    let row = sqlx::query(&sql)
        .bind(app.to_string())
        .bind(webhook.to_string())
        .bind(id.to_string())
        .fetch_optional(pool)
        .await?;
    let Some(row) = row else { return Ok(None) };
    let mut one = [rows::delivery(&row)?];
    load_attempts(pool, &mut one).await?;
    let [delivery] = one;
    Ok(Some(delivery))
}

pub(super) async fn retry(
    s: &SqliteStore,
    app: AppId,
    webhook: WebhookId,
    id: RequestId,
    now: Timestamp,
) -> StoreResult<Option<Delivery>> {
    let (webhook_id, request_id) = (webhook.to_string(), id.to_string());
    let mut tx = begin_write(s).await?;
    // To the end of the webhook's line (it matters when the webhook is ordered).
    let bound = request_id.clone();
    line_up(&mut tx, &webhook_id, "request_id = ?", move |q| {
        q.bind(bound)
    })
    .await?;
    sqlx::query(
        "UPDATE deliveries SET status = 'pending', next_attempt_at = ?, attempts_made = 0, finished_at = NULL
         WHERE app_id = ? AND webhook_id = ? AND request_id = ?",
    )
    .bind(now.millis())
    .bind(app.to_string())
    .bind(&webhook_id)
    .bind(&request_id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    get(&s.writer, app, webhook, id).await
}

pub(super) async fn replay(
    s: &SqliteStore,
    app: AppId,
    webhook: WebhookId,
    since: Timestamp,
    scope: ReplayScope,
    now: Timestamp,
) -> StoreResult<u64> {
    let matching = format!(
        "app_id = ? AND created_at >= ? AND status IN {}",
        replay_statuses(scope)
    );
    let (app_id, webhook_id) = (app.to_string(), webhook.to_string());
    let mut tx = begin_write(s).await?;
    // To the end of the webhook's line, in their original order.
    let bound = app_id.clone();
    line_up(&mut tx, &webhook_id, &matching, move |q| {
        q.bind(bound).bind(since.millis())
    })
    .await?;
    let sql = format!(
        "UPDATE deliveries SET status = 'pending', next_attempt_at = ?, attempts_made = 0, finished_at = NULL
         WHERE webhook_id = ? AND {matching}"
    );
    let done = sqlx::query(&sql)
        .bind(now.millis())
        .bind(&webhook_id)
        .bind(&app_id)
        .bind(since.millis())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(done.rows_affected())
}

pub(super) async fn purge(s: &SqliteStore, before: Timestamp, batch: u32) -> StoreResult<u64> {
    // Pick the batch on the reader so the writer is held only for the deletes.
    let ids: Vec<String> = sqlx::query_scalar(
        "SELECT request_id FROM deliveries WHERE status <> 'pending' AND finished_at < ? LIMIT ?",
    )
    .bind(before.millis())
    .bind(i64::from(batch))
    .fetch_all(&s.reader)
    .await?;
    let mut deleted = 0;
    if !ids.is_empty() {
        // The deletes check again that each delivery is still finished: it may have been
        // retried or replayed since the reader picked it, and a pending delivery is never purged.
        let still_finished = format!(
            "SELECT request_id FROM deliveries
             WHERE request_id IN ({}) AND status <> 'pending' AND finished_at < ?",
            placeholders(ids.len())
        );
        let mut tx = begin_write(s).await?;
        for table in ["attempts", "deliveries"] {
            let sql = format!("DELETE FROM {table} WHERE request_id IN ({still_finished})");
            let mut q = sqlx::query(&sql);
            for id in &ids {
                q = q.bind(id);
            }
            deleted += q
                .bind(before.millis())
                .execute(&mut *tx)
                .await?
                .rows_affected();
        }
        tx.commit().await?;
    }
    // Orphaned events are found on the reader too: the search passes every old event that still
    // has a delivery (a deactivated webhook's backlog of pending ones may be large), and on the
    // writer it would hold up every ingest for as long. The delete checks each event again
    // (nothing adds a delivery to an existing event, but the check costs little).
    let orphans: Vec<(String, String)> = sqlx::query_as(
        "SELECT e.app_id, e.id FROM events e WHERE e.ingested_at < ?
         AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.app_id = e.app_id AND d.event_id = e.id)
         LIMIT ?",
    )
    .bind(before.millis())
    .bind(i64::from(batch))
    .fetch_all(&s.reader)
    .await?;
    if !orphans.is_empty() {
        let sql = format!(
            "DELETE FROM events WHERE (app_id, id) IN (VALUES {})
             AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.app_id = events.app_id AND d.event_id = events.id)",
            vec!["(?, ?)"; orphans.len()].join(", ")
        );
        let mut q = sqlx::query(&sql);
        for (app_id, id) in &orphans {
            q = q.bind(app_id).bind(id);
        }
        deleted += q.execute(&s.writer).await?.rows_affected();
    }
    Ok(deleted)
}

/// The app's stored events with these ids (for listener streams, SPEC §14).
pub(super) async fn events_by_id(
    reader: &SqlitePool,
    app: AppId,
    ids: &[EventId],
) -> StoreResult<Vec<NewEvent>> {
    let mut found = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "SELECT id, type, created_at, payload FROM events WHERE app_id = ? AND id IN ({})",
            placeholders(chunk.len())
        );
        let mut q = sqlx::query(&sql).bind(app.to_string());
        for id in chunk {
            q = q.bind(id.to_string());
        }
        for row in q.fetch_all(reader).await? {
            found.push(stored_event(&row)?);
        }
    }
    Ok(found)
}
