//! The dashboard's kept figures, as SQL both backends share (they differ only in how a
//! parameter is written, `?` or `$n`, given as `ph`): the per-minute statistics and their
//! quarter-hour roll-up, bounded queue counts, and the queue samples of the operator's chart.
//!
//! Every query here reads a bounded number of rows: at most a day of quarters per webhook
//! (96), a cap of index entries per count, one row per sampled minute.

use crate::model::{latency_bucket, AttemptRecord, QueueSample, StatDelta, LATENCY_BUCKETS};
use crate::rows::StoredRow;
use crate::StoreError;
use hooklayer_core::ids::WebhookId;

/// The statistics' bucket columns.
pub(crate) const BUCKET_COLUMNS: &str = "b0, b1, b2, b3, b4, b5, b6, b7, b8, b9";

/// Minutes per quarter, the roll-up's unit.
pub(crate) const QUARTER: i64 = crate::model::STATS_QUARTER_MINUTES;

/// A batch of attempts as statistics: counts and latency buckets per webhook and minute.
pub(crate) fn stat_deltas(records: &[AttemptRecord]) -> Vec<StatDelta> {
    let mut by_key: std::collections::HashMap<_, StatDelta> = std::collections::HashMap::new();
    for r in records {
        let minute = r.attempt.at.millis().div_euclid(60_000);
        let d = by_key.entry((r.webhook, minute)).or_insert(StatDelta {
            webhook: r.webhook,
            minute,
            succeeded: 0,
            failed: 0,
            buckets: [0; LATENCY_BUCKETS],
        });
        if r.attempt.error.is_none() {
            d.succeeded += 1;
        } else {
            d.failed += 1;
        }
        d.buckets[latency_bucket(r.attempt.duration_ms)] += 1;
    }
    by_key.into_values().collect()
}

/// Rows per statistics upsert (14 parameters a row): well under both backends' bounds.
pub(crate) const UPSERT_ROWS: usize = 400;

/// One row of a statistics table to add: webhook, key (minute or quarter), then succeeded,
/// failed and the buckets b0..b9.
pub(crate) type StatRowDelta = (String, i64, [i64; 2 + LATENCY_BUCKETS]);

/// A batch's deltas as the rows of one table (`quarters`: the quarter-hour roll-up), one per
/// (webhook, key) — two minutes of one quarter are summed, since one statement may not touch
/// a row twice — sorted, so concurrent upserts lock rows in the same order (PostgreSQL).
pub(crate) fn stat_rows(deltas: &[StatDelta], quarters: bool) -> Vec<StatRowDelta> {
    let mut rows: std::collections::BTreeMap<(String, i64), [i64; 2 + LATENCY_BUCKETS]> =
        std::collections::BTreeMap::new();
    for d in deltas {
        let key = if quarters {
            d.minute.div_euclid(QUARTER)
        } else {
            d.minute
        };
        let sums = rows.entry((d.webhook.to_string(), key)).or_default();
        let counts = [d.succeeded, d.failed].into_iter().chain(d.buckets);
        for (sum, n) in sums.iter_mut().zip(counts) {
            *sum = sum.saturating_add(int(n));
        }
    }
    rows.into_iter()
        .map(|((w, k), sums)| (w, k, sums))
        .collect()
}

/// The upsert adding `rows` rows of [`stat_rows`] to `table` (`delivery_stats` keyed by
/// `minute`, or `delivery_stats_15m` keyed by `quarter`); binds per row: webhook, key,
/// succeeded, failed, b0..b9.
pub(crate) fn upsert(table: &str, key: &str, rows: usize, ph: impl Fn(usize) -> String) -> String {
    let values: Vec<String> = (0..rows)
        .map(|r| {
            let row: Vec<String> = (1..=STAT_COLUMNS)
                .map(|c| ph(r * STAT_COLUMNS + c))
                .collect();
            format!("({})", row.join(", "))
        })
        .collect();
    format!(
        "INSERT INTO {table} (webhook_id, {key}, succeeded, failed, {BUCKET_COLUMNS})
         VALUES {} ON CONFLICT (webhook_id, {key}) DO UPDATE SET {}",
        values.join(", "),
        added_counts(table)
    )
}

