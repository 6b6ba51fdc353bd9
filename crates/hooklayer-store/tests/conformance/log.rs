//! The delivery log: listing, paging, one delivery with its attempts, retry and replay.

use crate::support::*;
use hooklayer_core::event_type::EventType;
use hooklayer_core::ids::{RequestId, WebhookId};
use hooklayer_store::*;
use std::collections::HashSet;

conformance![
    the_log_lists_newest_first_and_filters_by_status,
    the_log_pages_through_every_delivery_exactly_once,
    a_delivery_shows_its_attempts_oldest_first,
    a_retry_queues_the_delivery_now_with_a_fresh_budget,
    a_replay_queues_the_matching_deliveries_since_a_time,
];

async fn the_log_lists_newest_first_and_filters_by_status(db: TestDb) {
    let store = &*db.store;
    let app = new_app(store).await;
    let w = active_webhook(store, app).await;
    for at in [2, 3, 1] {
        publish(store, app, t(at)).await;
    }
    let oldest = claim_all(store, t(1)).await.remove(0);
    store
        .record_attempts(&[record(
            &oldest,
            attempt(t(5), 200),
            AttemptOutcome::Succeeded,
        )])
        .await
        .unwrap();
    let list = |status| async move {
        let query = DeliveryQuery {
            status,
            limit: 50,
            after: None,
        };
        let page = store.list_deliveries(app, w.id, &query).await.unwrap();
        assert!(page.next.is_none());
        page.items.iter().map(|d| d.created_at).collect::<Vec<_>>()
    };

    assert_eq!(list(None).await, vec![t(3), t(2), t(1)]);
    assert_eq!(list(Some(DeliveryStatus::Pending)).await, vec![t(3), t(2)]);
    assert_eq!(list(Some(DeliveryStatus::Succeeded)).await, vec![t(1)]);
    assert_eq!(list(Some(DeliveryStatus::Failed)).await, vec![]);
    let elsewhere = store.list_deliveries(
        app,
        WebhookId::new(),
        &DeliveryQuery {
            status: None,
            limit: 50,
            after: None,
        },
    );
    assert!(elsewhere.await.unwrap().items.is_empty());
}

async fn the_log_pages_through_every_delivery_exactly_once(db: TestDb) {
    let store = &*db.store;
    let app = new_app(store).await;
    let w = active_webhook(store, app).await;
    // 100 in one batch share one `created_at`: only the request id orders them.
    let batch: Vec<_> = (0..100).map(|_| event(EventType::MessageSent)).collect();
    store.ingest(app, &batch, t(50)).await.unwrap();
    for at in 0..20 {
        publish(store, app, t(at * 5)).await;
    }

    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let query = DeliveryQuery {
            status: None,
            limit: 25,
            after,
        };
        let page = store.list_deliveries(app, w.id, &query).await.unwrap();
        assert!(page.items.len() <= 25);
        seen.extend(page.items.iter().map(|d| (d.created_at, d.request_id)));
        // The cursor survives its text form, as the API hands it out.
        after = page.next.map(|c| Cursor::decode(&c.encode()).unwrap());
        if after.is_none() {
            break;
        }
    }

    assert_eq!(seen.len(), 120);
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 120);
    assert!(
        seen.windows(2).all(|pair| pair[0] > pair[1]),
        "strictly newest first"
    );
}

async fn a_delivery_shows_its_attempts_oldest_first(db: TestDb) {
    let store = &*db.store;
    let app = new_app(store).await;
    let w = active_webhook(store, app).await;
    publish(store, app, t(0)).await;
    let mut made = Vec::new();
    for (i, status) in [500u16, 502, 200].into_iter().enumerate() {
        let at = t(1000 * i as i64);
        let c = claim_all(store, at).await.remove(0);
        let outcome = if status == 200 {
            AttemptOutcome::Succeeded
        } else {
            AttemptOutcome::RetryAt(t(1000 * (i as i64 + 1)))
        };
        store
            .record_attempts(&[record(&c, attempt(at, status), outcome)])
            .await
            .unwrap();
        made.push(attempt(at, status));
    }
    let id = deliveries(store, &w).await[0].request_id;

    let d = store.get_delivery(app, w.id, id).await.unwrap().unwrap();

    assert_eq!(d.attempts, made);
    assert_eq!(deliveries(store, &w).await[0].attempts, made);
    assert!(store
        .get_delivery(app, WebhookId::new(), id)
        .await
        .unwrap()
        .is_none());
    assert!(store
        .get_delivery(app, w.id, RequestId::new())
        .await
        .unwrap()
        .is_none());
}

