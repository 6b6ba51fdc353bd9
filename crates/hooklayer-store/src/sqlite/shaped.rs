//! The shaped claim on SQLite (SPEC §12): deliveries of webhooks with a rate limit, an
//! in-flight cap or ordered delivery. The single writer serializes it with every other write,
//! so the webhook rows it reads stay as read until it commits.

use super::{begin_write, placeholders, SqliteStore};
use crate::model::{Claim, ShapedClaim};
use crate::rows::{claimed, CLAIMED_COLUMNS};
use crate::shaping::{earliest, shaped_webhook, ShapedWebhook, SHAPED_COLUMNS};
use crate::StoreResult;
use sqlx::SqliteConnection;

pub(super) async fn claim(s: &SqliteStore, claim: &Claim) -> StoreResult<ShapedClaim> {
    // PERFORMANCE: with no shaped webhook (the common case) the writer is not taken at all.
    let any: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM webhooks WHERE shaped = 1 AND status = 'active')",
    )
    .fetch_one(&s.reader)
    .await?;
    if !any {
        return Ok(ShapedClaim::default());
    }
    let mut tx = begin_write(s).await?;
    let sql =
        format!("SELECT {SHAPED_COLUMNS} FROM webhooks WHERE shaped = 1 AND status = 'active'");
    let hooks = sqlx::query(&sql).fetch_all(&mut *tx).await?;
    let mut room = i64::from(claim.limit);
    let mut ids = Vec::new();
    let mut wake_at = None;
    for row in &hooks {
        let w = shaped_webhook(row)?;
        if room == 0 {
            break;
        }
        if claim.skip_webhooks.iter().any(|id| id.to_string() == w.id) {
            continue;
        }
        let taken = take(&mut tx, &w, claim, room).await?;
        room -= taken.len() as i64;
        if let Some((tokens, at)) = w.after_taking(taken.len() as i64, claim.now) {
            sqlx::query("UPDATE webhooks SET rate_tokens = ?, rate_at = ? WHERE id = ?")
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
             WHERE d.request_id IN ({}) ORDER BY d.line_seq",
            placeholders(ids.len())
        );
        let mut q = sqlx::query(&sql);
        for id in &ids {
            q = q.bind(id);
        }
        let rows = q.fetch_all(&mut *tx).await?;
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
    tx: &mut SqliteConnection,
    w: &ShapedWebhook,
    claim: &Claim,
    room: i64,
) -> StoreResult<Vec<String>> {
    let now = claim.now.millis();
    let in_flight: i64 = if w.max_in_flight.is_some() {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM deliveries WHERE webhook_id = ? AND status = 'pending'
             AND leased_until > ? AND next_attempt_at = leased_until",
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
    // Ordered: only the head of the line, and only when it is due (not waiting on a retry
    // nor held by a claim). Unordered: the first due deliveries of the line.
    let pick = if w.ordered {
        "SELECT request_id FROM (SELECT request_id, next_attempt_at FROM deliveries
             WHERE webhook_id = ? AND status = 'pending' AND line_seq IS NOT NULL
             ORDER BY line_seq LIMIT 1) WHERE next_attempt_at <= ? LIMIT ?"
    } else {
        "SELECT request_id FROM deliveries
         WHERE webhook_id = ? AND status = 'pending' AND line_seq IS NOT NULL AND next_attempt_at <= ?
         ORDER BY line_seq LIMIT ?"
    };
    let sql = format!(
        "UPDATE deliveries SET next_attempt_at = ?, leased_until = ?
         WHERE request_id IN ({pick}) RETURNING request_id"
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
