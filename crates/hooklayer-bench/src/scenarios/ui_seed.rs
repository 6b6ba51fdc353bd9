//! A day of history for the `ui` scenario's log, written in the database while hooklayer is
//! stopped.
//!
//! hooklayer's own ingest wrote every event and delivery (all pending, created just now).
//! Delivering a million of them through HTTPS would take minutes and could not make any
//! `failed` (that takes the whole retry schedule, hours), so the outcomes are written here the
//! way the recorder writes them: each delivery gets a creation time spread over the last 24
//! hours and one attempt (5–405 ms, every 50th 1.5 s longer); 97 % succeeded (`200`), 1 %
//! failed (`500`), 2 % still pending with a retry due in an hour (so no worker touches them
//! while pages are timed); the per-minute statistics (`delivery_stats`) are the sums of those
//! attempts, and the quarter-hour roll-up (`delivery_stats_15m`) their sums where the schema
//! has one. PostgreSQL is vacuumed and analyzed afterwards, as autovacuum would do after such
//! a change.

use anyhow::{Context as _, Result};
use sqlx::{Connection as _, Executor as _, PgConnection, Row as _, SqliteConnection};

/// What the history holds.
pub struct Seeded {
    pub deliveries: u64,
    /// A failed delivery (the newest) and its webhook, for the delivery page.
    pub failed_webhook: String,
    pub failed_delivery: String,
}

/// Upper bounds (ms) of the statistics' latency buckets b0..b8 (b9: beyond), as hooklayer's.
const BOUNDS_MS: [i64; 9] = [10, 25, 50, 100, 250, 500, 1000, 2500, 5000];
const DAY_MS: i64 = 24 * 3600 * 1000;

enum Conn {
    Sqlite(SqliteConnection),
    Pg(PgConnection),
}

impl Conn {
    async fn exec(&mut self, sql: &str) -> Result<()> {
        match self {
            Conn::Sqlite(c) => c.execute(sql).await.map(drop),
            Conn::Pg(c) => c.execute(sql).await.map(drop),
        }
        .with_context(|| format!("seeding: {}", sql.lines().next().unwrap_or(sql)))
    }
    /// The first row's text columns.
    async fn row(&mut self, sql: &str, columns: usize) -> Result<Vec<String>> {
        let text = |r: &dyn Fn(usize) -> Result<String, sqlx::Error>| {
            (0..columns).map(r).collect::<Result<Vec<_>, _>>()
        };
        match self {
            Conn::Sqlite(c) => {
                let row = sqlx::query(sql).fetch_one(&mut *c).await?;
                Ok(text(&|i| row.try_get::<String, _>(i))?)
            }
            Conn::Pg(c) => {
                let row = sqlx::query(sql).fetch_one(&mut *c).await?;
                Ok(text(&|i| row.try_get::<String, _>(i))?)
            }
        }
    }
}