/// [`upsert`] over one array per column (PostgreSQL): webhooks (`text[]`) bound at
/// `$first`, then keys, succeeded, failed and b0..b9 (`int8[]`). One text for any number of
/// rows, so it is prepared once and can sit in a larger statement.
pub(crate) fn upsert_arrays(table: &str, key: &str, first: usize) -> String {
    let arrays: Vec<String> = (0..STAT_COLUMNS)
        .map(|c| {
            let kind = if c == 0 { "text" } else { "int8" };
            format!("${}::{kind}[]", first + c)
        })
        .collect();
    format!(
        "INSERT INTO {table} (webhook_id, {key}, succeeded, failed, {BUCKET_COLUMNS})
         SELECT * FROM UNNEST({}) ON CONFLICT (webhook_id, {key}) DO UPDATE SET {}",
        arrays.join(", "),
        added_counts(table)
    )
}

/// Columns of a statistics row: webhook, key, succeeded, failed, b0..b9.
pub(crate) const STAT_COLUMNS: usize = 4 + LATENCY_BUCKETS;

/// The `SET` of an upsert adding the new row's counts to the stored row's.
fn added_counts(table: &str) -> String {
    let sums: Vec<String> = ["succeeded", "failed"]
        .into_iter()
        .map(str::to_owned)
        .chain((0..LATENCY_BUCKETS).map(|i| format!("b{i}")))
        .map(|c| format!("{c} = {table}.{c} + excluded.{c}"))
        .collect();
    sums.join(", ")
}

/// Summed statistics of an app's webhooks (or one, bound third) from a first key (bound
/// first; the app second), grouped by `key` and returned as `minute`.
pub(crate) fn summed(
    table: &str,
    key: &str,
    one_webhook: bool,
    ph: impl Fn(usize) -> String,
) -> String {
    let sums: Vec<String> = (0..LATENCY_BUCKETS)
        .map(|i| format!("CAST(SUM(b{i}) AS BIGINT) AS b{i}"))
        .collect();
    let as_minute = if key == "quarter" {
        format!("quarter * {QUARTER}")
    } else {
        key.to_owned()
    };
    // An app's statistics are those of its current webhooks (at most 100). A webhook's are
    // read by its primary key (webhook_id, key), never by scanning every webhook's rows.
    let one = if one_webhook {
        format!(" AND webhook_id = {}", ph(3))
    } else {
        String::new()
    };
    format!(
        "SELECT {as_minute} AS minute, CAST(SUM(succeeded) AS BIGINT) AS succeeded,
                CAST(SUM(failed) AS BIGINT) AS failed, {}
         FROM {table}
         WHERE {key} >= {}
           AND webhook_id IN (SELECT id FROM webhooks WHERE app_id = {}){one}
         GROUP BY {key} ORDER BY {key}",
        sums.join(", "),
        ph(1),
        ph(2)
    )
}

/// Each webhook's attempts in the roll-up from a first quarter (bound first; the app second).
pub(crate) fn totals(ph: impl Fn(usize) -> String) -> String {
    format!(
        "SELECT webhook_id, CAST(SUM(succeeded) AS BIGINT) AS succeeded,
                CAST(SUM(failed) AS BIGINT) AS failed
         FROM delivery_stats_15m
         WHERE quarter >= {}
           AND webhook_id IN (SELECT id FROM webhooks WHERE app_id = {})
         GROUP BY webhook_id",
        ph(1),
        ph(2)
    )
}

pub(crate) fn total_row(r: &impl StoredRow) -> Result<(WebhookId, u64, u64), StoreError> {
    Ok((
        crate::rows::parse(&r.text("webhook_id")?, "delivery_stats_15m.webhook_id")?,
        u64::try_from(r.int("succeeded")?).unwrap_or(0),
        u64::try_from(r.int("failed")?).unwrap_or(0),
    ))
}

