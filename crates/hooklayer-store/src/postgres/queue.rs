//! The delivery queue on PostgreSQL: ingest (the outbox write), claims, attempt outcomes.
//!
//! Batches travel as arrays (`UNNEST($n::text[], …)`): one statement per batch whatever its
//! size, no limit on bind parameters, and statement text that stays the same so it is
//! prepared once per connection.

use super::changes::line_places;
use super::{retrying_deadlocks, PgStore, NOTIFY_WORK};
use crate::handoff::{Handoff, HandoffPicker, IngestHook, Ingested, INGEST_WEBHOOK_COLUMNS};
use crate::model::*;
use crate::rows::{claimed, parse, stored_answer, CLAIMED_COLUMNS};
use crate::StoreResult;
use hooklayer_core::event::NewEvent;
use hooklayer_core::ids::{AppId, EventId, RequestId};
use hooklayer_core::time::Timestamp;
use sqlx::Row;
use std::collections::{HashMap, HashSet};

pub(super) async fn ingest(
    s: &PgStore,
    app: AppId,
    events: &[NewEvent],
    now: Timestamp,
    handoff: &Handoff,
) -> StoreResult<Ingested> {
    if events.is_empty() {
        return Ok(Ingested::default());
    }
    let app_id = app.to_string();
    // An id repeated within the batch is stored once, as its first occurrence.
    let mut seen = HashSet::with_capacity(events.len());
    let unique: Vec<&NewEvent> = events.iter().filter(|e| seen.insert(e.id)).collect();

    let mut tx = s.pool.begin().await?;
    // CONCURRENCY: KEY SHARE keeps these webhooks from being deleted before commit, so no
    // delivery below can point at a webhook deleted meanwhile (status changes still go
    // through; the fan-out follows the statuses read here, as a snapshot would).
    let hooks = sqlx::query(&format!(
        "SELECT {INGEST_WEBHOOK_COLUMNS} FROM webhooks WHERE app_id = $1 AND status = 'active' FOR KEY SHARE"
    ))
    .bind(&app_id)
    .fetch_all(&mut *tx)
    .await?
    .iter()
    .map(IngestHook::read)
    .collect::<StoreResult<Vec<_>>>()?;
    let targets: Vec<Vec<&IngestHook>> = unique
        .iter()
        .map(|e| hooks.iter().filter(|hook| hook.subscribes(e)).collect())
        .collect();

    // Idempotency: an id the app already has conflicts and is left as it is.
    // PERFORMANCE: without a shaped webhook among the targets (whose line places are
    // reserved per new delivery), the deliveries are queued as if every event were new and
    // written by the events' own statement, one round trip less; they go in only if every
    // event did, else the new events' deliveries are queued below as for a shaped target.
    let one_statement = !targets.iter().flatten().any(|hook| hook.shaped);
    let (mut picker, mut queued) = if one_statement {
        queue_deliveries(handoff, app, now, &unique, &targets, |_| true)?
    } else {
        (HandoffPicker::new(handoff, app, now), Deliveries::default())
    };
    let inserted: Vec<String> = sqlx::query_scalar(&format!(
        "WITH ev AS ({INSERT_EVENTS}), dl AS ({INSERT_ALL_NEW_DELIVERIES}) SELECT id FROM ev"
    ))
    .bind(&app_id)
    .bind(now.millis())
    .bind(column(&unique, |e| e.id.to_string()))
    .bind(column(&unique, |e| e.event_type.as_str()))
    .bind(column(&unique, |e| e.created_at.millis()))
    .bind(column(&unique, |e| e.payload_prefix.as_str()))
    .bind(targets.iter().map(|t| t.len() as i64).collect::<Vec<_>>())
    .bind(&queued.request_ids)
    .bind(&queued.webhook_ids)
    .bind(&queued.event_ids)
    .bind(&queued.event_types)
    .bind(&queued.due)
    .fetch_all(&mut *tx)
    .await?;
    let inserted = inserted
        .iter()
        .map(|id| parse(id, "events.id"))
        .collect::<StoreResult<HashSet<EventId>>>()?;
    let deliveries_written = one_statement && inserted.len() == unique.len();
    if !deliveries_written {
        let new = |e: &NewEvent| inserted.contains(&e.id);
        (picker, queued) = queue_deliveries(handoff, app, now, &unique, &targets, new)?;
    }

    let mut answers: HashMap<EventId, IngestAnswer> = HashMap::with_capacity(unique.len());
    for (event, targets) in unique.iter().zip(&targets) {
        if inserted.contains(&event.id) {
            answers.insert(event.id, IngestAnswer::first(event, targets.len()));
        }
    }
    let claimed = picker.into_claimed();
    if !queued.request_ids.is_empty() {
        if !deliveries_written {
            let shaped = hooks.iter().filter(|h| h.shaped).map(|h| h.id.as_str());
            let line_seqs = line_places(&mut tx, shaped, &queued.webhook_ids).await?;
            sqlx::query(
                "INSERT INTO deliveries (request_id, app_id, webhook_id, event_id, event_type, status,
                                         created_at, next_attempt_at, line_seq)
                 SELECT d.request_id, $1, d.webhook_id, d.event_id, d.event_type, 'pending', $2, d.due, d.line_seq
                 FROM UNNEST($3::text[], $4::text[], $5::text[], $6::text[], $7::int8[], $8::int8[])
                      AS d(request_id, webhook_id, event_id, event_type, line_seq, due)",
            )
            .bind(&app_id)
            .bind(now.millis())
            .bind(&queued.request_ids)
            .bind(&queued.webhook_ids)
            .bind(&queued.event_ids)
            .bind(&queued.event_types)
            .bind(&line_seqs)
            .bind(&queued.due)
            .execute(&mut *tx)
            .await?;
        }
        // Other workers need to hear only of what this process's worker did not take.
        if queued.request_ids.len() > claimed.len() {
            sqlx::query(NOTIFY_WORK).execute(&mut *tx).await?;
        }
    }

    // The first answers of the ids the app already had.
    let known: Vec<String> = unique
        .iter()
        .filter(|e| !inserted.contains(&e.id))
        .map(|e| e.id.to_string())
        .collect();
    if !known.is_empty() {
        let found = sqlx::query(
            "SELECT id, type, created_at, deliveries FROM events WHERE app_id = $1 AND id = ANY($2)",
        )
        .bind(&app_id)
        .bind(&known)
        .fetch_all(&mut *tx)
        .await?;
        for r in &found {
            let answer = stored_answer(r)?;
            answers.insert(answer.id, answer);
        }
    }
    tx.commit().await?;
    // An id that neither went in nor was found was purged between the two statements (it
    // had outlived retention): the caller may simply publish again.
    let answers = events
        .iter()
        .map(|e| {
            answers
                .get(&e.id)
                .cloned()
                .ok_or_else(|| sqlx::Error::RowNotFound.into())
        })
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(Ingested { answers, claimed })
}