/// Writes the history on the database at `url` (hooklayer stopped).
pub async fn history(url: &str) -> Result<Seeded> {
    let mut conn = if url.starts_with("sqlite:") {
        Conn::Sqlite(SqliteConnection::connect(url).await?)
    } else {
        Conn::Pg(PgConnection::connect(url).await?)
    };
    let total: u64 = conn
        .row("SELECT CAST(COUNT(*) AS TEXT) FROM deliveries", 1)
        .await?[0]
        .parse()?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis() as i64;
    // From 24 h ago (plus a minute, so retention and the chart's edge keep it all) to a minute
    // ago.
    let (start, span) = (now - DAY_MS + 60_000, DAY_MS - 120_000);
    let m = total.max(1);
    conn.exec(&format!(
        "CREATE TEMP TABLE seed AS
         SELECT request_id, n, {start} + n * {span} / {m} AS t,
                5 + (n * 7919) % 400 + CASE WHEN n % 50 = 3 THEN 1500 ELSE 0 END AS dur,
                n % 100 AS class
         FROM (SELECT request_id, ROW_NUMBER() OVER (ORDER BY created_at, request_id) - 1 AS n
               FROM deliveries) AS numbered"
    ))
    .await?;
    conn.exec("CREATE INDEX seed_request ON seed(request_id)")
        .await?;
    conn.exec(&format!(
        "UPDATE deliveries SET
            created_at = seed.t,
            status = CASE WHEN seed.class = 0 THEN 'failed'
                          WHEN seed.class < 3 THEN 'pending' ELSE 'succeeded' END,
            attempts_made = 1,
            next_attempt_at = CASE WHEN seed.class IN (1, 2) THEN {retry} ELSE NULL END,
            finished_at = CASE WHEN seed.class IN (1, 2) THEN NULL ELSE seed.t + seed.dur END
         FROM seed WHERE seed.request_id = deliveries.request_id",
        retry = now + 3_600_000
    ))
    .await?;
    conn.exec(
        "INSERT INTO attempts (request_id, at, duration_ms, status_code, error, response_body)
         SELECT request_id, t, dur, CASE WHEN class < 3 THEN 500 ELSE 200 END, NULL,
                CASE WHEN class < 3 THEN '{\"error\":\"upstream unavailable\"}' ELSE 'ok' END
         FROM seed ORDER BY n",
    )
    .await?;
    let mut buckets = Vec::new();
    let mut lower = -1;
    for (i, upper) in BOUNDS_MS.iter().enumerate() {
        buckets.push(format!(
            "CAST(SUM(CASE WHEN s.dur > {lower} AND s.dur <= {upper} THEN 1 ELSE 0 END) AS BIGINT) AS b{i}"
        ));
        lower = *upper;
    }
    buckets.push(format!(
        "CAST(SUM(CASE WHEN s.dur > {lower} THEN 1 ELSE 0 END) AS BIGINT) AS b9"
    ));
    let columns = "b0, b1, b2, b3, b4, b5, b6, b7, b8, b9";
    conn.exec(&format!(
        "INSERT INTO delivery_stats (webhook_id, minute, succeeded, failed, {columns})
         SELECT d.webhook_id, s.t / 60000,
                CAST(SUM(CASE WHEN s.class >= 3 THEN 1 ELSE 0 END) AS BIGINT),
                CAST(SUM(CASE WHEN s.class < 3 THEN 1 ELSE 0 END) AS BIGINT), {}
         FROM seed s JOIN deliveries d ON d.request_id = s.request_id
         GROUP BY d.webhook_id, s.t / 60000",
        buckets.join(", ")
    ))
    .await?;
    let has_rollup = match &mut conn {
        Conn::Sqlite(_) => {
            "SELECT CAST(COUNT(*) AS TEXT) FROM sqlite_master WHERE name = 'delivery_stats_15m'"
        }
        Conn::Pg(_) => {
            "SELECT CAST(COUNT(*) AS TEXT) FROM pg_tables WHERE tablename = 'delivery_stats_15m'"
        }
    };
    if conn.row(has_rollup, 1).await?[0] != "0" {
        let sums: Vec<String> = ["succeeded", "failed"]
            .into_iter()
            .map(str::to_owned)
            .chain((0..10).map(|i| format!("b{i}")))
            .map(|c| format!("CAST(SUM({c}) AS BIGINT)"))
            .collect();
        conn.exec(&format!(
            "INSERT INTO delivery_stats_15m (webhook_id, quarter, succeeded, failed, {columns})
             SELECT webhook_id, minute / 15, {} FROM delivery_stats GROUP BY webhook_id, minute / 15",
            sums.join(", ")
        ))
        .await?;
    }
    conn.exec("DROP TABLE seed").await?;
    if matches!(conn, Conn::Pg(_)) {
        // The update left a dead version of every delivery row; autovacuum would clear them
        // soon after, and the first index scans would otherwise pay for it.
        conn.exec("VACUUM ANALYZE").await?;
    }
    let failed = conn
        .row(
            "SELECT webhook_id, request_id FROM deliveries WHERE status = 'failed'
             ORDER BY created_at DESC LIMIT 1",
            2,
        )
        .await?;
    Ok(Seeded {
        deliveries: total,
        failed_webhook: failed[0].clone(),
        failed_delivery: failed[1].clone(),
    })
}
