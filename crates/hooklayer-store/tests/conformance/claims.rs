//! Claims and leases, release, `next_due` and queue depth.

use crate::support::*;
use hooklayer_core::event_type::EventType;
use hooklayer_store::*;

conformance![
    a_claimed_delivery_carries_what_the_worker_sends,
    a_claimed_delivery_is_hidden_until_its_lease_ends,
    a_claim_takes_at_most_its_limit_earliest_due_first,
    the_fresh_lane_takes_the_newest_first_attempts_and_never_retries,
    deliveries_of_skipped_webhooks_stay_queued,
    a_skipped_webhooks_backlog_beyond_the_window_hides_no_other_due_delivery,
    deliveries_wait_while_their_webhook_is_not_active,
    a_release_makes_claimed_deliveries_due_now,
    next_due_is_the_earliest_pending_delivery_of_an_active_webhook,
    the_queue_depth_counts_pending_due_and_failed_deliveries,
];

async fn a_claimed_delivery_carries_what_the_worker_sends(db: TestDb) {
    let store = &*db.store;
    let app = new_app(store).await;
    let w = active_webhook(store, app).await;
    let e = event(EventType::MessageSent);
    store
        .ingest(app, std::slice::from_ref(&e), t(0))
        .await
        .unwrap();
    let listed = deliveries(store, &w).await.remove(0);

    let mut claimed = claim_all(store, t(0)).await;

    assert_eq!(claimed.len(), 1);
    let c = claimed.remove(0);
    assert_eq!(
        (c.request_id, c.app, c.webhook),
        (listed.request_id, app, w.id)
    );
    assert_eq!(
        (c.event_id, c.event_type, c.event_created_at),
        (e.id, e.event_type, e.created_at)
    );
    assert_eq!(c.attempts_made, 0);
    assert_eq!(c.payload_prefix, e.payload_prefix);
    assert_eq!(c.config_json, r#"{"key1":"value1"}"#);
    assert_eq!(
        (c.target_url.as_str(), c.version),
        (w.target_url.as_str(), w.version)
    );
    assert_eq!(c.secret.expose(), w.secret.expose());
}

async fn a_claimed_delivery_is_hidden_until_its_lease_ends(db: TestDb) {
    let store = &*db.store;
    let app = new_app(store).await;
    active_webhook(store, app).await;
    publish(store, app, t(0)).await;
    let lease = Claim {
        now: t(0),
        lease_until: t(30_000),
        limit: 10,
        skip_webhooks: vec![],
    };

    let first = store.claim_due(&lease, ClaimLane::OldestDue).await.unwrap();
    let during = claim_all(store, t(29_999)).await;
    let expired = claim_all(store, t(30_000)).await;

    assert_eq!(first.len(), 1);
    assert!(during.is_empty());
    assert_eq!(
        expired.iter().map(|c| c.request_id).collect::<Vec<_>>(),
        vec![first[0].request_id]
    );
}

async fn a_claim_takes_at_most_its_limit_earliest_due_first(db: TestDb) {
    let store = &*db.store;
    let app = new_app(store).await;
    let w = active_webhook(store, app).await;
    for at in [4, 2, 0, 3, 1] {
        publish(store, app, t(at)).await;
    }
    let mut by_due = deliveries(store, &w).await;
    by_due.sort_by_key(|d| d.created_at);

    let first = store
        .claim_due(&claim_at(t(10), 2), ClaimLane::OldestDue)
        .await
        .unwrap();

    let mut got: Vec<_> = first.iter().map(|c| c.request_id).collect();
    got.sort();
    let mut want = vec![by_due[0].request_id, by_due[1].request_id];
    want.sort();
    assert_eq!(got, want);
    assert_eq!(claim_all(store, t(10)).await.len(), 3);
}

async fn the_fresh_lane_takes_the_newest_first_attempts_and_never_retries(db: TestDb) {
    let store = &*db.store;
    let app = new_app(store).await;
    let backlog = active_webhook(store, app).await;
    for at in 0..5 {
        publish(store, app, t(at)).await;
    }
    // The oldest delivery is tried once and fails: its retry becomes due at t(20), later
    // than every first attempt.
    let tried = store
        .claim_due(&claim_at(t(10), 1), ClaimLane::OldestDue)
        .await
        .unwrap()
        .remove(0);
    store
        .record_attempts(&[record(
            &tried,
            attempt(t(10), 500),
            AttemptOutcome::RetryAt(t(20)),
        )])
        .await
        .unwrap();
    let mut by_due = deliveries(store, &backlog).await;
    by_due.sort_by_key(|d| d.created_at);

    let fresh = store
        .claim_due(&claim_at(t(30), 2), ClaimLane::NewestFirstAttempts)
        .await
        .unwrap();
    let oldest = store
        .claim_due(&claim_at(t(30), 10), ClaimLane::OldestDue)
        .await
        .unwrap();

    assert_eq!(tried.request_id, by_due[0].request_id);
    let mut newest: Vec<_> = fresh.iter().map(|c| c.request_id).collect();
    newest.sort();
    let mut want = vec![by_due[4].request_id, by_due[3].request_id];
    want.sort();
    assert_eq!(
        newest, want,
        "the two newest first attempts; the retry due later is not among them"
    );
    let mut rest: Vec<_> = oldest.iter().map(|c| c.request_id).collect();
    rest.sort();
    let mut want = vec![
        by_due[0].request_id,
        by_due[1].request_id,
        by_due[2].request_id,
    ];
    want.sort();
    assert_eq!(rest, want, "the oldest lane takes what the fresh lane left");
}

async fn deliveries_of_skipped_webhooks_stay_queued(db: TestDb) {
    let store = &*db.store;
    let app = new_app(store).await;
    let busy = active_webhook(store, app).await;
    let free = active_webhook(store, app).await;
    publish(store, app, t(0)).await;
    let skipping = Claim {
        skip_webhooks: vec![busy.id],
        ..claim_at(t(0), 10)
    };

    let first = store
        .claim_due(&skipping, ClaimLane::OldestDue)
        .await
        .unwrap();
    let rest = claim_all(store, t(0)).await;

    assert_eq!(
        first.iter().map(|c| c.webhook).collect::<Vec<_>>(),
        vec![free.id]
    );
    assert_eq!(
        rest.iter().map(|c| c.webhook).collect::<Vec<_>>(),
        vec![busy.id]
    );
}

async fn a_skipped_webhooks_backlog_beyond_the_window_hides_no_other_due_delivery(db: TestDb) {
    let store = &*db.store;
    let app = new_app(store).await;
    let busy = active_webhook(store, app).await;
    // More due deliveries of the skipped webhook than a skipping claim looks through, all
    // due before the other webhook's.
    let backlog = SKIP_WINDOW as usize + 100;
    let events: Vec<_> = (0..backlog)
        .map(|_| event(EventType::MessageSent))
        .collect();
    for batch in events.chunks(100) {
        store.ingest(app, batch, t(0)).await.unwrap();
    }
    let free = active_webhook(store, app).await;
    publish(store, app, t(1)).await;
    let skipping = Claim {
        skip_webhooks: vec![busy.id],
        ..claim_at(t(10), 10)
    };

    let oldest = store
        .claim_due(&skipping, ClaimLane::OldestDue)
        .await
        .unwrap();
    let unskipped = store
        .claim_due(&claim_at(t(10), 10), ClaimLane::OldestDue)
        .await
        .unwrap();

    assert_eq!(
        oldest.iter().map(|c| c.webhook).collect::<Vec<_>>(),
        vec![free.id],
        "the other webhook's delivery, found behind the skipped webhook's backlog"
    );
    assert_eq!(unskipped.len(), 10);
    assert!(unskipped.iter().all(|c| c.webhook == busy.id));
}

async fn deliveries_wait_while_their_webhook_is_not_active(db: TestDb) {
    let store = &*db.store;
    let app = new_app(store).await;
    let w = active_webhook(store, app).await;
    publish(store, app, t(0)).await;
    store
        .deactivate_webhook(app, w.id, "Deactivated by User")
        .await
        .unwrap();

    assert!(claim_all(store, t(0)).await.is_empty());
    assert_eq!(store.next_due().await.unwrap(), None);
    store.activate_webhook(app, w.id, t(1)).await.unwrap();
    assert!(claim_all(store, t(1)).await.is_empty());
    store.finish_verification(w.id, Ok(())).await.unwrap();

    assert_eq!(claim_all(store, t(1)).await.len(), 1);
}

async fn a_release_makes_claimed_deliveries_due_now(db: TestDb) {
    let store = &*db.store;
    let app = new_app(store).await;
    active_webhook(store, app).await;
    publish(store, app, t(0)).await;
    publish(store, app, t(0)).await;
    let claimed = claim_all(store, t(0)).await;
    let (finished, unsent) = (&claimed[0], &claimed[1]);
    let success = record(finished, attempt(t(1), 200), AttemptOutcome::Succeeded);
    store.record_attempts(&[success]).await.unwrap();

    store
        .release(&[finished.request_id, unsent.request_id], t(5))
        .await
        .unwrap();

    let again = claim_all(store, t(5)).await;
    assert_eq!(
        again.iter().map(|c| c.request_id).collect::<Vec<_>>(),
        vec![unsent.request_id]
    );
    let depth = store.queue_depth(t(5)).await.unwrap();
    assert_eq!((depth.pending, depth.failed), (1, 0));
    store.release(&[], t(5)).await.unwrap();
}

async fn next_due_is_the_earliest_pending_delivery_of_an_active_webhook(db: TestDb) {
    let store = &*db.store;
    let app = new_app(store).await;
    active_webhook(store, app).await;
    let paused = active_webhook(store, app).await;
    assert_eq!(store.next_due().await.unwrap(), None);

    publish(store, app, t(100)).await;
    store
        .deactivate_webhook(app, paused.id, "Deactivated by User")
        .await
        .unwrap();
    publish(store, app, t(50)).await;
    let with_two = store.next_due().await.unwrap();
    claim_all(store, t(100)).await;
    let after_claim = store.next_due().await.unwrap();

    assert_eq!(with_two, Some(t(50)));
    assert_eq!(after_claim, Some(t(30_100)));
}

async fn the_queue_depth_counts_pending_due_and_failed_deliveries(db: TestDb) {
    let store = &*db.store;
    let app = new_app(store).await;
    active_webhook(store, app).await;
    let doomed = active_webhook(store, app).await;
    publish(store, app, t(0)).await;
    publish(store, app, t(10)).await;
    let first = claim_all(store, t(0)).await;
    let to_fail = first.iter().find(|c| c.webhook == doomed.id).unwrap();
    let outcome = AttemptOutcome::Exhausted {
        webhook_reason: "Delivery failed after 1 attempts".into(),
    };
    store
        .record_attempts(&[record(to_fail, attempt(t(1), 500), outcome)])
        .await
        .unwrap();

    let depth = store.queue_depth(t(10)).await.unwrap();

    // Pending: the other webhook's two deliveries (one leased, one due). Failed: both of
    // the exhausted webhook's.
    assert_eq!(
        depth,
        QueueDepth {
            pending: 2,
            due: 1,
            failed: 2,
            rate_limited: 0,
            in_line: 0,
        }
    );
}
