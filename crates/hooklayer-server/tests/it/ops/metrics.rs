//! `/metrics`: counters, histograms and gauges after a known sequence of deliveries.

use super::WAIT;
use crate::support::app::{registration, webhook_uuid, TestApp, TestAppBuilder};
use crate::support::receiver::{Behavior, TestCa, TestReceiver};
use serde_json::{json, Value};
use std::time::Duration;

/// The value of one series (`name{labels}` exactly as exposed); 0 when absent.
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| {
            l.strip_prefix(series)
                .and_then(|rest| rest.strip_prefix(' '))
        })
        .map(|v| v.trim().parse().expect("numeric sample"))
        .unwrap_or(0.0)
}

async fn scrape(app: &TestApp) -> String {
    let resp = app
        .http
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("scrape");
    assert_eq!(resp.status(), 200);
    let content_type = resp.headers()["content-type"]
        .to_str()
        .expect("content type")
        .to_owned();
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    resp.text().await.expect("metrics text")
}

const COUNTED: [&str; 10] = [
    "hooklayer_events_ingested_total",
    "hooklayer_attempts_total{outcome=\"succeeded\"}",
    "hooklayer_attempts_total{outcome=\"failed\"}",
    "hooklayer_deliveries_total{outcome=\"succeeded\"}",
    "hooklayer_deliveries_total{outcome=\"failed\"}",
    "hooklayer_verifications_total{outcome=\"succeeded\"}",
    "hooklayer_verifications_total{outcome=\"failed\"}",
    "hooklayer_attempt_duration_seconds_count",
    "hooklayer_delivery_lag_seconds_count",
    "hooklayer_delivery_lag_seconds_bucket{le=\"+Inf\"}",
];

crate::both_backends!(
    metrics_move_by_the_right_amounts_after_known_deliveries,
    |db| {
        let ca = TestCa::new();
        let receiver = TestReceiver::start(&ca).await;
        let app = TestAppBuilder::new().trust(&ca).start(&db).await;
        let before = scrape(&app).await;
        let (uuid, token) = app.create_app("metrics").await;
        let hook = app
            .register(
                &uuid,
                &token,
                registration(&receiver.url("/hook"), &["message.sent"]),
            )
            .await;
        app.wait_for_status(&uuid, &token, &webhook_uuid(&hook), "active")
            .await;

        // Three events; the first POST the receiver sees fails once, then everything succeeds.
        receiver.push_once(Behavior::Status(500));
        let events: Vec<Value> = (0..3)
            .map(|i| json!({"type": "message.sent", "message": {"id": format!("m{i}")}}))
            .collect();
        let (status, body) = app.publish(&uuid, &token, &Value::Array(events)).await;
        assert_eq!(status, 202, "{body}");
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let text = scrape(&app).await;
            let done = sample(&text, COUNTED[3]) - sample(&before, COUNTED[3]);
            if done >= 3.0 {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "deliveries never finished:\n{text}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // Scrape once more: a scrape reads the gauges before it renders the counters, so the
        // one that saw the last success may hold gauges from just before its commit.
        let after = scrape(&app).await;

        let delta: Vec<f64> = COUNTED
            .iter()
            .map(|s| sample(&after, s) - sample(&before, s))
            .collect();
        assert_eq!(
            delta,
            [3.0, 3.0, 1.0, 3.0, 0.0, 1.0, 0.0, 4.0, 3.0, 3.0],
            "{COUNTED:?}\n{after}"
        );
        for (series, want) in [
            ("hooklayer_queue_depth{state=\"pending\"}", 0.0),
            ("hooklayer_queue_depth{state=\"due\"}", 0.0),
            ("hooklayer_queue_depth{state=\"failed\"}", 0.0),
            ("hooklayer_webhooks{status=\"active\"}", 1.0),
            ("hooklayer_webhooks{status=\"inactive\"}", 0.0),
        ] {
            assert_eq!(sample(&after, series), want, "{series}\n{after}");
        }
        assert!(
            after.contains("hooklayer_queue_depth{state=\"pending\"}"),
            "gauges are exposed"
        );
        assert!(
            !after.contains(&token) && !after.contains("1697f925ec7b"),
            "no token or secret in metrics"
        );
        app.stop().await;
    }
);
