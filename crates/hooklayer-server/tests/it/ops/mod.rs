//! Operations (SPEC §9, §8 rate limits): health and readiness against a database that goes
//! away, metrics after a known sequence of deliveries, the OpenAPI document, per-app rate
//! limits, and JSON logs of the real binary.

mod logs;
mod metrics;
mod openapi;
mod openapi_exact;
mod rate_limits;
mod readiness;

use crate::support::app::TestApp;
use std::time::Duration;

/// How long a bounded wait lasts.
const WAIT: Duration = Duration::from_secs(10);

/// `GET path` without any token: (status, body).
pub async fn get(app: &TestApp, path: &str) -> (u16, String) {
    let resp = app.http.get(app.url(path)).send().await.expect("request");
    let status = resp.status().as_u16();
    (status, resp.text().await.expect("body"))
}

/// Polls `/readyz` (bounded) until it answers `status`.
pub async fn wait_for_readyz(app: &TestApp, status: u16) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let (got, body) = get(app, "/readyz").await;
        if got == status {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "/readyz stayed {got} {body}, not {status}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
