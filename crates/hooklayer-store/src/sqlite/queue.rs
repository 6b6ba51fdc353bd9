//! The delivery queue on SQLite: ingest (the outbox write), claims, attempt outcomes.

use super::{placeholders, SqliteStore};
use crate::model::*;
use crate::rows::{claimed, in_apply_order, stored_answer, subscribes, CLAIMED_COLUMNS};
use crate::StoreResult;
use hooklayer_core::event::NewEvent;
use hooklayer_core::ids::{AppId, RequestId};
use hooklayer_core::time::Timestamp;
use sqlx::Row;

pub(super) async fn ingest(
    s: &SqliteStore,
    app: AppId,
    events: &[NewEvent],
    now: Timestamp,
) -> StoreResult<Vec<IngestAnswer>> {
    let app_id = app.to_string();
    let mut tx = s.writer.begin().await?;
    let hooks: Vec<(String, String)> =
        sqlx::query_as("SELECT id, events FROM webhooks WHERE app_id = ? AND status = 'active'")
            .bind(&app_id)
            .fetch_all(&mut *tx)
            .await?;
    let mut answers = Vec::with_capacity(events.len());
    for event in events {
        let event_id = event.id.to_string();
        let targets: Vec<&str> = hooks
            .iter()
            .filter(|(_, subscribed)| subscribes(subscribed, event.event_type))
            .map(|(id, _)| id.as_str())
            .collect();
        let inserted = sqlx::query(
            "INSERT INTO events (app_id, id, type, created_at, ingested_at, payload, deliveries)
             VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        )
        .bind(&app_id)
        .bind(&event_id)
        .bind(event.event_type.as_str())
        .bind(event.created_at.millis())
        .bind(now.millis())
        .bind(&event.payload_prefix)
        .bind(targets.len() as i64)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 0 {
            // Idempotency: the app already has this id; the first answer stands.
            let row = sqlx::query(
                "SELECT id, type, created_at, deliveries FROM events WHERE app_id = ? AND id = ?",
            )
            .bind(&app_id)
            .bind(&event_id)
            .fetch_one(&mut *tx)
            .await?;
            answers.push(stored_answer(&row)?);
            continue;
        }
        for webhook_id in &targets {
            sqlx::query(
                "INSERT INTO deliveries (request_id, app_id, webhook_id, event_id, event_type, status, created_at, next_attempt_at)
                 VALUES (?, ?, ?, ?, ?, 'pending', ?, ?)",
            )
            .bind(RequestId::new().to_string())
            .bind(&app_id)
            .bind(*webhook_id)
            .bind(&event_id)
            .bind(event.event_type.as_str())
            .bind(now.millis())
            .bind(now.millis())
            .execute(&mut *tx)
            .await?;
        }
        answers.push(IngestAnswer::first(event, targets.len()));
    }
    tx.commit().await?;
    Ok(answers)
}

pub(super) async fn claim_due(s: &SqliteStore, claim: &Claim) -> StoreResult<Vec<ClaimedDelivery>> {
    let skip = if claim.skip_webhooks.is_empty() {
        String::new()
    } else {
        format!(
            "AND d.webhook_id NOT IN ({})",
            placeholders(claim.skip_webhooks.len())
        )
    };
    let claim_sql = format!(
        "UPDATE deliveries SET next_attempt_at = ? WHERE request_id IN (
             SELECT d.request_id FROM deliveries d JOIN webhooks w ON w.id = d.webhook_id
             WHERE d.status = 'pending' AND d.next_attempt_at <= ? AND w.status = 'active' {skip}
             ORDER BY d.next_attempt_at LIMIT ?)
         RETURNING request_id"
    );
    let mut tx = s.writer.begin().await?;
    let mut q = sqlx::query_scalar::<_, String>(&claim_sql)
        .bind(claim.lease_until.millis())
        .bind(claim.now.millis());
    for w in &claim.skip_webhooks {
        q = q.bind(w.to_string());
    }
    let ids = q.bind(i64::from(claim.limit)).fetch_all(&mut *tx).await?;
    if ids.is_empty() {
        tx.commit().await?;
        return Ok(Vec::new());
    }
    let detail_sql = format!(
        "SELECT {CLAIMED_COLUMNS}
         FROM deliveries d
         JOIN events e ON e.app_id = d.app_id AND e.id = d.event_id
         JOIN webhooks w ON w.id = d.webhook_id
         WHERE d.request_id IN ({})",
        placeholders(ids.len())
    );
    let mut q = sqlx::query(&detail_sql);
    for id in &ids {
        q = q.bind(id);
    }
    let rows = q.fetch_all(&mut *tx).await?;
    tx.commit().await?;
    rows.iter().map(claimed).collect()
}