/// The events of an ingest (`$1` app, `$2` now, `$3`–`$7` the events' columns).
const INSERT_EVENTS: &str =
    "INSERT INTO events (app_id, id, type, created_at, ingested_at, payload, deliveries)
     SELECT $1, e.id, e.type, e.created_at, $2, e.payload, e.deliveries
     FROM UNNEST($3::text[], $4::text[], $5::int8[], $6::text[], $7::int8[])
          AS e(id, type, created_at, payload, deliveries)
     ON CONFLICT DO NOTHING
     RETURNING id";

/// The deliveries queued as if every event were new (`$8`–`$12`), written only if every
/// event went in (the `ev` part returned one row per event).
const INSERT_ALL_NEW_DELIVERIES: &str =
    "INSERT INTO deliveries (request_id, app_id, webhook_id, event_id, event_type, status,
                             created_at, next_attempt_at, line_seq)
     SELECT d.request_id, $1, d.webhook_id, d.event_id, d.event_type, 'pending', $2, d.due, NULL
     FROM UNNEST($8::text[], $9::text[], $10::text[], $11::text[], $12::int8[])
          AS d(request_id, webhook_id, event_id, event_type, due)
     WHERE (SELECT count(*) FROM ev) = cardinality($3::text[])";

/// The deliveries of the events `new` accepts, each given its request id and due time, and
/// the picker holding the ones handed off.
fn queue_deliveries<'a>(
    handoff: &'a Handoff,
    app: AppId,
    now: Timestamp,
    unique: &[&NewEvent],
    targets: &[Vec<&'a IngestHook>],
    new: impl Fn(&NewEvent) -> bool,
) -> StoreResult<(HandoffPicker<'a>, Deliveries<'a>)> {
    let mut picker = HandoffPicker::new(handoff, app, now);
    let mut queued = Deliveries::default();
    for (event, targets) in unique.iter().zip(targets) {
        if !new(event) {
            continue;
        }
        for hook in targets {
            let (request_id, due) = picker.queue(event, hook)?;
            queued.push(event, hook, request_id, due);
        }
    }
    Ok((picker, queued))
}

