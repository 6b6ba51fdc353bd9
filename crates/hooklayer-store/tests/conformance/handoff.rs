//! Claiming at ingest (`Store::ingest_handing_off`): what an ingest hands to its process's
//! worker, what it leaves for the claims, and that a handed-off delivery is an ordinary claim.

use crate::support::*;
use hooklayer_core::delivery_settings::DeliveryChange;
use hooklayer_core::event_type::EventType;
use hooklayer_core::time::Timestamp;
use hooklayer_core::webhook::Secret;
use hooklayer_core::webhook_change::WebhookChange;
use hooklayer_store::*;
use std::collections::HashMap;

conformance![
    an_ingest_hands_off_up_to_its_limits_and_queues_the_rest_due_now,
    a_handed_off_delivery_is_a_claim_until_its_lease_ends,
    a_handed_off_delivery_carries_what_a_claim_would,
    an_event_the_app_already_had_hands_off_nothing,
    a_batch_with_one_known_event_queues_and_hands_off_only_the_new_ones,
];

/// A handoff leased until `t(30_000)`.
fn handoff(limit: u32, per_webhook: u32, skip: Vec<hooklayer_core::ids::WebhookId>) -> Handoff {
    Handoff {
        lease_until: t(30_000),
        limit,
        per_webhook,
        skip_webhooks: skip,
    }
}

fn events(n: usize) -> Vec<hooklayer_core::event::NewEvent> {
    (0..n).map(|_| event(EventType::MessageSent)).collect()
}

async fn an_ingest_hands_off_up_to_its_limits_and_queues_the_rest_due_now(db: TestDb) {
    let store = &*db.store;
    let app = new_app(store).await;
    let (a, b) = (
        active_webhook(store, app).await,
        active_webhook(store, app).await,
    );
    let skipped = active_webhook(store, app).await;
    let shaped = active_webhook(store, app).await;
    let change = WebhookChange {
        delivery: Some(DeliveryChange {
            rate_limit: Some(Some(100)),
            max_in_flight: None,
            ordered: None,
        }),
        ..WebhookChange::default()
    };
    store
        .change_webhook(app, shaped.id, change, 0, t(0))
        .await
        .unwrap()
        .expect("webhook exists");

    let ingested = store
        .ingest_handing_off(app, &events(3), t(0), &handoff(4, 2, vec![skipped.id]))
        .await
        .unwrap();

    assert_eq!(ingested.answers.len(), 3);
    assert!(ingested.answers.iter().all(|a| a.deliveries == 4));
    let mut per_webhook: HashMap<_, usize> = HashMap::new();
    for d in &ingested.claimed {
        *per_webhook.entry(d.webhook).or_default() += 1;
        assert_eq!(d.lease_until, t(30_000));
        assert_eq!(d.attempts_made, 0);
        assert!(!d.shaped);
    }
    assert_eq!(
        per_webhook,
        HashMap::from([(a.id, 2), (b.id, 2)]),
        "the limit (4) and two a webhook; none of the skipped or shaped webhook"
    );
    // The rest is due now: one of a, one of b, all three of the skipped webhook; the shaped
    // webhook's three go to the shaped claim.
    let rest = claim_all(store, t(0)).await;
    let mut left: HashMap<_, usize> = HashMap::new();
    for d in &rest {
        *left.entry(d.webhook).or_default() += 1;
    }
    assert_eq!(left, HashMap::from([(a.id, 1), (b.id, 1), (skipped.id, 3)]));
    let by_shaped = store.claim_shaped(&claim_at(t(0), 100)).await.unwrap();
    assert_eq!(by_shaped.deliveries.len(), 3);
    assert!(by_shaped.deliveries.iter().all(|d| d.webhook == shaped.id));

    // No handoff: everything due now.
    let plain = store
        .ingest_handing_off(app, &events(1), t(1), &Handoff::none())
        .await
        .unwrap();
    assert!(plain.claimed.is_empty());
    assert_eq!(claim_all(store, t(1)).await.len(), 3);
}

async fn a_handed_off_delivery_is_a_claim_until_its_lease_ends(db: TestDb) {
    let store = &*db.store;
    let app = new_app(store).await;
    let w = active_webhook(store, app).await;
    let ingested = store
        .ingest_handing_off(app, &events(2), t(0), &handoff(10, 10, vec![]))
        .await
        .unwrap();
    assert_eq!(ingested.claimed.len(), 2);

    assert!(claim_all(store, t(29_999)).await.is_empty(), "leased");
    assert_eq!(store.next_due().await.unwrap(), Some(t(30_000)));
    // The first is recorded under its lease; the second's worker "died": it is due at the
    // lease end and claimed again then.
    let done = &ingested.claimed[0];
    store
        .record_attempts(&[record(done, attempt(t(5), 200), AttemptOutcome::Succeeded)])
        .await
        .unwrap();
    let again = claim_all(store, t(30_000)).await;
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].request_id, ingested.claimed[1].request_id);
    let listed = deliveries(store, &w).await;
    let status: HashMap<_, _> = listed.iter().map(|d| (d.request_id, d.status)).collect();
    assert_eq!(status[&done.request_id], DeliveryStatus::Succeeded);
    assert_eq!(
        status[&ingested.claimed[1].request_id],
        DeliveryStatus::Pending
    );
}

