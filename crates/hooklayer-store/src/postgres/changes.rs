//! Changing a webhook (SPEC §11) on PostgreSQL: the change itself, its history, the end of
//! secret overlap windows, and putting deliveries in a shaped webhook's line.

use super::{PgStore, NOTIFY_WORK};
use crate::model::WebhookChangeRecord;
use crate::rows::LinePlaces;
use crate::rows::{
    change_record, config_column, delivery_columns, events_column, webhook as decode,
    WEBHOOK_COLUMNS,
};
use crate::StoreResult;
use hooklayer_core::ids::{AppId, WebhookId};
use hooklayer_core::time::Timestamp;
use hooklayer_core::webhook::Webhook;
use hooklayer_core::webhook_change::{Applied, WebhookChange};
use sqlx::postgres::{PgArguments, Postgres};
use sqlx::PgConnection;

pub(super) async fn change(
    s: &PgStore,
    app: AppId,
    id: WebhookId,
    change: WebhookChange,
    secret_overlap_ms: i64,
    now: Timestamp,
) -> StoreResult<Option<(Webhook, Applied)>> {
    let mut tx = s.pool.begin().await?;
    // CONCURRENCY: FOR UPDATE conflicts with ingest's FOR KEY SHARE: the change waits for
    // ingests that read the old settings to commit, and later ingests see the new ones, so no
    // delivery of a shaped webhook is queued outside its line. Two changes take turns.
    let sql =
        format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE app_id = $1 AND id = $2 FOR UPDATE");
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
        "UPDATE webhooks SET target_url = $1, events = $2, secret = $3, config = $4, status = $5,
             status_reason = $6, verify_after = CASE WHEN $7 THEN $8 ELSE verify_after END,
             previous_secret = CASE WHEN $9 THEN $10 ELSE previous_secret END,
             previous_secret_until = CASE WHEN $9 THEN $11 ELSE previous_secret_until END,
             rate_limit = $12, max_in_flight = $13, ordered = $14, shaped = $15,
             rate_tokens = CASE WHEN $16 THEN NULL ELSE rate_tokens END,
             rate_at = CASE WHEN $16 THEN NULL ELSE rate_at END
         WHERE id = $17",
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
    .bind(now.millis().saturating_add(secret_overlap_ms))
    .bind(rate_limit)
    .bind(max_in_flight)
    .bind(ordered)
    .bind(shaped)
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
    sqlx::query("INSERT INTO webhook_changes (webhook_id, at, keys) VALUES ($1, $2, $3)")
        .bind(id.to_string())
        .bind(now.millis())
        .bind(applied.keys.join(","))
        .execute(&mut *tx)
        .await?;
    if retarget || delivery_changed {
        // Verification (new target) or claims (new settings) in every process.
        sqlx::query(NOTIFY_WORK).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(Some((w, applied)))
}

type Query<'q> = sqlx::query::Query<'q, Postgres, PgArguments>;

/// Gives the webhook's deliveries matching `filter` (SQL on `deliveries` whose parameters
/// start at `$3`, bound by `bind`) the next places at the end of the webhook's line, in their
/// original order. Locks the webhook row until commit, so places are never handed out twice.
pub(super) async fn line_up(
    tx: &mut PgConnection,
    webhook: &str,
    filter: &str,
    bind: impl for<'q> FnOnce(Query<'q>) -> Query<'q>,
) -> StoreResult<u64> {
    let base: Option<i64> =
        sqlx::query_scalar("SELECT line_seq FROM webhooks WHERE id = $1 FOR NO KEY UPDATE")
            .bind(webhook)
            .fetch_optional(&mut *tx)
            .await?;
    let Some(base) = base else {
        // An unknown webhook has no line (and no deliveries).
        return Ok(0);
    };
    let sql = format!(
        "UPDATE deliveries SET line_seq = $1 + r.n
         FROM (SELECT request_id, ROW_NUMBER() OVER (ORDER BY COALESCE(line_seq, 0), created_at, request_id) AS n
               FROM deliveries WHERE webhook_id = $2 AND {filter}) AS r
         WHERE deliveries.request_id = r.request_id"
    );
    let q = sqlx::query(&sql).bind(base).bind(webhook);
    let placed = bind(q).execute(&mut *tx).await?.rows_affected();
    if placed > 0 {
        sqlx::query("UPDATE webhooks SET line_seq = line_seq + $1 WHERE id = $2")
            .bind(i64::try_from(placed).unwrap_or(i64::MAX))
            .bind(webhook)
            .execute(&mut *tx)
            .await?;
    }
    Ok(placed)
}

/// The places in their webhook's line of deliveries queued to shaped webhooks (`None` for the
/// others), in acceptance order.
pub(super) async fn line_places(
    tx: &mut sqlx::PgConnection,
    shaped: impl Iterator<Item = &str>,
    webhook_ids: &[&str],
) -> StoreResult<Vec<Option<i64>>> {
    let mut shaped: Vec<&str> = shaped.collect();
    let mut places = LinePlaces::default();
    // CONCURRENCY: the update locks each shaped webhook's row until commit, so ingests into
    // one line take turns and their places follow their commit order; rows are locked in id
    // order so two ingests never wait on each other in a cycle.
    shaped.sort_unstable();
    for hook in shaped {
        let count = webhook_ids.iter().filter(|w| **w == hook).count() as i64;
        if count > 0 {
            let end: i64 = sqlx::query_scalar(
                "UPDATE webhooks SET line_seq = line_seq + $1 WHERE id = $2 RETURNING line_seq",
            )
            .bind(count)
            .bind(hook)
            .fetch_one(&mut *tx)
            .await?;
            places.reserve(hook, end - count);
        }
    }
    Ok(webhook_ids.iter().map(|w| places.next(w)).collect())
}

pub(super) async fn history(
    s: &PgStore,
    webhook: WebhookId,
    limit: u32,
) -> StoreResult<Vec<WebhookChangeRecord>> {
    let rows = sqlx::query(
        "SELECT at, keys FROM webhook_changes WHERE webhook_id = $1 ORDER BY seq DESC LIMIT $2",
    )
    .bind(webhook.to_string())
    .bind(i64::from(limit))
    .fetch_all(&s.pool)
    .await?;
    rows.iter().map(change_record).collect()
}

pub(super) async fn forget_expired_secrets(s: &PgStore, now: Timestamp) -> StoreResult<u64> {
    let done = sqlx::query(
        "UPDATE webhooks SET previous_secret = NULL, previous_secret_until = NULL
         WHERE previous_secret_until <= $1",
    )
    .bind(now.millis())
    .execute(&s.pool)
    .await?;
    Ok(done.rows_affected())
}