/// One column of a batch, as an array to bind.
fn column<'a, R, T>(rows: &'a [R], f: impl Fn(&'a R) -> T) -> Vec<T> {
    rows.iter().map(f).collect()
}

/// The columns of the deliveries one ingest queues, as arrays.
#[derive(Default)]
struct Deliveries<'a> {
    request_ids: Vec<String>,
    webhook_ids: Vec<&'a str>,
    event_ids: Vec<String>,
    event_types: Vec<&'static str>,
    /// `next_attempt_at`: now, or the lease end of a handed-off delivery.
    due: Vec<i64>,
}

impl<'a> Deliveries<'a> {
    fn push(&mut self, event: &NewEvent, hook: &'a IngestHook, id: RequestId, due: Timestamp) {
        self.request_ids.push(id.to_string());
        self.webhook_ids.push(hook.id.as_str());
        self.event_ids.push(event.id.to_string());
        self.event_types.push(event.event_type.as_str());
        self.due.push(due.millis());
    }
}

/// A claim slower than this suggests stale planner statistics.
const SLOW_CLAIM: std::time::Duration = std::time::Duration::from_millis(100);

/// Due deliveries of active webhooks with default delivery settings (`$2`: now), skipped
/// webhooks included (see [`claim_due`]).
const DUE: &str = "FROM deliveries d JOIN webhooks w ON w.id = d.webhook_id
     WHERE d.status = 'pending' AND d.next_attempt_at <= $2 AND w.status = 'active' AND w.shaped = 0";

/// Locks up to the limit (`$4`) of the deliveries `pick` names, taken in `order` of their
/// due time, passing over those another worker holds, and only while they are still due.
/// The picks name up to [`PICK_SPARE`] times the limit: workers claiming at once pick from
/// the same window unlocked, and the spare lets each lock a full batch past the others'.
fn lock_picked(pick: &str, order: &str) -> String {
    format!(
        "SELECT d.request_id FROM deliveries d
         WHERE d.request_id = ANY(ARRAY({pick}))
           AND d.status = 'pending' AND d.next_attempt_at <= $2
         ORDER BY d.next_attempt_at {order} LIMIT $4
         FOR UPDATE OF d SKIP LOCKED"
    )
}

/// How many times the limit a skipping pick names (see [`lock_picked`]).
const PICK_SPARE: u32 = 4;

/// The pick of [`ClaimLane::OldestDue`] while webhooks (`$3`) are skipped: the
/// [`SKIP_WINDOW`] longest due deliveries without the skipped webhooks' (`near`); only when
/// that window is full and holds fewer than the limit (`$4`) are the other webhooks' due
/// deliveries looked up webhook by webhook (`far`), whatever the skipped webhooks have due.
fn oldest_due_skipping() -> String {
    format!(
        "WITH win AS MATERIALIZED (
             SELECT d.request_id, d.webhook_id, d.next_attempt_at {DUE}
             ORDER BY d.next_attempt_at LIMIT {SKIP_WINDOW}),
         near AS MATERIALIZED (
             SELECT request_id, next_attempt_at FROM win WHERE webhook_id <> ALL($3)
             ORDER BY next_attempt_at LIMIT {PICK_SPARE} * $4),
         far AS (
             SELECT x.request_id, x.next_attempt_at FROM webhooks w CROSS JOIN LATERAL (
                 SELECT d.request_id, d.next_attempt_at FROM deliveries d
                 WHERE d.webhook_id = w.id AND d.status = 'pending' AND d.next_attempt_at <= $2
                 ORDER BY d.next_attempt_at LIMIT {PICK_SPARE} * $4) x
             WHERE (SELECT count(*) FROM win) = {SKIP_WINDOW} AND (SELECT count(*) FROM near) < $4
               AND w.status = 'active' AND w.shaped = 0 AND w.id <> ALL($3)
             ORDER BY x.next_attempt_at LIMIT {PICK_SPARE} * $4)
         SELECT request_id FROM (SELECT * FROM near UNION SELECT * FROM far) picked
         ORDER BY next_attempt_at LIMIT {PICK_SPARE} * $4"
    )
}

