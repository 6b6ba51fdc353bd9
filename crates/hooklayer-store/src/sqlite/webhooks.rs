//! Webhooks and the verification queue on SQLite.

use super::{begin_write, SqliteStore};
use crate::model::CreateWebhook;
use crate::rows::{
    config_column, delivery_columns, events_column, webhook as decode, WEBHOOK_COLUMNS,
};
use crate::StoreResult;
use hooklayer_core::ids::{AppId, WebhookId};
use hooklayer_core::time::Timestamp;
use hooklayer_core::webhook::{Webhook, WebhookStatus};
use sqlx::{Row, SqlitePool};

pub(super) async fn create(
    s: &SqliteStore,
    w: &Webhook,
    max_per_app: u32,
) -> StoreResult<CreateWebhook> {
    // The single writer connection serializes this count-then-insert.
    let mut tx = begin_write(s).await?;
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM webhooks WHERE app_id = ?")
        .bind(w.app.to_string())
        .fetch_one(&mut *tx)
        .await?;
    if count >= i64::from(max_per_app) {
        return Ok(CreateWebhook::LimitReached);
    }
    let (rate_limit, max_in_flight, ordered, shaped) = delivery_columns(&w.delivery);
    sqlx::query(
        "INSERT INTO webhooks (id, app_id, version, target_url, events, secret, config, status, status_reason, created_at, verify_after,
                               rate_limit, max_in_flight, ordered, shaped)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(w.id.to_string())
    .bind(w.app.to_string())
    .bind(w.version.as_str())
    .bind(w.target_url.as_str())
    .bind(events_column(w))
    .bind(w.secret.expose())
    .bind(config_column(w))
    .bind(w.status.as_str())
    .bind(w.status_reason.as_deref())
    .bind(w.created_at.millis())
    .bind(w.created_at.millis())
    .bind(rate_limit)
    .bind(max_in_flight)
    .bind(ordered)
    .bind(shaped)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(CreateWebhook::Created)
}

pub(super) async fn list(s: &SqliteStore, app: AppId) -> StoreResult<Vec<Webhook>> {
    let sql =
        format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE app_id = ? ORDER BY created_at, id");
    let rows = sqlx::query(&sql)
        .bind(app.to_string())
        .fetch_all(&s.reader)
        .await?;
    rows.iter().map(decode).collect()
}

pub(super) async fn get(
    pool: &SqlitePool,
    app: AppId,
    id: WebhookId,
) -> StoreResult<Option<Webhook>> {
    let sql = format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE app_id = ? AND id = ?");
    let row = sqlx::query(&sql)
        .bind(app.to_string())
        .bind(id.to_string())
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(decode).transpose()
}

pub(super) async fn activate(
    s: &SqliteStore,
    app: AppId,
    id: WebhookId,
    now: Timestamp,
) -> StoreResult<Option<Webhook>> {
    sqlx::query(
        "UPDATE webhooks SET status = 'unverified', status_reason = NULL, verify_after = ?
         WHERE app_id = ? AND id = ? AND status <> 'active'",
    )
    .bind(now.millis())
    .bind(app.to_string())
    .bind(id.to_string())
    .execute(&s.writer)
    .await?;
    get(&s.writer, app, id).await
}

pub(super) async fn deactivate(
    s: &SqliteStore,
    app: AppId,
    id: WebhookId,
    reason: &str,
) -> StoreResult<Option<Webhook>> {
    sqlx::query(
        "UPDATE webhooks SET status = 'inactive', status_reason = ?, verify_after = NULL WHERE app_id = ? AND id = ?",
    )
    .bind(reason)
    .bind(app.to_string())
    .bind(id.to_string())
    .execute(&s.writer)
    .await?;
    get(&s.writer, app, id).await
}

pub(super) async fn delete(s: &SqliteStore, app: AppId, id: WebhookId) -> StoreResult<bool> {
    let done = sqlx::query("DELETE FROM webhooks WHERE app_id = ? AND id = ?")
        .bind(app.to_string())
        .bind(id.to_string())
        .execute(&s.writer)
        .await?;
    Ok(done.rows_affected() > 0)
}

pub(super) async fn count(s: &SqliteStore) -> StoreResult<Vec<(WebhookStatus, u64)>> {
    let rows = sqlx::query("SELECT status, COUNT(*) AS n FROM webhooks GROUP BY status")
        .fetch_all(&s.reader)
        .await?;
    let mut out = Vec::new();
    for r in rows {
        let status: String = r.try_get("status")?;
        let n: i64 = r.try_get("n")?;
        if let Some(st) = WebhookStatus::parse(&status) {
            out.push((st, u64::try_from(n).unwrap_or(0)));
        }
    }
    Ok(out)
}

pub(super) async fn claim_unverified(
    s: &SqliteStore,
    now: Timestamp,
    lease_until: Timestamp,
    limit: u32,
) -> StoreResult<Vec<Webhook>> {
    let sql = format!(
        "UPDATE webhooks SET verify_after = ? WHERE id IN (
             SELECT id FROM webhooks WHERE status = 'unverified' AND verify_after <= ? ORDER BY verify_after LIMIT ?)
         RETURNING {WEBHOOK_COLUMNS}"
    );
    let rows = sqlx::query(&sql)
        .bind(lease_until.millis())
        .bind(now.millis())
        .bind(i64::from(limit))
        .fetch_all(&s.writer)
        .await?;
    rows.iter().map(decode).collect()
}

pub(super) async fn finish_verification(
    s: &SqliteStore,
    id: WebhookId,
    outcome: Result<(), String>,
) -> StoreResult<bool> {
    let (status, reason) = match outcome {
        Ok(()) => ("active", None),
        Err(reason) => ("inactive", Some(reason)),
    };
    let done = sqlx::query(
        "UPDATE webhooks SET status = ?, status_reason = ?, verify_after = NULL WHERE id = ? AND status = 'unverified'",
    )
    .bind(status)
    .bind(reason)
    .bind(id.to_string())
    .execute(&s.writer)
    .await?;
    Ok(done.rows_affected() > 0)
}
