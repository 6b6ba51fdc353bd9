//! Retention: `purge_finished`.

use crate::support::*;
use hooklayer_core::event_type::EventType;
use hooklayer_store::*;

conformance![
    purging_removes_old_finished_deliveries_and_orphaned_events_only,
    purging_goes_in_batches,
];

async fn purging_removes_old_finished_deliveries_and_orphaned_events_only(db: TestDb) {
    let store = &*db.store;
    let app = new_app(store).await;
    let w = active_webhook(store, app).await;
    let (done, waiting, unheard) = (
        event(EventType::MessageSent),
        event(EventType::MessageSent),
        event(EventType::ConversationCreated),
    );
    store
        .ingest(app, &[done.clone(), waiting.clone(), unheard.clone()], t(0))
        .await
        .unwrap();
    let recent = event(EventType::MessageSent);
    store
        .ingest(app, std::slice::from_ref(&recent), t(200))
        .await
        .unwrap();
    let claimed = claim_all(store, t(200)).await;
    let by_event =
        |e: &hooklayer_core::event::NewEvent| claimed.iter().find(|c| c.event_id == e.id).unwrap();
    let (old_done, recent_done) = (by_event(&done), by_event(&recent));
    store
        .record_attempts(&[
            record(old_done, attempt(t(10), 200), AttemptOutcome::Succeeded),
            record(recent_done, attempt(t(200), 200), AttemptOutcome::Succeeded),
        ])
        .await
        .unwrap();

    // Before t(100): one delivery with its one attempt, and the events of `done` and
    // `unheard` (never queued anywhere).
    let deleted = store.purge_finished(t(100), 100).await.unwrap();

    assert_eq!(deleted, 4);
    assert!(store
        .get_delivery(app, w.id, old_done.request_id)
        .await
        .unwrap()
        .is_none());
    assert!(store
        .get_delivery(app, w.id, recent_done.request_id)
        .await
        .unwrap()
        .is_some());
    assert_eq!(store.queue_depth(t(300)).await.unwrap().pending, 1);
    // A purged event id is new again; a kept one still answers as the first time.
    let again =
        [done.id, waiting.id, unheard.id].map(|id| event_with_id(id, EventType::MessageRead));
    let answers = store.ingest(app, &again, t(300)).await.unwrap();
    let types: Vec<_> = answers.iter().map(|a| a.event_type).collect();
    assert_eq!(
        types,
        [
            EventType::MessageRead,
            EventType::MessageSent,
            EventType::MessageRead
        ]
    );
    assert_eq!(store.purge_finished(t(100), 100).await.unwrap(), 0);
}

async fn purging_goes_in_batches(db: TestDb) {
    let store = &*db.store;
    let app = new_app(store).await;
    active_webhook(store, app).await;
    for _ in 0..5 {
        publish(store, app, t(0)).await;
    }
    let records: Vec<_> = claim_all(store, t(0))
        .await
        .iter()
        .map(|c| record(c, attempt(t(1), 200), AttemptOutcome::Succeeded))
        .collect();
    store.record_attempts(&records).await.unwrap();

    let mut rounds = Vec::new();
    loop {
        let deleted = store.purge_finished(t(100), 2).await.unwrap();
        if deleted == 0 {
            break;
        }
        rounds.push(deleted);
    }

    // Each round: at most 2 deliveries, their attempts, and at most 2 orphaned events.
    assert!(rounds.len() >= 3, "{rounds:?}");
    assert!(rounds.iter().all(|&n| n <= 6), "{rounds:?}");
    assert_eq!(rounds.iter().sum::<u64>(), 15);
}
