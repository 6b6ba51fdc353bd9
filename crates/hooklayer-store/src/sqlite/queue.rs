//! The delivery queue on SQLite: claims and attempt outcomes (ingest, the outbox write, is
//! [`super::ingest`]).

use super::script::Script;
use super::{begin_write, placeholders, SqliteStore};
use crate::model::*;
use crate::rows::{claimed, CLAIMED_COLUMNS};
use crate::StoreResult;
use hooklayer_core::ids::RequestId;
use hooklayer_core::time::Timestamp;
use sqlx::Row;

/// Rows per multi-row statement; well under SQLite's bound-parameter limit.
pub(super) const ROWS_PER_STATEMENT: usize = 400;

/// `(?, ?, …), (?, ?, …)`: `rows` groups of `columns` placeholders.
pub(super) fn value_rows(rows: usize, columns: usize) -> String {
    let one = format!("({})", placeholders(columns));
    vec![one; rows].join(", ")
}

/// Due deliveries of active webhooks with default delivery settings (`$2`: now), skipped
/// webhooks included: every lane bounds its walk of them before it leaves the skipped
/// webhooks out, so a claim never walks a skipped webhook's whole due backlog.
const DUE: &str = "FROM deliveries d JOIN webhooks w ON w.id = d.webhook_id
     WHERE d.status = 'pending' AND d.next_attempt_at <= $2 AND w.status = 'active' AND w.shaped = 0";

/// The pick of [`ClaimLane::OldestDue`] while `skip` (a list of parameters) is skipped:
/// the [`SKIP_WINDOW`] longest due deliveries without the skipped webhooks' (`near`); only
/// when that window is full and holds fewer than the limit (`$3`) are the other webhooks'
/// due deliveries looked up webhook by webhook (`far`: the webhooks table drives the join,
/// each webhook's pending deliveries found through `deliveries_open`), whatever the skipped
/// webhooks have due. `far`'s `d.status <> 'succeeded'`, implied by `'pending'`, is there so
/// that SQLite sees it may use that partial index.
fn oldest_due_skipping(skip: &str) -> String {
    format!(
        "WITH win AS MATERIALIZED (
             SELECT d.request_id, d.webhook_id, d.next_attempt_at {DUE}
             ORDER BY d.next_attempt_at LIMIT {SKIP_WINDOW}),
         near AS MATERIALIZED (
             SELECT request_id, next_attempt_at FROM win WHERE webhook_id NOT IN ({skip})
             ORDER BY next_attempt_at LIMIT $3),
         far AS (
             SELECT d.request_id, d.next_attempt_at FROM webhooks w CROSS JOIN deliveries d
             WHERE (SELECT count(*) FROM win) = {SKIP_WINDOW} AND (SELECT count(*) FROM near) < $3
               AND w.status = 'active' AND w.shaped = 0 AND w.id NOT IN ({skip})
               AND d.webhook_id = w.id AND d.status = 'pending' AND d.status <> 'succeeded'
               AND d.next_attempt_at <= $2
             ORDER BY d.next_attempt_at LIMIT $3)
         SELECT request_id FROM (SELECT * FROM near UNION SELECT * FROM far)
         ORDER BY next_attempt_at LIMIT $3"
    )
}

pub(super) async fn claim_due(
    s: &SqliteStore,
    claim: &Claim,
    lane: ClaimLane,
) -> StoreResult<Vec<ClaimedDelivery>> {
    // $1 lease end, $2 now, $3 limit, $4… the skipped webhooks.
    let skip = (!claim.skip_webhooks.is_empty()).then(|| {
        (4..4 + claim.skip_webhooks.len())
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", ")
    });
    let pick = match (lane, &skip) {
        (ClaimLane::OldestDue, None) => {
            format!("SELECT d.request_id {DUE} ORDER BY d.next_attempt_at LIMIT $3")
        }
        (ClaimLane::OldestDue, Some(skip)) => oldest_due_skipping(skip),
        // The window walks deliveries_due backwards from now; only its first attempts of
        // webhooks not skipped qualify.
        (ClaimLane::NewestFirstAttempts, skip) => format!(
            "SELECT request_id FROM (
                 SELECT d.request_id, d.webhook_id, d.attempts_made, d.next_attempt_at {DUE}
                 ORDER BY d.next_attempt_at DESC LIMIT {FRESH_WINDOW})
             WHERE attempts_made = 0 {} ORDER BY next_attempt_at DESC LIMIT $3",
            skip.as_ref()
                .map(|skip| format!("AND webhook_id NOT IN ({skip})"))
                .unwrap_or_default()
        ),
    };
    let claim_sql = format!(
        "UPDATE deliveries SET next_attempt_at = $1 WHERE request_id IN ({pick}) RETURNING request_id"
    );
    let mut tx = begin_write(s).await?;
    let mut q = sqlx::query_scalar::<_, String>(&claim_sql)
        .bind(claim.lease_until.millis())
        .bind(claim.now.millis())
        .bind(i64::from(claim.limit));
    for w in &claim.skip_webhooks {
        q = q.bind(w.to_string());
    }
    let ids = q.fetch_all(&mut *tx).await?;
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