pub(super) async fn claim_due(
    s: &PgStore,
    claim: &Claim,
    lane: ClaimLane,
) -> StoreResult<Vec<ClaimedDelivery>> {
    // CONCURRENCY: the pick locks the deliveries it takes (OF d: never the webhook rows, which
    // would make other workers skip every delivery of that webhook) and SKIP LOCKED passes
    // over rows another worker is claiming right now. A row another worker claimed and
    // committed meanwhile is re-checked after locking and no longer due. MATERIALIZED runs
    // the pick exactly once, so the update touches exactly the rows it locked.
    // Without a skipped webhook the oldest due are locked as the walk finds them. With one,
    // every lane bounds its walk of the due rows before it leaves the skipped webhooks out
    // (a skipped webhook's due backlog may be a million rows), and locks what it picked by
    // primary key (an array, so the planner never hashes the whole table against the
    // window), due-ness re-checked once locked.
    let skipping = !claim.skip_webhooks.is_empty();
    let pick = match lane {
        // ($3, empty here, is named so that every lane's statement has the same parameters.)
        ClaimLane::OldestDue if !skipping => format!(
            "SELECT d.request_id {DUE} AND d.webhook_id <> ALL($3)
             ORDER BY d.next_attempt_at LIMIT $4 FOR UPDATE OF d SKIP LOCKED"
        ),
        ClaimLane::OldestDue => lock_picked(&oldest_due_skipping(), "ASC"),
        ClaimLane::NewestFirstAttempts => lock_picked(
            &format!(
                "SELECT x.request_id FROM (
                     SELECT d.request_id, d.webhook_id, d.attempts_made, d.next_attempt_at {DUE}
                     ORDER BY d.next_attempt_at DESC LIMIT {FRESH_WINDOW}) x
                 WHERE x.attempts_made = 0 AND x.webhook_id <> ALL($3)
                 ORDER BY x.next_attempt_at DESC LIMIT {PICK_SPARE} * $4"
            ),
            "DESC",
        ),
    };
    let sql = format!(
        "WITH picked AS MATERIALIZED ({pick})
         UPDATE deliveries d SET next_attempt_at = $1
         FROM events e, webhooks w
         WHERE d.request_id IN (SELECT request_id FROM picked)
           AND e.app_id = d.app_id AND e.id = d.event_id AND w.id = d.webhook_id
         RETURNING {CLAIMED_COLUMNS}"
    );
    let skip: Vec<String> = claim.skip_webhooks.iter().map(|w| w.to_string()).collect();
    let started = std::time::Instant::now();
    let found = sqlx::query(&sql)
        .bind(claim.lease_until.millis())
        .bind(claim.now.millis())
        .bind(skip)
        .bind(i64::from(claim.limit))
        .fetch_all(&s.pool)
        .await?;
    if started.elapsed() > SLOW_CLAIM {
        s.refresh_statistics();
    }
    found.iter().map(claimed).collect()
}

pub(super) async fn record_attempts(s: &PgStore, records: &[AttemptRecord]) -> StoreResult<()> {
    // CONCURRENCY: an exhaustion fails every pending delivery of its webhook, rows that other
    // workers may be recording in their own batches. PostgreSQL breaks such a lock cycle by
    // aborting one transaction; nothing of it was applied, so it simply runs again.
    retrying_deadlocks(|| record_batch(s, records)).await
}

