//! Claim latency read back from the database hooklayer wrote: for each delivery of one
//! webhook, the time from its queueing (the publish's commit) to the start of its first
//! attempt. Unlike publish→arrival, it leaves out the publish round trip and the request's
//! flight to the receiver, so it shows how long a due delivery waited to be claimed and sent.

use anyhow::{Context as _, Result};
use sqlx::{Connection as _, PgConnection, SqliteConnection};

/// Queueing → first attempt started (ms), one value per delivery of `webhook` that was
/// attempted, sorted. Read after the run, with hooklayer stopped or not.
pub async fn first_attempt_delays(url: &str, webhook: &str) -> Result<Vec<f64>> {
    const SQL: &str = "SELECT d.created_at, MIN(a.at) FROM deliveries d
         JOIN attempts a ON a.request_id = d.request_id
         WHERE d.webhook_id = {} GROUP BY d.request_id, d.created_at";
    let pairs: Vec<(i64, i64)> = if url.starts_with("sqlite:") {
        let mut c = SqliteConnection::connect(url).await?;
        sqlx::query_as(&SQL.replace("{}", "?"))
            .bind(webhook)
            .fetch_all(&mut c)
            .await
    } else {
        let mut c = PgConnection::connect(url).await?;
        sqlx::query_as(&SQL.replace("{}", "$1"))
            .bind(webhook)
            .fetch_all(&mut c)
            .await
    }
    .context("reading the first attempts back")?;
    let mut delays: Vec<f64> = pairs
        .into_iter()
        .map(|(queued, started)| (started - queued) as f64)
        .collect();
    delays.sort_by(f64::total_cmp);
    Ok(delays)
}

/// The `q` quantile (0–1) of sorted values, nearest rank.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

#[cfg(test)]
mod tests {
    use super::quantile;

    #[test]
    fn nearest_rank_quantiles() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(quantile(&v, 0.5), 50.0);
        assert_eq!(quantile(&v, 0.99), 99.0);
        assert_eq!(quantile(&v, 1.0), 100.0);
        assert!(quantile(&[], 0.5).is_nan());
    }
}
