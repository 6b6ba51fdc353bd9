//! Changing a webhook (history, secret rotation, new target) and the shaped claim: the rate
//! limit's bucket, the in-flight cap, and the head of an ordered line.

use crate::support::*;
use hooklayer_core::delivery_settings::{DeliveryChange, DeliverySettings};
use hooklayer_core::event_type::EventType;
use hooklayer_core::time::Timestamp;
use hooklayer_core::webhook::{Secret, Webhook, WebhookStatus};
use hooklayer_core::webhook_change::WebhookChange;
use hooklayer_store::*;

conformance![
    a_change_is_applied_recorded_and_keeps_the_replaced_secret_for_its_window,
    a_new_target_makes_the_webhook_unverified,
    shaped_webhooks_are_claimed_only_by_the_shaped_claim,
    a_rate_limit_bucket_starts_full_and_refills_at_its_rate,
    an_in_flight_cap_counts_unexpired_claims,
    an_ordered_line_releases_its_head_only,
];

/// Changes `w`'s delivery settings to `settings`.
async fn shape(store: &dyn Store, w: &Webhook, settings: DeliverySettings) {
    let change = WebhookChange {
        delivery: Some(DeliveryChange {
            rate_limit: Some(settings.rate_limit),
            max_in_flight: settings.max_in_flight,
            ordered: Some(settings.ordered),
        }),
        ..WebhookChange::default()
    };
    let (after, applied) = store
        .change_webhook(w.app, w.id, change, 0, t(0))
        .await
        .unwrap()
        .expect("webhook exists");
    assert_eq!(applied.keys, ["delivery"]);
    assert_eq!(after.delivery, settings);
}

async fn shaped_claim(store: &dyn Store, now: Timestamp) -> ShapedClaim {
    store.claim_shaped(&claim_at(now, 100)).await.unwrap()
}

fn success(d: &ClaimedDelivery, at: Timestamp) -> AttemptRecord {
    record(d, attempt(at, 200), AttemptOutcome::Succeeded)
}

