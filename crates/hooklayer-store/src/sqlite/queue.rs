//! The delivery queue on SQLite: ingest (the outbox write), claims, attempt outcomes.

use super::script::Script;
use super::{begin_ingest, begin_write, placeholders, SqliteStore};
use crate::handoff::{Handoff, HandoffPicker, IngestHook, Ingested, INGEST_WEBHOOK_COLUMNS};
use crate::model::*;
use crate::rows::{claimed, stored_answer, LinePlaces, CLAIMED_COLUMNS};
use crate::StoreResult;
use hooklayer_core::event::NewEvent;
use hooklayer_core::ids::{AppId, RequestId};
use hooklayer_core::time::Timestamp;
use sqlx::Row;
use std::collections::{HashMap, HashSet};

/// Rows per multi-row statement; well under SQLite's bound-parameter limit.
pub(super) const ROWS_PER_STATEMENT: usize = 400;

/// `(?, ?, …), (?, ?, …)`: `rows` groups of `columns` placeholders.
fn value_rows(rows: usize, columns: usize) -> String {
    let one = format!("({})", placeholders(columns));
    vec![one; rows].join(", ")
}

// PERFORMANCE: every statement is a round trip to the connection's thread, so ingest writes
// a whole batch with one multi-row INSERT for the events and one for the deliveries, instead
// of a statement per row.
pub(super) async fn ingest(
    s: &SqliteStore,
    app: AppId,
    events: &[NewEvent],
    now: Timestamp,
    handoff: &Handoff,
) -> StoreResult<Ingested> {
    let app_id = app.to_string();
    let mut tx = begin_ingest(s).await?;
    let hooks = sqlx::query(&format!(
        "SELECT {INGEST_WEBHOOK_COLUMNS} FROM webhooks WHERE app_id = ? AND status = 'active'"
    ))
    .bind(&app_id)
    .fetch_all(&mut *tx)
    .await?
    .iter()
    .map(IngestHook::read)
    .collect::<StoreResult<Vec<_>>>()?;
    let targets = |event: &NewEvent| -> Vec<&IngestHook> {
        hooks.iter().filter(|hook| hook.subscribes(event)).collect()
    };

    // 1. Insert the events; RETURNING names the ones that were new (the rest already existed,
    //    or repeat an id earlier in this batch).
    let mut inserted: HashSet<String> = HashSet::with_capacity(events.len());
    for chunk in events.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO events (app_id, id, type, created_at, ingested_at, payload, deliveries)
             VALUES {} ON CONFLICT DO NOTHING RETURNING id",
            value_rows(chunk.len(), 7)
        );
        let mut q = sqlx::query_scalar::<_, String>(&sql);
        for event in chunk {
            q = q
                .bind(&app_id)
                .bind(event.id.to_string())
                .bind(event.event_type.as_str())
                .bind(event.created_at.millis())
                .bind(now.millis())
                .bind(&event.payload_prefix)
                .bind(targets(event).len() as i64);
        }
        inserted.extend(q.fetch_all(&mut *tx).await?);
    }

    // 2. Answer each event in order: new ones with their fan-out, repeats with the first answer.
    let mut answers = Vec::with_capacity(events.len());
    let mut first: HashMap<String, IngestAnswer> = HashMap::new();
    let mut new_events: Vec<&NewEvent> = Vec::with_capacity(events.len());
    let mut stored: Vec<String> = Vec::new();
    for event in events {
        let id = event.id.to_string();
        if let Some(answer) = first.get(&id) {
            answers.push(Some(answer.clone()));
        } else if inserted.contains(&id) {
            let answer = IngestAnswer::first(event, targets(event).len());
            first.insert(id, answer.clone());
            new_events.push(event);
            answers.push(Some(answer));
        } else {
            stored.push(id);
            answers.push(None);
        }
    }
    let mut earlier: HashMap<String, IngestAnswer> = HashMap::new();
    for chunk in stored.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "SELECT id, type, created_at, deliveries FROM events WHERE app_id = ? AND id IN ({})",
            placeholders(chunk.len())
        );
        let mut q = sqlx::query(&sql).bind(&app_id);
        for id in chunk {
            q = q.bind(id);
        }
        for row in q.fetch_all(&mut *tx).await? {
            let answer = stored_answer(&row)?;
            earlier.insert(answer.id.to_string(), answer);
        }
    }

    // 3. Queue the deliveries of the new events, claiming what the handoff takes.
    let deliveries: Vec<(&NewEvent, &IngestHook)> = new_events
        .iter()
        .flat_map(|event| targets(event).into_iter().map(move |hook| (*event, hook)))
        .collect();
    let mut lines = LinePlaces::default();
    for hook in hooks.iter().filter(|hook| hook.shaped) {
        let count = deliveries.iter().filter(|(_, h)| h.id == hook.id).count() as i64;
        if count > 0 {
            let end: i64 = sqlx::query_scalar(
                "UPDATE webhooks SET line_seq = line_seq + ? WHERE id = ? RETURNING line_seq",
            )
            .bind(count)
            .bind(&hook.id)
            .fetch_one(&mut *tx)
            .await?;
            lines.reserve(&hook.id, end - count);
        }
    }
    let mut picker = HandoffPicker::new(handoff, app, now);
    for chunk in deliveries.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO deliveries (request_id, app_id, webhook_id, event_id, event_type, status, created_at, next_attempt_at, line_seq)
             VALUES {}",
            value_rows(chunk.len(), 9)
        );
        let mut q = sqlx::query(&sql);
        for (event, hook) in chunk {
            let (request_id, due) = picker.queue(event, hook)?;
            q = q
                .bind(request_id.to_string())
                .bind(&app_id)
                .bind(&hook.id)
                .bind(event.id.to_string())
                .bind(event.event_type.as_str())
                .bind("pending")
                .bind(now.millis())
                .bind(due.millis())
                .bind(lines.next(&hook.id));
        }
        q.execute(&mut *tx).await?;
    }
    tx.commit().await?;

    let answers = answers
        .into_iter()
        .zip(events)
        .map(|(answer, event)| match answer {
            Some(a) => Ok(a),
            None => earlier.get(&event.id.to_string()).cloned().ok_or_else(|| {
                crate::StoreError::Corrupt(format!("event {} vanished during ingest", event.id))
            }),
        })
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(Ingested {
        answers,
        claimed: picker.into_claimed(),
    })
}