// PERFORMANCE: one statement for all the attempts of a batch, one for its successes, one for
// its reschedules and one per statistics table, sent together as one script (one round trip
// to the connection's thread; see `script`); only exhaustions (rare) go row by row.
pub(super) async fn record_attempts(s: &SqliteStore, records: &[AttemptRecord]) -> StoreResult<()> {
    let mut script = Script::default();
    for chunk in records.chunks(ROWS_PER_STATEMENT) {
        // The delivery may have been deleted with its webhook meanwhile: insert only if it exists.
        script.statement(&format!(
            "INSERT INTO attempts (request_id, at, duration_ms, status_code, error, response_body)
             SELECT v.column1, v.column2, v.column3, v.column4, v.column5, v.column6
             FROM (VALUES {}) AS v
             WHERE EXISTS (SELECT 1 FROM deliveries d WHERE d.request_id = v.column1)",
            value_rows(chunk.len(), 6)
        ));
        for r in chunk {
            let a = &r.attempt;
            script
                .bind(r.request_id.to_string())
                .bind(a.at.millis())
                .bind(i64::from(a.duration_ms))
                .bind(a.status_code.map(i64::from))
                .bind(a.error.clone())
                .bind(a.response_body.clone());
        }
    }

    let finished_at = |r: &AttemptRecord| r.attempt.at.millis() + i64::from(r.attempt.duration_ms);
    let succeeded: Vec<(String, i64, i64)> = records
        .iter()
        .filter(|r| r.outcome == AttemptOutcome::Succeeded)
        .map(|r| {
            (
                r.request_id.to_string(),
                finished_at(r),
                r.lease_until.millis(),
            )
        })
        .collect();
    let retried: Vec<(String, i64, i64)> = records
        .iter()
        .filter_map(|r| match r.outcome {
            AttemptOutcome::RetryAt(at) => Some((
                r.request_id.to_string(),
                at.millis(),
                r.lease_until.millis(),
            )),
            _ => None,
        })
        .collect();
    // The claim check sits in the SET expressions, not the WHERE clause: a predicate on
    // next_attempt_at lets SQLite's planner leave the request_id lookup (measured: 15 % of
    // end-to-end throughput). A stale row is rewritten with its own values. Every SET
    // expression reads the row as it was before the update.
    const HELD: &str = "deliveries.next_attempt_at = v.column3";
    let updates = [
        (
            succeeded,
            format!(
                "status = CASE WHEN {HELD} THEN 'succeeded' ELSE deliveries.status END,
                 finished_at = CASE WHEN {HELD} THEN v.column2 ELSE deliveries.finished_at END,
                 next_attempt_at = CASE WHEN {HELD} THEN NULL ELSE deliveries.next_attempt_at END"
            ),
        ),
        (
            retried,
            format!("next_attempt_at = CASE WHEN {HELD} THEN v.column2 ELSE deliveries.next_attempt_at END"),
        ),
    ];
    for (rows, set) in updates {
        for chunk in rows.chunks(ROWS_PER_STATEMENT) {
            script.statement(&format!(
                "UPDATE deliveries SET {set}, attempts_made = deliveries.attempts_made + ({HELD})
                 FROM (VALUES {}) AS v
                 WHERE deliveries.request_id = v.column1 AND deliveries.status = 'pending'",
                value_rows(chunk.len(), 3)
            ));
            for (id, value, lease) in chunk {
                script.bind(id.clone()).bind(*value).bind(*lease);
            }
        }
    }
    // The dashboard's statistics count the batch in the same commit.
    super::stats::add_to_script(&mut script, &crate::rollup::stat_deltas(records));

    let mut tx = begin_write(s).await?;
    script.run(&mut tx).await?;

    // Exhaustions last, so a success in the same batch for the same webhook is kept.
    for r in records {
        let AttemptOutcome::Exhausted { webhook_reason } = &r.outcome else {
            continue;
        };
        let finished = finished_at(r);
        let failed = sqlx::query(
            "UPDATE deliveries SET status = 'failed', next_attempt_at = NULL, finished_at = ?,
             attempts_made = attempts_made + 1
             WHERE request_id = ? AND status = 'pending' AND +next_attempt_at = ?",
        )
        .bind(finished)
        .bind(r.request_id.to_string())
        .bind(r.lease_until.millis())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if failed > 0 {
            let webhook = r.webhook.to_string();
            let mut then = Script::default();
            then.statement(
                "UPDATE webhooks SET status = 'inactive', status_reason = ? WHERE id = ? AND status = 'active'",
            )
            .bind(webhook_reason.clone())
            .bind(webhook.clone());
            then.statement(
                "UPDATE deliveries SET status = 'failed', next_attempt_at = NULL, finished_at = ?
                 WHERE webhook_id = ? AND status = 'pending'",
            )
            .bind(finished)
            .bind(webhook);
            then.run(&mut tx).await?;
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
            (SELECT COUNT(*) FROM deliveries WHERE status = 'failed') AS failed,
            (SELECT COUNT(*) FROM deliveries WHERE status = 'pending' AND line_seq IS NOT NULL
               AND next_attempt_at <= ? AND webhook_id IN (SELECT id FROM webhooks
                   WHERE shaped = 1 AND rate_limit IS NOT NULL AND status = 'active')) AS rate_limited,
            (SELECT COUNT(*) - COUNT(DISTINCT webhook_id) FROM deliveries
             WHERE status = 'pending' AND line_seq IS NOT NULL AND webhook_id IN (SELECT id FROM webhooks
                   WHERE shaped = 1 AND ordered = 1 AND status = 'active')) AS in_line",
    )
    .bind(now.millis())
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
        rate_limited: n("rate_limited")?,
        in_line: n("in_line")?,
    })
}