async fn record_batch(s: &PgStore, records: &[AttemptRecord]) -> StoreResult<()> {
    if records.is_empty() {
        return Ok(());
    }
    let ids: Vec<String> = records.iter().map(|r| r.request_id.to_string()).collect();
    let mut tx = s.pool.begin().await?;
    // Lock the batch's deliveries first, in one order for every worker. A delivery deleted
    // with its webhook meanwhile is not found and its attempt is dropped; one found cannot be
    // deleted before commit, so its attempt row never loses its foreign key.
    let present: HashSet<String> = sqlx::query_scalar(
        "SELECT request_id FROM deliveries WHERE request_id = ANY($1)
         ORDER BY request_id FOR NO KEY UPDATE",
    )
    .bind(&ids)
    .fetch_all(&mut *tx)
    .await?
    .into_iter()
    .collect();
    let batch: Vec<(&AttemptRecord, &String)> = records
        .iter()
        .zip(&ids)
        .filter(|(_, id)| present.contains(*id))
        .collect();
    if batch.is_empty() {
        return Ok(());
    }

    // Successes and reschedules in this statement, then exhaustions, so a delivery that
    // succeeded in the same batch in which another delivery of its webhook ran out of
    // attempts stays succeeded.
    let (mut ids, mut succeeded, mut times, mut leases) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (r, id) in &batch {
        let (success, at) = match &r.outcome {
            AttemptOutcome::Succeeded => (true, finished_at(&r.attempt)),
            AttemptOutcome::RetryAt(at) => (false, at.millis()),
            AttemptOutcome::Exhausted { .. } => continue,
        };
        ids.push(id.as_str());
        succeeded.push(success);
        times.push(at);
        leases.push(r.lease_until.millis());
    }
    // PERFORMANCE: the attempts, the outcomes and the dashboard's statistics (counted in the
    // same commit) are one statement: one round trip instead of four. The parts touch
    // different rows, so they cannot see or undo each other's changes.
    let sql = record_statement();
    let recorded = sqlx::query(&sql)
        .bind(column(&batch, |(_, id)| id.as_str()))
        .bind(column(&batch, |(r, _)| r.attempt.at.millis()))
        .bind(column(&batch, |(r, _)| i64::from(r.attempt.duration_ms)))
        .bind(column(&batch, |(r, _)| {
            r.attempt.status_code.map(i64::from)
        }))
        .bind(column(&batch, |(r, _)| r.attempt.error.as_deref()))
        .bind(column(&batch, |(r, _)| r.attempt.response_body.as_deref()))
        .bind(&ids)
        .bind(&succeeded)
        .bind(&times)
        .bind(&leases);
    super::stats::bind_stat_rows(recorded, &crate::rollup::stat_deltas(records))
        .execute(&mut *tx)
        .await?;
    for (r, id) in &batch {
        if let AttemptOutcome::Exhausted { webhook_reason } = &r.outcome {
            exhaust(&mut tx, r, id, webhook_reason).await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

/// The recorder's statement: attempts (`$1`–`$6`), successes and reschedules (`$7`–`$10`),
/// then the statistics tables' arrays (`super::stats::bind_stat_rows`).
fn record_statement() -> String {
    let minutes_from = 11;
    let quarters_from = minutes_from + crate::rollup::STAT_COLUMNS;
    format!(
        "WITH added AS (
             INSERT INTO attempts (request_id, at, duration_ms, status_code, error, response_body)
             SELECT a.request_id, a.at, a.duration_ms, a.status_code, a.error, a.response_body
             FROM UNNEST($1::text[], $2::int8[], $3::int8[], $4::int8[], $5::text[], $6::text[])
                  WITH ORDINALITY AS a(request_id, at, duration_ms, status_code, error, response_body, n)
             ORDER BY a.n
         ), outcomes AS (
             UPDATE deliveries d
             SET status = CASE WHEN u.succeeded THEN 'succeeded' ELSE 'pending' END,
                 next_attempt_at = CASE WHEN u.succeeded THEN NULL ELSE u.at END,
                 finished_at = CASE WHEN u.succeeded THEN u.at END,
                 attempts_made = d.attempts_made + 1
             FROM UNNEST($7::text[], $8::bool[], $9::int8[], $10::int8[]) AS u(request_id, succeeded, at, lease)
             WHERE d.request_id = u.request_id AND d.status = 'pending' AND d.next_attempt_at = u.lease
         ), minutes AS ({}) {}",
        crate::rollup::upsert_arrays("delivery_stats", "minute", minutes_from),
        crate::rollup::upsert_arrays("delivery_stats_15m", "quarter", quarters_from)
    )
}

/// When an attempt ended.
fn finished_at(attempt: &Attempt) -> i64 {
    attempt.at.millis() + i64::from(attempt.duration_ms)
}

/// The delivery fails; if it was still pending, its webhook becomes inactive and the
/// webhook's other pending deliveries fail too.
async fn exhaust(
    tx: &mut sqlx::PgConnection,
    r: &AttemptRecord,
    id: &str,
    reason: &str,
) -> StoreResult<()> {
    let finished_at = finished_at(&r.attempt);
    let failed = sqlx::query(
        "UPDATE deliveries SET status = 'failed', next_attempt_at = NULL, finished_at = $1,
                               attempts_made = attempts_made + 1
         WHERE request_id = $2 AND status = 'pending' AND next_attempt_at = $3",
    )
    .bind(finished_at)
    .bind(id)
    .bind(r.lease_until.millis())
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if failed == 0 {
        return Ok(());
    }
    let webhook = r.webhook.to_string();
    sqlx::query(
        "UPDATE webhooks SET status = 'inactive', status_reason = $1
         WHERE id = $2 AND status = 'active'",
    )
    .bind(reason)
    .bind(&webhook)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "UPDATE deliveries SET status = 'failed', next_attempt_at = NULL, finished_at = $1
         WHERE webhook_id = $2 AND status = 'pending'",
    )
    .bind(finished_at)
    .bind(&webhook)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

pub(super) async fn release(s: &PgStore, ids: &[RequestId], now: Timestamp) -> StoreResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let ids: Vec<String> = ids.iter().map(|id| id.to_string()).collect();
    let released = sqlx::query(
        "UPDATE deliveries SET next_attempt_at = $1 WHERE status = 'pending' AND request_id = ANY($2)",
    )
        .bind(now.millis())
        .bind(&ids)
        .execute(&s.pool)
        .await?
        .rows_affected();
    if released > 0 {
        // Another process's workers can take them now (the update has committed).
        sqlx::query(NOTIFY_WORK).execute(&s.pool).await?;
    }
    Ok(())
}

pub(super) async fn next_due(s: &PgStore) -> StoreResult<Option<Timestamp>> {
    let at: Option<i64> = sqlx::query_scalar(
        "SELECT d.next_attempt_at FROM deliveries d JOIN webhooks w ON w.id = d.webhook_id
         WHERE d.status = 'pending' AND w.status = 'active' ORDER BY d.next_attempt_at LIMIT 1",
    )
    .fetch_optional(&s.pool)
    .await?
    .flatten();
    Ok(at.map(Timestamp::from_millis))
}

pub(super) async fn depth(s: &PgStore, now: Timestamp) -> StoreResult<QueueDepth> {
    let row = sqlx::query(
        "SELECT
            (SELECT COUNT(*) FROM deliveries WHERE status = 'pending') AS pending,
            (SELECT COUNT(*) FROM deliveries WHERE status = 'pending' AND next_attempt_at <= $1) AS due,
            (SELECT COUNT(*) FROM deliveries WHERE status = 'failed') AS failed,
            (SELECT COUNT(*) FROM deliveries WHERE status = 'pending' AND line_seq IS NOT NULL
               AND next_attempt_at <= $1 AND webhook_id IN (SELECT id FROM webhooks
                   WHERE shaped = 1 AND rate_limit IS NOT NULL AND status = 'active')) AS rate_limited,
            (SELECT COUNT(*) - COUNT(DISTINCT webhook_id) FROM deliveries
             WHERE status = 'pending' AND line_seq IS NOT NULL AND webhook_id IN (SELECT id FROM webhooks
                   WHERE shaped = 1 AND ordered = 1 AND status = 'active')) AS in_line",
    )
    .bind(now.millis())
    .fetch_one(&s.pool)
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
