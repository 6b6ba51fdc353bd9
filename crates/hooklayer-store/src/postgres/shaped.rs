//! The shaped claim on PostgreSQL (SPEC §12): deliveries of webhooks with a rate limit, an
//! in-flight cap or ordered delivery, coordinated across every process by the webhook rows.
//!
//! CONCURRENCY: each shaped webhook's row is locked (`FOR NO KEY UPDATE SKIP LOCKED`) while
//! its allowance is worked out and its deliveries claimed, so one claimer at a time decides
//! for a webhook, across all processes: the token bucket in the row, the count of unexpired
//! shaped claims and the head of the line are read and changed under that lock. A webhook
//! row that another claimer, an ingest into its line or a change holds is skipped this round.
//! Delivery rows are taken with SKIP LOCKED too (a recorder may hold them), so the claim never
//! waits on a recorder that may be waiting on the webhook row (no lock cycle).

use super::PgStore;
use crate::model::{Claim, ShapedClaim};
use crate::rows::{claimed, CLAIMED_COLUMNS};
use crate::shaping::{earliest, shaped_webhook, ShapedWebhook, SHAPED_COLUMNS};
use crate::StoreResult;
use sqlx::PgConnection;

pub(super) async fn claim(s: &PgStore, claim: &Claim) -> StoreResult<ShapedClaim> {
    // PERFORMANCE: with no shaped webhook (the common case) one indexed read, no transaction.
    let any: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM webhooks WHERE shaped = 1 AND status = 'active')",
    )
    .fetch_one(&s.pool)
    .await?;
    if !any {
        return Ok(ShapedClaim::default());
    }
    let skip: Vec<String> = claim.skip_webhooks.iter().map(|w| w.to_string()).collect();
    let mut tx = s.pool.begin().await?;
    let sql = format!(
        "SELECT {SHAPED_COLUMNS} FROM webhooks
         WHERE shaped = 1 AND status = 'active' AND id <> ALL($1)
         ORDER BY id FOR NO KEY UPDATE SKIP LOCKED"
    );
    let hooks = sqlx::query(&sql).bind(&skip).fetch_all(&mut *tx).await?;
    let mut room = i64::from(claim.limit);
    let mut ids: Vec<String> = Vec::new();
    let mut wake_at = None;
    for row in &hooks {
        if room == 0 {
            break;
        }
        let w = shaped_webhook(row)?;
        let taken = take(&mut tx, &w, claim, room).await?;
        room -= taken.len() as i64;
        if let Some((tokens, at)) = w.after_taking(taken.len() as i64, claim.now) {
            sqlx::query("UPDATE webhooks SET rate_tokens = $1, rate_at = $2 WHERE id = $3")
                .bind(tokens)
                .bind(at)
                .bind(&w.id)
                .execute(&mut *tx)
                .await?;
            wake_at = earliest(wake_at, w.next_token_at(taken.len() as i64, claim.now));
        }
        ids.extend(taken);
    }
    let deliveries = if ids.is_empty() {
        Vec::new()
    } else {
        let sql = format!(
            "SELECT {CLAIMED_COLUMNS}
             FROM deliveries d
             JOIN events e ON e.app_id = d.app_id AND e.id = d.event_id
             JOIN webhooks w ON w.id = d.webhook_id
             WHERE d.request_id = ANY($1) ORDER BY d.line_seq"
        );
        let rows = sqlx::query(&sql).bind(&ids).fetch_all(&mut *tx).await?;
        rows.iter().map(claimed).collect::<StoreResult<Vec<_>>>()?
    };
    tx.commit().await?;
    Ok(ShapedClaim {
        deliveries,
        wake_at,
    })
}

/// Claims what one shaped webhook may send now; returns the request ids.
async fn take(
    tx: &mut PgConnection,
    w: &ShapedWebhook,
    claim: &Claim,
    room: i64,
) -> StoreResult<Vec<String>> {
    let now = claim.now.millis();
    let in_flight: i64 = if w.max_in_flight.is_some() {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM deliveries WHERE webhook_id = $1 AND status = 'pending'
             AND leased_until > $2 AND next_attempt_at = leased_until",
        )
        .bind(&w.id)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?
    } else {
        0
    };
    let allowance = w.allowance(room, in_flight, claim.now);
    if allowance == 0 {
        return Ok(Vec::new());
    }
    let pick = if w.ordered {
        // Only the head of the line, only when due (not waiting on a retry nor held by a
        // claim), and only if no recorder holds it right now: skipping to the next one would
        // break the order, so a locked head means nothing this round.
        "SELECT request_id FROM deliveries WHERE request_id = (
             SELECT request_id FROM deliveries
             WHERE webhook_id = $3 AND status = 'pending' AND line_seq IS NOT NULL
             ORDER BY line_seq LIMIT 1)
           AND status = 'pending' AND next_attempt_at <= $4 AND $5 > 0
         FOR UPDATE SKIP LOCKED"
    } else {
        "SELECT request_id FROM deliveries
         WHERE webhook_id = $3 AND status = 'pending' AND line_seq IS NOT NULL AND next_attempt_at <= $4
         ORDER BY line_seq LIMIT $5 FOR UPDATE SKIP LOCKED"
    };
    let sql = format!(
        "WITH picked AS MATERIALIZED ({pick})
         UPDATE deliveries SET next_attempt_at = $1, leased_until = $2
         WHERE request_id IN (SELECT request_id FROM picked) RETURNING request_id"
    );
    let lease = claim.lease_until.millis();
    Ok(sqlx::query_scalar(&sql)
        .bind(lease)
        .bind(lease)
        .bind(&w.id)
        .bind(now)
        .bind(allowance)
        .fetch_all(&mut *tx)
        .await?)
}