/// Pending, due and failed deliveries, each up to a cap. Binds: cap, now, cap, cap. Each
/// count walks one partial index (`deliveries_due`, `deliveries_failed`) and stops at the cap.
pub(crate) fn queue_counts(ph: impl Fn(usize) -> String) -> String {
    format!(
        "SELECT
            (SELECT COUNT(*) FROM (SELECT 1 FROM deliveries WHERE status = 'pending'
                LIMIT {}) AS p) AS pending,
            (SELECT COUNT(*) FROM (SELECT 1 FROM deliveries WHERE status = 'pending'
                AND next_attempt_at <= {} LIMIT {}) AS d) AS due,
            (SELECT COUNT(*) FROM (SELECT 1 FROM deliveries WHERE status = 'failed'
                LIMIT {}) AS f) AS failed",
        ph(1),
        ph(2),
        ph(3),
        ph(4)
    )
}

/// Each webhook of an app with its pending and failed deliveries, each counted up to a cap,
/// in one statement. Binds: cap, cap, app. The status is written out and the condition of
/// `deliveries_open` repeated, so both planners walk that partial index per webhook.
pub(crate) fn open_counts(ph: impl Fn(usize) -> String) -> String {
    let count = |status: &str, cap: String| {
        format!(
            "(SELECT COUNT(*) FROM (SELECT 1 FROM deliveries d WHERE d.webhook_id = w.id
                AND d.status = '{status}' AND d.status <> 'succeeded' LIMIT {cap}) AS c)"
        )
    };
    format!(
        "SELECT w.id AS webhook_id, {} AS pending, {} AS failed FROM webhooks w WHERE w.app_id = {}",
        count("pending", ph(1)),
        count("failed", ph(2)),
        ph(3)
    )
}

pub(crate) fn open_row(r: &impl StoredRow) -> Result<(WebhookId, u64, u64), StoreError> {
    Ok((
        crate::rows::parse(&r.text("webhook_id")?, "webhooks.id")?,
        u64::try_from(r.int("pending")?).unwrap_or(0),
        u64::try_from(r.int("failed")?).unwrap_or(0),
    ))
}

/// Binds: minute, pending, due, failed.
pub(crate) fn add_sample(ph: impl Fn(usize) -> String) -> String {
    format!(
        "INSERT INTO queue_samples (minute, pending, due, failed) VALUES ({}, {}, {}, {})
         ON CONFLICT (minute) DO NOTHING",
        ph(1),
        ph(2),
        ph(3),
        ph(4)
    )
}

/// Binds: the first minute.
pub(crate) fn samples(ph: impl Fn(usize) -> String) -> String {
    format!(
        "SELECT minute, pending, due, failed FROM queue_samples WHERE minute >= {} ORDER BY minute",
        ph(1)
    )
}

/// A row with `minute` (absent in live counts: `minute` given), `pending`, `due`, `failed`.
pub(crate) fn sample_row(
    r: &impl StoredRow,
    minute: Option<i64>,
) -> Result<QueueSample, StoreError> {
    let n = |c: &str| -> Result<u64, StoreError> { Ok(u64::try_from(r.int(c)?).unwrap_or(0)) };
    Ok(QueueSample {
        minute: match minute {
            Some(m) => m,
            None => r.int("minute")?,
        },
        pending: n("pending")?,
        due: n("due")?,
        failed: n("failed")?,
    })
}

/// The purge statements, each bound with one minute or quarter: per-minute statistics, the
/// roll-up (a quarter that began before the cut stays until wholly past it), queue samples.
pub(crate) fn purges(ph: impl Fn(usize) -> String) -> [String; 3] {
    [
        format!("DELETE FROM delivery_stats WHERE minute < {}", ph(1)),
        format!("DELETE FROM delivery_stats_15m WHERE quarter < {}", ph(1)),
        format!("DELETE FROM queue_samples WHERE minute < {}", ph(1)),
    ]
}

/// A count for binding (saturating).
pub(crate) fn int(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
