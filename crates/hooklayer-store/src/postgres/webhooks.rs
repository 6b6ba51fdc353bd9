//! Webhooks and the verification queue on PostgreSQL.

use super::{PgStore, NOTIFY_WORK};
use crate::model::CreateWebhook;
use crate::rows::{
    config_column, delivery_columns, events_column, webhook as decode, WEBHOOK_COLUMNS,
};
use crate::StoreResult;
use hooklayer_core::ids::{AppId, WebhookId};
use hooklayer_core::time::Timestamp;
use hooklayer_core::webhook::{Webhook, WebhookStatus};
use sqlx::Row;

pub(super) async fn create(
    s: &PgStore,
    w: &Webhook,
    max_per_app: u32,
) -> StoreResult<CreateWebhook> {
    let mut tx = s.pool.begin().await?;
    // CONCURRENCY: two requests counting at once could both see room for one more. Locking the
    // app row first makes creations for one app take turns, so the count below is exact until
    // commit. NO KEY UPDATE (not UPDATE) still lets ingest's foreign-key checks on the app
    // row through, so publishing is never blocked by a registration.
    // An unknown app locks nothing; the insert then fails on the foreign key, as on SQLite.
    sqlx::query("SELECT 1 FROM apps WHERE id = $1 FOR NO KEY UPDATE")
        .bind(w.app.to_string())
        .fetch_optional(&mut *tx)
        .await?;
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM webhooks WHERE app_id = $1")
        .bind(w.app.to_string())
        .fetch_one(&mut *tx)
        .await?;
    if count >= i64::from(max_per_app) {
        return Ok(CreateWebhook::LimitReached);
    }
    let (rate_limit, max_in_flight, ordered, shaped) = delivery_columns(&w.delivery);
    sqlx::query(
        "INSERT INTO webhooks (id, app_id, version, target_url, events, secret, config, status, status_reason,
                               created_at, verify_after, rate_limit, max_in_flight, ordered, shaped)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11, $12, $13, $14)",
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
    .bind(rate_limit)
    .bind(max_in_flight)
    .bind(ordered)
    .bind(shaped)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(CreateWebhook::Created)
}

pub(super) async fn list(s: &PgStore, app: AppId) -> StoreResult<Vec<Webhook>> {
    let sql =
        format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE app_id = $1 ORDER BY created_at, id");
    let found = sqlx::query(&sql)
        .bind(app.to_string())
        .fetch_all(&s.pool)
        .await?;
    found.iter().map(decode).collect()
}

pub(super) async fn get(s: &PgStore, app: AppId, id: WebhookId) -> StoreResult<Option<Webhook>> {
    let sql = format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE app_id = $1 AND id = $2");
    let row = sqlx::query(&sql)
        .bind(app.to_string())
        .bind(id.to_string())
        .fetch_optional(&s.pool)
        .await?;
    row.as_ref().map(decode).transpose()
}

pub(super) async fn activate(
    s: &PgStore,
    app: AppId,
    id: WebhookId,
    now: Timestamp,
) -> StoreResult<Option<Webhook>> {
    let changed = sqlx::query(
        "UPDATE webhooks SET status = 'unverified', status_reason = NULL, verify_after = $1
         WHERE app_id = $2 AND id = $3 AND status <> 'active'",
    )
    .bind(now.millis())
    .bind(app.to_string())
    .bind(id.to_string())
    .execute(&s.pool)
    .await?
    .rows_affected();
    if changed > 0 {
        // Wake the verification workers of every process (the update has committed).
        sqlx::query(NOTIFY_WORK).execute(&s.pool).await?;
    }
    get(s, app, id).await
}

pub(super) async fn deactivate(
    s: &PgStore,
    app: AppId,
    id: WebhookId,
    reason: &str,
) -> StoreResult<Option<Webhook>> {
    sqlx::query(
        "UPDATE webhooks SET status = 'inactive', status_reason = $1, verify_after = NULL
         WHERE app_id = $2 AND id = $3",
    )
    .bind(reason)
    .bind(app.to_string())
    .bind(id.to_string())
    .execute(&s.pool)
    .await?;
    get(s, app, id).await
}

pub(super) async fn delete(s: &PgStore, app: AppId, id: WebhookId) -> StoreResult<bool> {
    let done = sqlx::query("DELETE FROM webhooks WHERE app_id = $1 AND id = $2")
        .bind(app.to_string())
        .bind(id.to_string())
        .execute(&s.pool)
        .await?;
    Ok(done.rows_affected() > 0)
}

pub(super) async fn count(s: &PgStore) -> StoreResult<Vec<(WebhookStatus, u64)>> {
    let found = sqlx::query("SELECT status, COUNT(*) AS n FROM webhooks GROUP BY status")
        .fetch_all(&s.pool)
        .await?;
    let mut out = Vec::new();
    for r in found {
        let status: String = r.try_get("status")?;
        let n: i64 = r.try_get("n")?;
        if let Some(st) = WebhookStatus::parse(&status) {
            out.push((st, u64::try_from(n).unwrap_or(0)));
        }
    }
    Ok(out)
}

pub(super) async fn claim_unverified(
    s: &PgStore,
    now: Timestamp,
    lease_until: Timestamp,
    limit: u32,
) -> StoreResult<Vec<Webhook>> {
    // CONCURRENCY: SKIP LOCKED passes over webhooks another verifier is claiming right now; a
    // row it claimed and committed no longer matches `verify_after <= now` when re-checked.
    // MATERIALIZED runs the locking pick exactly once.
    let sql = format!(
        "WITH picked AS MATERIALIZED (
             SELECT id FROM webhooks WHERE status = 'unverified' AND verify_after <= $2
             ORDER BY verify_after LIMIT $3 FOR UPDATE SKIP LOCKED)
         UPDATE webhooks SET verify_after = $1 WHERE id IN (SELECT id FROM picked)
         RETURNING {WEBHOOK_COLUMNS}"
    );
    let found = sqlx::query(&sql)
        .bind(lease_until.millis())
        .bind(now.millis())
        .bind(i64::from(limit))
        .fetch_all(&s.pool)
        .await?;
    found.iter().map(decode).collect()
}

pub(super) async fn finish_verification(
    s: &PgStore,
    id: WebhookId,
    outcome: Result<(), String>,
) -> StoreResult<bool> {
    let (status, reason) = match outcome {
        Ok(()) => ("active", None),
        Err(reason) => ("inactive", Some(reason)),
    };
    let done = sqlx::query(
        "UPDATE webhooks SET status = $1, status_reason = $2, verify_after = NULL
         WHERE id = $3 AND status = 'unverified'",
    )
    .bind(status)
    .bind(reason)
    .bind(id.to_string())
    .execute(&s.pool)
    .await?;
    Ok(done.rows_affected() > 0)
}