async fn a_change_is_applied_recorded_and_keeps_the_replaced_secret_for_its_window(db: TestDb) {
    let store = &*db.store;
    let app = new_app(store).await;
    let w = active_webhook(store, app).await;
    let rotate = |secret: &str| WebhookChange {
        secret: Some(Secret::from_stored(secret.into())),
        events: Some(vec![EventType::MessageSent, EventType::MessageRead]),
        ..WebhookChange::default()
    };
    let now = Timestamp::now();
    let (after, applied) = store
        .change_webhook(app, w.id, rotate("second-secret-0123456789"), 60_000, now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(applied.keys, ["events", "secret"]);
    assert_eq!(applied.replaced_secret, Some(w.secret.clone()));
    assert_eq!(
        after.events,
        [EventType::MessageSent, EventType::MessageRead]
    );
    assert_eq!(
        store.get_webhook(app, w.id).await.unwrap().unwrap().secret,
        after.secret
    );

    publish(store, app, now).await;
    let claimed = store
        .claim_due(&claim_at(now, 10), ClaimLane::OldestDue)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(claimed.secret.expose(), "second-secret-0123456789");
    assert_eq!(claimed.previous_secret, Some(w.secret.clone()));

    // A second rotation within the window: the previous one is the secret being replaced.
    let (_, applied) = store
        .change_webhook(app, w.id, rotate("third-secret-0123456789ab"), 0, now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(applied.keys, ["secret"], "events did not change this time");
    publish(store, app, now).await;
    let claimed = store
        .claim_due(&claim_at(now, 10), ClaimLane::OldestDue)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(
        claimed.previous_secret, None,
        "a zero window is over at once"
    );
    assert_eq!(
        store
            .forget_expired_secrets(Timestamp::now())
            .await
            .unwrap(),
        1
    );

    let history = store.webhook_changes(w.id, 10).await.unwrap();
    let keys: Vec<Vec<String>> = history.iter().map(|c| c.keys.clone()).collect();
    assert_eq!(keys, [vec!["secret"], vec!["events", "secret"]]);
    assert_eq!(history[0].at, now);
    assert!(store
        .change_webhook(
            app,
            hooklayer_core::ids::WebhookId::new(),
            rotate("x"),
            0,
            now
        )
        .await
        .unwrap()
        .is_none());
}

async fn a_new_target_makes_the_webhook_unverified(db: TestDb) {
    let store = &*db.store;
    let app = new_app(store).await;
    let w = active_webhook(store, app).await;
    let change = WebhookChange {
        target_url: hooklayer_core::target_url::TargetUrl::from_stored("https://moved.example/x"),
        ..WebhookChange::default()
    };
    let (after, applied) = store
        .change_webhook(app, w.id, change, 0, t(5))
        .await
        .unwrap()
        .unwrap();
    assert!(applied.target_changed());
    assert_eq!(after.status, WebhookStatus::Unverified);
    publish(store, app, t(5)).await;
    assert!(
        claim_all(store, t(10)).await.is_empty(),
        "nothing goes out unverified"
    );
    let verifying = store.claim_unverified(t(5), t(100), 10).await.unwrap();
    assert_eq!(verifying.len(), 1);
    assert_eq!(verifying[0].target_url.as_str(), "https://moved.example/x");
}

async fn shaped_webhooks_are_claimed_only_by_the_shaped_claim(db: TestDb) {
    let store = &*db.store;
    let app = new_app(store).await;
    let w = active_webhook(store, app).await;
    // Queued before the webhook was shaped: it joins the line.
    publish(store, app, t(0)).await;
    shape(
        store,
        &w,
        DeliverySettings {
            rate_limit: Some(100),
            ..Default::default()
        },
    )
    .await;
    publish(store, app, t(0)).await;
    assert!(claim_all(store, t(0)).await.is_empty());
    let shaped = shaped_claim(store, t(0)).await;
    assert_eq!(shaped.deliveries.len(), 2);
    assert!(shaped
        .deliveries
        .iter()
        .all(|d| d.shaped && d.webhook == w.id));
    // And a webhook back at its defaults is the plain claim's again.
    shape(store, &w, DeliverySettings::default()).await;
    publish(store, app, t(0)).await;
    assert_eq!(claim_all(store, t(0)).await.len(), 1);
}

async fn a_rate_limit_bucket_starts_full_and_refills_at_its_rate(db: TestDb) {
    let store = &*db.store;
    let app = new_app(store).await;
    let w = active_webhook(store, app).await;
    shape(
        store,
        &w,
        DeliverySettings {
            rate_limit: Some(2),
            ..Default::default()
        },
    )
    .await;
    for _ in 0..5 {
        publish(store, app, t(0)).await;
    }
    assert_eq!(
        shaped_claim(store, t(0)).await.deliveries.len(),
        2,
        "the burst"
    );
    let empty = shaped_claim(store, t(100)).await;
    assert!(empty.deliveries.is_empty());
    assert_eq!(empty.wake_at, Some(t(500)), "one token per 500 ms");
    assert_eq!(store.queue_depth(t(100)).await.unwrap().rate_limited, 3);
    assert_eq!(shaped_claim(store, t(500)).await.deliveries.len(), 1);
    assert_eq!(
        shaped_claim(store, t(60_000)).await.deliveries.len(),
        2,
        "never more than the burst"
    );
}

async fn an_in_flight_cap_counts_unexpired_claims(db: TestDb) {
    let store = &*db.store;
    let app = new_app(store).await;
    let w = active_webhook(store, app).await;
    shape(
        store,
        &w,
        DeliverySettings {
            max_in_flight: Some(2),
            ..Default::default()
        },
    )
    .await;
    for _ in 0..4 {
        publish(store, app, t(0)).await;
    }
    let first = shaped_claim(store, t(0)).await.deliveries;
    assert_eq!(first.len(), 2);
    assert_eq!(first[0].max_in_flight, Some(2));
    assert!(
        shaped_claim(store, t(1)).await.deliveries.is_empty(),
        "two in flight"
    );
    store
        .record_attempts(&[success(&first[0], t(2))])
        .await
        .unwrap();
    assert_eq!(shaped_claim(store, t(3)).await.deliveries.len(), 1);
    // A claim whose lease ran out (its worker died) no longer counts.
    assert_eq!(shaped_claim(store, t(31_000)).await.deliveries.len(), 2);
}

async fn an_ordered_line_releases_its_head_only(db: TestDb) {
    let store = &*db.store;
    let app = new_app(store).await;
    let w = active_webhook(store, app).await;
    shape(
        store,
        &w,
        DeliverySettings {
            ordered: true,
            ..Default::default()
        },
    )
    .await;
    let batch: Vec<_> = (0..3).map(|_| event(EventType::MessageSent)).collect();
    store.ingest(app, &batch, t(0)).await.unwrap();
    assert_eq!(store.queue_depth(t(0)).await.unwrap().in_line, 2);
    let head = shaped_claim(store, t(0)).await.deliveries;
    assert_eq!(head.len(), 1);
    assert_eq!(
        head[0].event_id, batch[0].id,
        "array order is acceptance order"
    );
    assert!(
        shaped_claim(store, t(1)).await.deliveries.is_empty(),
        "one at a time"
    );
    // A retry holds the line until it is due.
    let retry = record(
        &head[0],
        attempt(t(2), 500),
        AttemptOutcome::RetryAt(t(1000)),
    );
    store.record_attempts(&[retry]).await.unwrap();
    assert!(shaped_claim(store, t(500)).await.deliveries.is_empty());
    let again = shaped_claim(store, t(1000)).await.deliveries;
    assert_eq!(again[0].request_id, head[0].request_id);
    store
        .record_attempts(&[success(&again[0], t(1001))])
        .await
        .unwrap();
    let next = shaped_claim(store, t(1002)).await.deliveries;
    assert_eq!(next[0].event_id, batch[1].id);

    // A manual retry goes to the end of the line.
    store
        .retry_delivery(app, w.id, head[0].request_id, t(1003))
        .await
        .unwrap();
    store
        .record_attempts(&[success(&next[0], t(1004))])
        .await
        .unwrap();
    let third = shaped_claim(store, t(1005)).await.deliveries;
    assert_eq!(third[0].event_id, batch[2].id);
    store
        .record_attempts(&[success(&third[0], t(1006))])
        .await
        .unwrap();
    let last = shaped_claim(store, t(1007)).await.deliveries;
    assert_eq!(last[0].request_id, head[0].request_id);
}
