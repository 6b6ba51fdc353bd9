//! Recording attempts: success, retry, exhaustion, and the guards around them.

use crate::support::*;
use hooklayer_core::webhook::WebhookStatus;
use hooklayer_store::*;

const REASON: &str = "Delivery failed after 3 attempts: unexpected response status: 500";

fn exhausted() -> AttemptOutcome {
    AttemptOutcome::Exhausted {
        webhook_reason: REASON.into(),
    }
}

conformance![
    a_success_finishes_the_delivery,
    a_failure_with_attempts_left_reschedules_the_delivery,
    exhaustion_fails_the_webhook_and_its_other_pending_deliveries,
    outcomes_apply_only_to_pending_deliveries_but_attempts_are_always_logged,
    a_success_in_the_batch_that_exhausts_its_webhook_still_counts,
    recording_for_a_deleted_webhook_is_a_no_op,
    a_result_of_a_superseded_claim_is_logged_but_changes_nothing,
];

async fn a_success_finishes_the_delivery(db: TestDb) {
    let store = &*db.store;
    let app = new_app(store).await;
    let w = active_webhook(store, app).await;
    publish(store, app, t(0)).await;
    let c = claim_all(store, t(0)).await.remove(0);

    store
        .record_attempts(&[record(&c, attempt(t(10), 200), AttemptOutcome::Succeeded)])
        .await
        .unwrap();

    let d = store
        .get_delivery(app, w.id, c.request_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (d.status, d.next_attempt_at),
        (DeliveryStatus::Succeeded, None)
    );
    assert_eq!(d.attempts, vec![attempt(t(10), 200)]);
    assert!(claim_all(store, t(100_000)).await.is_empty());
    assert_eq!(
        store.queue_depth(t(0)).await.unwrap(),
        QueueDepth::default()
    );
}

async fn a_failure_with_attempts_left_reschedules_the_delivery(db: TestDb) {
    let store = &*db.store;
    let app = new_app(store).await;
    let w = active_webhook(store, app).await;
    publish(store, app, t(0)).await;
    let c = claim_all(store, t(0)).await.remove(0);
    let mut failure = attempt(t(10), 503);
    failure.status_code = None;
    failure.error = Some("connection refused".into());
    failure.response_body = None;

    store
        .record_attempts(&[record(
            &c,
            failure.clone(),
            AttemptOutcome::RetryAt(t(60_000)),
        )])
        .await
        .unwrap();

    let d = store
        .get_delivery(app, w.id, c.request_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (d.status, d.next_attempt_at),
        (DeliveryStatus::Pending, Some(t(60_000)))
    );
    assert_eq!(d.attempts, vec![failure]);
    assert!(claim_all(store, t(59_999)).await.is_empty());
    let again = claim_all(store, t(60_000)).await;
    assert_eq!(again[0].attempts_made, 1);
}

async fn exhaustion_fails_the_webhook_and_its_other_pending_deliveries(db: TestDb) {
    let store = &*db.store;
    let app = new_app(store).await;
    let w = active_webhook(store, app).await;
    let bystander = active_webhook(store, app).await;
    for at in 0..3 {
        publish(store, app, t(at)).await;
    }
    let first = claim_all(store, t(0)).await;
    let c = first.iter().find(|c| c.webhook == w.id).unwrap();

    store
        .record_attempts(&[record(c, attempt(t(10), 500), exhausted())])
        .await
        .unwrap();

    let hook = store.get_webhook(app, w.id).await.unwrap().unwrap();
    assert_eq!(
        (hook.status, hook.status_reason.as_deref()),
        (WebhookStatus::Inactive, Some(REASON))
    );
    let all = deliveries(store, &w).await;
    assert!(all
        .iter()
        .all(|d| d.status == DeliveryStatus::Failed && d.next_attempt_at.is_none()));
    assert_eq!(all.iter().map(|d| d.attempts.len()).sum::<usize>(), 1);
    assert!(deliveries(store, &bystander)
        .await
        .iter()
        .all(|d| d.status == DeliveryStatus::Pending));
    assert_eq!(store.queue_depth(t(10)).await.unwrap().failed, 3);
}