pub(super) async fn claim_due(
    s: &SqliteStore,
    claim: &Claim,
    lane: ClaimLane,
) -> StoreResult<Vec<ClaimedDelivery>> {
    let skip = if claim.skip_webhooks.is_empty() {
        String::new()
    } else {
        format!(
            "AND d.webhook_id NOT IN ({})",
            placeholders(claim.skip_webhooks.len())
        )
    };
    let due = format!(
        "FROM deliveries d JOIN webhooks w ON w.id = d.webhook_id
         WHERE d.status = 'pending' AND d.next_attempt_at <= ? AND w.status = 'active' AND w.shaped = 0 {skip}"
    );
    let pick = match lane {
        ClaimLane::OldestDue => {
            format!("SELECT d.request_id {due} ORDER BY d.next_attempt_at LIMIT ?")
        }
        // The window walks deliveries_due backwards from now; only its first attempts qualify.
        ClaimLane::NewestFirstAttempts => format!(
            "SELECT request_id FROM (
                 SELECT d.request_id, d.attempts_made, d.next_attempt_at {due}
                 ORDER BY d.next_attempt_at DESC LIMIT {FRESH_WINDOW})
             WHERE attempts_made = 0 ORDER BY next_attempt_at DESC LIMIT ?"
        ),
    };
    let claim_sql = format!(
        "UPDATE deliveries SET next_attempt_at = ? WHERE request_id IN ({pick}) RETURNING request_id"
    );
    let mut tx = begin_write(s).await?;
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