async fn a_handed_off_delivery_carries_what_a_claim_would(db: TestDb) {
    let store = &*db.store;
    let app = new_app(store).await;
    let w = active_webhook(store, app).await;
    // A rotation inside its window: the previous secret signs too.
    let now = Timestamp::now();
    let rotate = WebhookChange {
        secret: Some(Secret::from_stored("second-secret".into())),
        ..WebhookChange::default()
    };
    store
        .change_webhook(app, w.id, rotate, 60_000, now)
        .await
        .unwrap()
        .expect("webhook exists");
    let e = events(1);
    let handoff = Handoff {
        lease_until: now.plus_millis(30_000),
        ..handoff(1, 1, vec![])
    };
    let handed = store
        .ingest_handing_off(app, &e, now, &handoff)
        .await
        .unwrap()
        .claimed
        .remove(0);
    // The same delivery claimed the ordinary way once the lease has run out.
    let claimed = claim_all(store, now.plus_millis(30_000)).await.remove(0);

    assert_eq!(
        (handed.request_id, handed.app, handed.webhook),
        (claimed.request_id, claimed.app, claimed.webhook)
    );
    assert_eq!(
        (handed.event_id, handed.event_type, handed.event_created_at),
        (
            claimed.event_id,
            claimed.event_type,
            claimed.event_created_at
        )
    );
    assert_eq!(handed.payload_prefix, claimed.payload_prefix);
    assert_eq!(handed.payload_prefix, e[0].payload_prefix);
    assert_eq!(handed.config_json, claimed.config_json);
    assert_eq!(
        (handed.target_url.as_str(), handed.version),
        (claimed.target_url.as_str(), claimed.version)
    );
    assert_eq!(handed.secret.expose(), "second-secret");
    assert_eq!(handed.secret, claimed.secret);
    assert_eq!(handed.previous_secret, Some(w.secret.clone()));
    assert_eq!(handed.previous_secret, claimed.previous_secret);
    assert_eq!(
        (handed.max_in_flight, handed.shaped),
        (claimed.max_in_flight, claimed.shaped)
    );
    assert_eq!(handed.lease_until, now.plus_millis(30_000));
}

async fn an_event_the_app_already_had_hands_off_nothing(db: TestDb) {
    let store = &*db.store;
    let app = new_app(store).await;
    active_webhook(store, app).await;
    let e = events(1);
    store.ingest(app, &e, t(0)).await.unwrap();

    let again = store
        .ingest_handing_off(app, &e, t(1), &handoff(10, 10, vec![]))
        .await
        .unwrap();

    assert!(again.claimed.is_empty());
    assert_eq!(again.answers.len(), 1);
    assert!(!again.answers[0].stored_now);
    assert_eq!(claim_all(store, t(1)).await.len(), 1, "the first one only");
}

async fn a_batch_with_one_known_event_queues_and_hands_off_only_the_new_ones(db: TestDb) {
    let store = &*db.store;
    let app = new_app(store).await;
    active_webhook(store, app).await;
    active_webhook(store, app).await;
    let e = events(3);
    store.ingest(app, &e[1..2], t(0)).await.unwrap();

    // Unique ids, one of them known: the new two get their deliveries, the known one none.
    let batch = store
        .ingest_handing_off(app, &e, t(1), &handoff(3, 10, vec![]))
        .await
        .unwrap();

    let stored_now: Vec<bool> = batch.answers.iter().map(|a| a.stored_now).collect();
    assert_eq!(stored_now, vec![true, false, true]);
    assert!(batch.answers.iter().all(|a| a.deliveries == 2));
    let handed: Vec<_> = batch.claimed.iter().map(|d| d.event_id).collect();
    assert_eq!(handed.len(), 3, "up to the limit, of the new events only");
    assert!(handed.iter().all(|id| *id == e[0].id || *id == e[2].id));
    // 2 queued for the known event at t(0), 4 for the new ones: 3 handed off, 1 due now.
    assert_eq!(store.queue_depth(t(1)).await.unwrap().pending, 6);
    assert_eq!(
        claim_all(store, t(1)).await.len(),
        3,
        "the first event's two and the one not handed off"
    );
}