async fn a_retry_queues_the_delivery_now_with_a_fresh_budget(db: TestDb) {
    let store = &*db.store;
    let app = new_app(store).await;
    let w = active_webhook(store, app).await;
    publish(store, app, t(0)).await;
    let c = claim_all(store, t(0)).await.remove(0);
    fail_and_reactivate(store, &c, t(10)).await;

    let d = store
        .retry_delivery(app, w.id, c.request_id, t(500))
        .await
        .unwrap()
        .unwrap();

    assert_eq!(
        (d.status, d.next_attempt_at),
        (DeliveryStatus::Pending, Some(t(500)))
    );
    assert_eq!(d.attempts.len(), 1, "the log keeps earlier attempts");
    assert!(claim_all(store, t(499)).await.is_empty());
    let again = claim_all(store, t(500)).await;
    assert_eq!(
        (again[0].request_id, again[0].attempts_made),
        (c.request_id, 0)
    );
    assert!(store
        .retry_delivery(app, w.id, RequestId::new(), t(500))
        .await
        .unwrap()
        .is_none());
}

async fn a_replay_queues_the_matching_deliveries_since_a_time(db: TestDb) {
    let store = &*db.store;
    let app = new_app(store).await;
    let w = active_webhook(store, app).await;
    // Deliveries created at t(1) failed, t(2) succeeded, t(3) failed, t(4) pending.
    for (at, outcome) in [
        (1, Some(false)),
        (2, Some(true)),
        (3, Some(false)),
        (4, None),
    ] {
        publish(store, app, t(at)).await;
        let Some(succeeded) = outcome else { continue };
        let c = claim_all(store, t(at)).await.remove(0);
        if succeeded {
            store
                .record_attempts(&[record(&c, attempt(t(at), 200), AttemptOutcome::Succeeded)])
                .await
                .unwrap();
        } else {
            fail_and_reactivate(store, &c, t(at)).await;
        }
    }
    let statuses = || async {
        let mut all = deliveries(store, &w).await;
        all.reverse();
        all.iter().map(|d| d.status).collect::<Vec<_>>()
    };
    use DeliveryStatus::{Failed, Pending, Succeeded};
    assert_eq!(statuses().await, vec![Failed, Succeeded, Failed, Pending]);
    // The counts a replay shows before it queues match what it queues.
    let count = |since, scope| store.replay_count(app, w.id, since, scope);
    assert_eq!(count(t(2), ReplayScope::Failed).await.unwrap(), 1);
    assert_eq!(count(t(0), ReplayScope::Failed).await.unwrap(), 2);
    assert_eq!(count(t(0), ReplayScope::All).await.unwrap(), 3);
    let failed_counted_to = |cap| async move {
        let counts = store.open_counts(app, cap).await.unwrap();
        counts.iter().find(|(id, _, _)| *id == w.id).map(|c| c.2)
    };
    assert_eq!(
        failed_counted_to(10).await,
        Some(2),
        "bounded counts count up to their cap"
    );
    assert_eq!(failed_counted_to(1).await, Some(1));

    let failed_since_2 = store
        .replay(app, w.id, t(2), ReplayScope::Failed, t(100))
        .await
        .unwrap();
    assert_eq!(statuses().await, vec![Failed, Succeeded, Pending, Pending]);
    let succeeded = store
        .replay(app, w.id, t(0), ReplayScope::Succeeded, t(100))
        .await
        .unwrap();
    assert_eq!(statuses().await, vec![Failed, Pending, Pending, Pending]);
    let everything = store
        .replay(app, w.id, t(0), ReplayScope::All, t(100))
        .await
        .unwrap();
    let nothing_here = store
        .replay(app, WebhookId::new(), t(0), ReplayScope::All, t(100))
        .await
        .unwrap();

    assert_eq!(
        (failed_since_2, succeeded, everything, nothing_here),
        (1, 1, 1, 0),
        "\"all\" re-queues finished deliveries only; pending ones are already queued"
    );
    let queued = claim_all(store, t(100)).await;
    assert_eq!(queued.len(), 4);
    assert!(queued.iter().all(|c| c.attempts_made == 0));
}
