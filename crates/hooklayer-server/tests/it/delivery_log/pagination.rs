//! Cursor pagination over 600 deliveries: every page size walks the same sequence, newest
//! first, with no gap and no repeat, including across deliveries created in the same
//! millisecond (a batch shares its `created_at`).

use super::{event, Hook};
use crate::support::app::TestAppBuilder;
use crate::support::receiver::{TestCa, TestReceiver};
use serde_json::Value;
use std::collections::HashSet;

const DELIVERIES: usize = 600;

/// The sort key of the log: (created_at, request_id).
fn key(d: &Value) -> (String, String) {
    let text = |k: &str| d[k].as_str().expect("string field").to_owned();
    (text("created_at"), text("request_id"))
}

crate::both_backends!(
    pagination_walks_600_deliveries_with_no_gap_or_repeat,
    |db| {
        let ca = TestCa::new();
        let receiver = TestReceiver::start(&ca).await;
        let app = TestAppBuilder::new().trust(&ca).start(&db).await;
        let hook = Hook::active(&app, &receiver, &["message.sent"]).await;
        let mut published = HashSet::new();
        for batch in [1, 99, 250, 250] {
            let events: Vec<Value> = (0..batch).map(|_| event("message.sent")).collect();
            let (status, body) = app
                .publish(&hook.uuid, &hook.token, &Value::Array(events))
                .await;
            assert_eq!(status, 202, "{body}");
            published.extend(
                body.as_array()
                    .expect("answers")
                    .iter()
                    .map(|a| a["id"].as_str().expect("id").to_owned()),
            );
        }
        assert_eq!(published.len(), DELIVERIES);
        hook.wait_until("600 successes", |log| {
            log.len() == DELIVERIES && log.iter().all(|d| d["status"] == "succeeded")
        })
        .await;

        let by_250 = hook.walk(250, "").await;
        let by_7 = hook.walk(7, "").await;
        let succeeded_by_13 = hook.walk(13, "&status=succeeded").await;
        let ids = |log: &[Value]| -> Vec<String> {
            log.iter()
                .map(|d| d["request_id"].as_str().expect("id").to_owned())
                .collect()
        };
        assert_eq!(by_250.len(), DELIVERIES);
        assert_eq!(
            ids(&by_250),
            ids(&by_7),
            "page size does not change the sequence"
        );
        assert_eq!(
            ids(&by_250),
            ids(&succeeded_by_13),
            "the status filter pages the same way"
        );
        let distinct: HashSet<String> = ids(&by_250).into_iter().collect();
        assert_eq!(distinct.len(), DELIVERIES, "no repeat");
        let events: HashSet<String> = by_250
            .iter()
            .map(|d| d["event_id"].as_str().expect("event").to_owned())
            .collect();
        assert_eq!(
            events, published,
            "no gap: every published event is in the log once"
        );
        let keys: Vec<_> = by_250.iter().map(key).collect();
        assert!(
            keys.windows(2).all(|w| w[0] > w[1]),
            "newest first, strictly"
        );

        // Pages of 250: full, full, then the rest without a cursor.
        let mut sizes = Vec::new();
        let mut query = "limit=250".to_owned();
        loop {
            let page = hook.page(&query).await;
            sizes.push(page["data"].as_array().map(Vec::len).expect("data"));
            match page["next_cursor"].as_str() {
                Some(c) => query = format!("limit=250&cursor={c}"),
                None => break,
            }
        }
        assert_eq!(sizes, [250, 250, 100]);
        // An empty result has no cursor.
        let failed = hook.page("status=failed").await;
        assert_eq!(failed, serde_json::json!({"data": [], "next_cursor": null}));
        // Without limit: 50.
        assert_eq!(
            hook.page("").await["data"].as_array().map(Vec::len),
            Some(50)
        );
        app.stop().await;
    }
);
