//! The rate limit and the in-flight cap (SPEC §12) through the real server: the bound of §12
//! in every window, no attempt failed or charged, other webhooks not slowed; a capped webhook
//! never sees two requests at once.

use crate::delivery::{setup, Setup};
use crate::support::app::{registration, webhook_uuid, TestAppBuilder};
use crate::support::receiver::{Behavior, RecordedRequest};
use hooklayer_store::{DeliveryQuery, DeliveryStatus};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// Asserts SPEC §12's bound on arrival times: in any window of `w` seconds (1, 2 and 10) at
/// most `rate × w + rate` requests.
pub fn assert_rate_bound(arrivals: &[Instant], rate: usize) {
    let mut sorted = arrivals.to_vec();
    sorted.sort();
    for w in [1u64, 2, 10] {
        let window = Duration::from_secs(w);
        let most = (0..sorted.len())
            .map(|i| {
                sorted[i..]
                    .iter()
                    .take_while(|t| **t - sorted[i] < window)
                    .count()
            })
            .max()
            .unwrap_or(0);
        let bound = rate * w as usize + rate;
        assert!(most <= bound, "{most} arrivals in {w}s, bound {bound}");
    }
}

/// `n` `message.sent` events in one batch, message ids `m0`…
pub fn batch(n: usize) -> Value {
    let events: Vec<Value> = (0..n)
        .map(|i| json!({"type": "message.sent", "message": {"id": format!("m{i}")}}))
        .collect();
    Value::Array(events)
}

/// Every delivery of the setup's webhook succeeded with exactly one attempt (polled, bounded:
/// the last outcomes may still be on their way to the database).
pub async fn assert_each_sent_once(s: &Setup, n: usize) {
    let query = DeliveryQuery {
        status: None,
        limit: 250,
        after: None,
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let page = s
            .app
            .state
            .store
            .list_deliveries(
                s.uuid.parse().unwrap(),
                webhook_uuid(&s.hook).parse().unwrap(),
                &query,
            )
            .await
            .unwrap();
        assert_eq!(page.items.len(), n);
        if page
            .items
            .iter()
            .all(|d| d.status == DeliveryStatus::Succeeded)
        {
            for d in &page.items {
                assert_eq!(d.attempts.len(), 1, "never failed nor charged an attempt");
            }
            return;
        }
        assert!(Instant::now() < deadline, "deliveries still pending");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn arrivals_at<'a>(requests: &'a [RecordedRequest], path: &str) -> Vec<&'a RecordedRequest> {
    requests
        .iter()
        .filter(|r| r.method == "POST" && r.path_and_query == path)
        .collect()
}

crate::both_backends!(a_rate_limit_holds_without_failing_or_slowing_others, |db| {
    let mut reg = registration("", &["message.sent"]);
    reg["delivery"] = json!({"rate_limit": 5});
    let s = setup(&db, TestAppBuilder::new(), reg).await;
    let free = s
        .app
        .register(
            &s.uuid,
            &s.token,
            registration(&s.receiver.url("/free"), &["message.sent"]),
        )
        .await;
    s.app
        .wait_for_status(&s.uuid, &s.token, &webhook_uuid(&free), "active")
        .await;
    let (status, _) = s.app.publish(&s.uuid, &s.token, &batch(50)).await;
    assert_eq!(status, 202);
    // Most of them wait for the limit a while: the metric shows it (a total, no labels).
    let metrics = s
        .app
        .http
        .get(s.app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let waiting = metrics
        .lines()
        .find_map(|l| l.strip_prefix("hooklayer_deliveries_waiting{reason=\"rate_limit\"} "))
        .and_then(|v| v.parse::<u64>().ok())
        .expect("the rate-limit gauge");
    assert!(waiting > 0, "{metrics}");

    let all = s
        .receiver
        .wait_for_requests(2 + 100, Duration::from_secs(40))
        .await;
    let limited = arrivals_at(&all, "/hook");
    let unlimited = arrivals_at(&all, "/free");
    assert_eq!((limited.len(), unlimited.len()), (50, 50));
    let times: Vec<Instant> = limited.iter().map(|r| r.received_at).collect();
    assert_rate_bound(&times, 5);
    // The burst of 5, then one per 200 ms: the 16th starts 2 s in. The other webhook is
    // done long before.
    let mut sorted = times.clone();
    sorted.sort();
    let last_free = unlimited.iter().map(|r| r.received_at).max().unwrap();
    assert!(last_free < sorted[15], "the unlimited webhook was slowed");
    assert_each_sent_once(&s, 50).await;
});

crate::both_backends!(an_in_flight_cap_of_one_never_overlaps_requests, |db| {
    let mut reg = registration("", &["message.sent"]);
    reg["delivery"] = json!({"max_in_flight": 1});
    let s = setup(&db, TestAppBuilder::new(), reg).await;
    assert_eq!(
        s.hook["delivery"],
        json!({"rate_limit": null, "max_in_flight": 1, "ordered": false})
    );
    let slow = Duration::from_millis(150);
    s.receiver.set_default(Behavior::Sleep(slow));
    s.app.publish(&s.uuid, &s.token, &batch(8)).await;
    let all = s
        .receiver
        .wait_for_requests(1 + 8, Duration::from_secs(20))
        .await;
    let mut times: Vec<Instant> = arrivals_at(&all, "/hook")
        .iter()
        .map(|r| r.received_at)
        .collect();
    times.sort();
    for pair in times.windows(2) {
        // The receiver answers `slow` after a request arrives; the next may only start then.
        assert!(
            pair[1] - pair[0] >= slow,
            "two requests at once: {:?}",
            pair[1] - pair[0]
        );
    }
    assert_each_sent_once(&s, 8).await;
});