async fn outcomes_apply_only_to_pending_deliveries_but_attempts_are_always_logged(db: TestDb) {
    let store = &*db.store;
    let app = new_app(store).await;
    let w = active_webhook(store, app).await;
    publish(store, app, t(0)).await;
    publish(store, app, t(0)).await;
    let claimed = claim_all(store, t(0)).await;
    let (doomed, late) = (&claimed[0], &claimed[1]);
    store
        .record_attempts(&[record(doomed, attempt(t(10), 500), exhausted())])
        .await
        .unwrap();

    store
        .record_attempts(&[record(late, attempt(t(20), 200), AttemptOutcome::Succeeded)])
        .await
        .unwrap();
    store
        .record_attempts(&[record(
            doomed,
            attempt(t(30), 500),
            AttemptOutcome::RetryAt(t(40)),
        )])
        .await
        .unwrap();

    for c in [doomed, late] {
        let d = store
            .get_delivery(app, w.id, c.request_id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (d.status, d.next_attempt_at),
            (DeliveryStatus::Failed, None)
        );
    }
    let logged = store
        .get_delivery(app, w.id, late.request_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(logged.attempts, vec![attempt(t(20), 200)]);
}

async fn a_success_in_the_batch_that_exhausts_its_webhook_still_counts(db: TestDb) {
    let store = &*db.store;
    let app = new_app(store).await;
    let w = active_webhook(store, app).await;
    publish(store, app, t(0)).await;
    publish(store, app, t(0)).await;
    let claimed = claim_all(store, t(0)).await;
    let (doomed, fine) = (&claimed[0], &claimed[1]);

    store
        .record_attempts(&[
            record(doomed, attempt(t(10), 500), exhausted()),
            record(fine, attempt(t(11), 200), AttemptOutcome::Succeeded),
        ])
        .await
        .unwrap();

    let status = |id| async move {
        store
            .get_delivery(app, w.id, id)
            .await
            .unwrap()
            .unwrap()
            .status
    };
    assert_eq!(status(doomed.request_id).await, DeliveryStatus::Failed);
    assert_eq!(status(fine.request_id).await, DeliveryStatus::Succeeded);
    let hook = store.get_webhook(app, w.id).await.unwrap().unwrap();
    assert_eq!(hook.status, WebhookStatus::Inactive);
}

async fn recording_for_a_deleted_webhook_is_a_no_op(db: TestDb) {
    let store = &*db.store;
    let app = new_app(store).await;
    let w = active_webhook(store, app).await;
    publish(store, app, t(0)).await;
    publish(store, app, t(0)).await;
    let claimed = claim_all(store, t(0)).await;
    store.delete_webhook(app, w.id).await.unwrap();

    store
        .record_attempts(&[
            record(&claimed[0], attempt(t(10), 200), AttemptOutcome::Succeeded),
            record(&claimed[1], attempt(t(10), 500), exhausted()),
        ])
        .await
        .unwrap();

    assert_eq!(
        store.queue_depth(t(10)).await.unwrap(),
        QueueDepth::default()
    );
    store.record_attempts(&[]).await.unwrap();
}

async fn a_result_of_a_superseded_claim_is_logged_but_changes_nothing(db: TestDb) {
    let store = &*db.store;
    let app = new_app(store).await;
    let w = active_webhook(store, app).await;
    publish(store, app, t(0)).await;
    let old = claim_all(store, t(0)).await.remove(0);
    // A manual retry while the last attempt is still in flight starts a new claim cycle.
    store
        .retry_delivery(app, w.id, old.request_id, t(5))
        .await
        .unwrap()
        .unwrap();

    store
        .record_attempts(&[record(&old, attempt(t(10), 500), exhausted())])
        .await
        .unwrap();

    let d = store
        .get_delivery(app, w.id, old.request_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        d.status,
        DeliveryStatus::Pending,
        "the retry's fresh budget stands"
    );
    assert_eq!(d.attempts.len(), 1, "the late attempt is still in the log");
    let hook = store.get_webhook(app, w.id).await.unwrap().unwrap();
    assert_eq!(
        hook.status,
        WebhookStatus::Active,
        "a stale exhaustion deactivates nothing"
    );
    let again = claim_all(store, t(10)).await;
    assert_eq!(
        again.len(),
        1,
        "the delivery is due again under the new cycle"
    );
}