pub(super) async fn record_attempts(s: &SqliteStore, records: &[AttemptRecord]) -> StoreResult<()> {
    let mut tx = s.writer.begin().await?;
    for r in in_apply_order(records) {
        let id = r.request_id.to_string();
        let a = &r.attempt;
        // The delivery may have been deleted with its webhook meanwhile: insert only if it exists.
        sqlx::query(
            "INSERT INTO attempts (request_id, at, duration_ms, status_code, error, response_body)
             SELECT ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM deliveries WHERE request_id = ?)",
        )
        .bind(&id)
        .bind(a.at.millis())
        .bind(i64::from(a.duration_ms))
        .bind(a.status_code.map(i64::from))
        .bind(a.error.as_deref())
        .bind(a.response_body.as_deref())
        .bind(&id)
        .execute(&mut *tx)
        .await?;
        let finished_at = a.at.millis() + i64::from(a.duration_ms);
        match &r.outcome {
            AttemptOutcome::Succeeded => {
                sqlx::query(
                    "UPDATE deliveries SET status = 'succeeded', next_attempt_at = NULL, finished_at = ?,
                     attempts_made = attempts_made + 1 WHERE request_id = ? AND status = 'pending'",
                )
                .bind(finished_at)
                .bind(&id)
                .execute(&mut *tx)
                .await?;
            }
            AttemptOutcome::RetryAt(at) => {
                sqlx::query(
                    "UPDATE deliveries SET next_attempt_at = ?, attempts_made = attempts_made + 1
                     WHERE request_id = ? AND status = 'pending'",
                )
                .bind(at.millis())
                .bind(&id)
                .execute(&mut *tx)
                .await?;
            }
            AttemptOutcome::Exhausted { webhook_reason } => {
                let failed = sqlx::query(
                    "UPDATE deliveries SET status = 'failed', next_attempt_at = NULL, finished_at = ?,
                     attempts_made = attempts_made + 1 WHERE request_id = ? AND status = 'pending'",
                )
                .bind(finished_at)
                .bind(&id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if failed > 0 {
                    let webhook = r.webhook.to_string();
                    sqlx::query("UPDATE webhooks SET status = 'inactive', status_reason = ? WHERE id = ? AND status = 'active'")
                        .bind(webhook_reason)
                        .bind(&webhook)
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query(
                        "UPDATE deliveries SET status = 'failed', next_attempt_at = NULL, finished_at = ?
                         WHERE webhook_id = ? AND status = 'pending'",
                    )
                    .bind(finished_at)
                    .bind(&webhook)
                    .execute(&mut *tx)
                    .await?;
                }
            }
        }
    }
    tx.commit().await?;
    Ok(())
}

pub(super) async fn release(s: &SqliteStore, ids: &[RequestId], now: Timestamp) -> StoreResult<()> {
    for chunk in ids.chunks(500) {
        let sql = format!(
            "UPDATE deliveries SET next_attempt_at = ? WHERE status = 'pending' AND request_id IN ({})",
            placeholders(chunk.len())
        );
        let mut q = sqlx::query(&sql).bind(now.millis());
        for id in chunk {
            q = q.bind(id.to_string());
        }
        q.execute(&s.writer).await?;
    }
    Ok(())
}

pub(super) async fn next_due(s: &SqliteStore) -> StoreResult<Option<Timestamp>> {
    let at: Option<i64> = sqlx::query_scalar(
        "SELECT d.next_attempt_at FROM deliveries d JOIN webhooks w ON w.id = d.webhook_id
         WHERE d.status = 'pending' AND w.status = 'active' ORDER BY d.next_attempt_at LIMIT 1",
    )
    .fetch_optional(&s.reader)
    .await?
    .flatten();
    Ok(at.map(Timestamp::from_millis))
}

pub(super) async fn depth(s: &SqliteStore, now: Timestamp) -> StoreResult<QueueDepth> {
    let row = sqlx::query(
        "SELECT
            (SELECT COUNT(*) FROM deliveries WHERE status = 'pending') AS pending,
            (SELECT COUNT(*) FROM deliveries WHERE status = 'pending' AND next_attempt_at <= ?) AS due,
            (SELECT COUNT(*) FROM deliveries WHERE status = 'failed') AS failed",
    )
    .bind(now.millis())
    .fetch_one(&s.reader)
    .await?;
    let n = |col: &str| -> StoreResult<u64> {
        Ok(u64::try_from(row.try_get::<i64, _>(col)?).unwrap_or(0))
    };
    Ok(QueueDepth {
        pending: n("pending")?,
        due: n("due")?,
        failed: n("failed")?,
    })
}
