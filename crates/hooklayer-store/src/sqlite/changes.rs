//! Changing a webhook (SPEC §11) on SQLite: the change itself, its history, the end of
//! secret overlap windows, and putting deliveries in a shaped webhook's line.

use super::{begin_write, SqliteStore};
use crate::model::WebhookChangeRecord;
use crate::rows::{
    change_record, config_column, delivery_columns, events_column, webhook as decode,
    WEBHOOK_COLUMNS,
};
use crate::StoreResult;
use hooklayer_core::ids::{AppId, WebhookId};
use hooklayer_core::time::Timestamp;
use hooklayer_core::webhook::Webhook;
use hooklayer_core::webhook_change::{Applied, WebhookChange};
use sqlx::sqlite::{Sqlite, SqliteArguments};
use sqlx::SqliteConnection;

pub(super) async fn change(
    s: &SqliteStore,
    app: AppId,
    id: WebhookId,
    change: WebhookChange,
    secret_overlap_ms: i64,
    now: Timestamp,
) -> StoreResult<Option<(Webhook, Applied)>> {
    let mut tx = begin_write(s).await?;
    let sql = format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE app_id = ? AND id = ?");
    let Some(row) = sqlx::query(&sql)
        .bind(app.to_string())
        .bind(id.to_string())
        .fetch_optional(&mut *tx)
        .await?
    else {
        return Ok(None);
    };
    let mut w = decode(&row)?;
    let applied = change.apply(&mut w);
    if applied.keys.is_empty() {
        return Ok(Some((w, applied)));
    }
    let (retarget, delivery_changed) = (applied.target_changed(), applied.delivery_changed());
    let (rate_limit, max_in_flight, ordered, shaped) = delivery_columns(&w.delivery);
    sqlx::query(
        "UPDATE webhooks SET target_url = ?, events = ?, secret = ?, config = ?, status = ?,
             status_reason = ?, verify_after = CASE WHEN ? THEN ? ELSE verify_after END,
             previous_secret = CASE WHEN ? THEN ? ELSE previous_secret END,
             previous_secret_until = CASE WHEN ? THEN ? ELSE previous_secret_until END,
             rate_limit = ?, max_in_flight = ?, ordered = ?, shaped = ?,
             rate_tokens = CASE WHEN ? THEN NULL ELSE rate_tokens END,
             rate_at = CASE WHEN ? THEN NULL ELSE rate_at END
         WHERE id = ?",
    )
    .bind(w.target_url.as_str())
    .bind(events_column(&w))
    .bind(w.secret.expose())
    .bind(config_column(&w))
    .bind(w.status.as_str())
    .bind(w.status_reason.as_deref())
    .bind(retarget)
    .bind(now.millis())
    .bind(applied.replaced_secret.is_some())
    .bind(applied.replaced_secret.as_ref().map(|s| s.expose()))
    .bind(applied.replaced_secret.is_some())
    .bind(now.millis().saturating_add(secret_overlap_ms))
    .bind(rate_limit)
    .bind(max_in_flight)
    .bind(ordered)
    .bind(shaped)
    .bind(delivery_changed)
    .bind(delivery_changed)
    .bind(id.to_string())
    .execute(&mut *tx)
    .await?;
    if w.delivery.is_shaped() {
        // Deliveries queued while the webhook was not shaped join its line, oldest first.
        line_up(
            &mut tx,
            &id.to_string(),
            "status = 'pending' AND line_seq IS NULL",
            |q| q,
        )
        .await?;
    }
    sqlx::query("INSERT INTO webhook_changes (webhook_id, at, keys) VALUES (?, ?, ?)")
        .bind(id.to_string())
        .bind(now.millis())
        .bind(applied.keys.join(","))
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Some((w, applied)))
}

type Query<'q> = sqlx::query::Query<'q, Sqlite, SqliteArguments<'q>>;

/// Gives the webhook's deliveries matching `filter` (SQL on `deliveries`, its parameters bound
/// by `bind`) the next places at the end of the webhook's line, in their original order.
pub(super) async fn line_up(
    tx: &mut SqliteConnection,
    webhook: &str,
    filter: &str,
    bind: impl for<'q> FnOnce(Query<'q>) -> Query<'q>,
) -> StoreResult<u64> {
    let base: Option<i64> = sqlx::query_scalar("SELECT line_seq FROM webhooks WHERE id = ?")
        .bind(webhook)
        .fetch_optional(&mut *tx)
        .await?;
    let Some(base) = base else {
        // An unknown webhook has no line (and no deliveries).
        return Ok(0);
    };
    let sql = format!(
        "UPDATE deliveries SET line_seq = ? + r.n
         FROM (SELECT request_id, ROW_NUMBER() OVER (ORDER BY COALESCE(line_seq, 0), created_at, request_id) AS n
               FROM deliveries WHERE webhook_id = ? AND {filter}) AS r
         WHERE deliveries.request_id = r.request_id"
    );
    let q = sqlx::query(&sql).bind(base).bind(webhook);
    let placed = bind(q).execute(&mut *tx).await?.rows_affected();
    if placed > 0 {
        sqlx::query("UPDATE webhooks SET line_seq = line_seq + ? WHERE id = ?")
            .bind(i64::try_from(placed).unwrap_or(i64::MAX))
            .bind(webhook)
            .execute(&mut *tx)
            .await?;
    }
    Ok(placed)
}

pub(super) async fn history(
    s: &SqliteStore,
    webhook: WebhookId,
    limit: u32,
) -> StoreResult<Vec<WebhookChangeRecord>> {
    let rows = sqlx::query(
        "SELECT at, keys FROM webhook_changes WHERE webhook_id = ? ORDER BY seq DESC LIMIT ?",
    )
    .bind(webhook.to_string())
    .bind(i64::from(limit))
    .fetch_all(&s.reader)
    .await?;
    rows.iter().map(change_record).collect()
}

pub(super) async fn forget_expired_secrets(s: &SqliteStore, now: Timestamp) -> StoreResult<u64> {
    let done = sqlx::query(
        "UPDATE webhooks SET previous_secret = NULL, previous_secret_until = NULL
         WHERE previous_secret_until <= ?",
    )
    .bind(now.millis())
    .execute(&s.writer)
    .await?;
    Ok(done.rows_affected())
}
