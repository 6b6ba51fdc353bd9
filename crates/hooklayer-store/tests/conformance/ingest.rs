//! Ingest: fan-out, idempotency and batch answers.

use crate::support::*;
use hooklayer_core::event_type::EventType;
use hooklayer_core::webhook::WebhookStatus;
use hooklayer_store::*;

conformance![
    an_event_fans_out_to_the_active_webhooks_subscribed_to_its_type,
    republishing_an_id_returns_the_first_answer_and_queues_nothing,
    a_batch_is_answered_in_order_and_a_repeated_id_gets_its_first_answer,
    event_ids_are_unique_per_app_not_globally,
    an_empty_batch_stores_nothing,
    stored_events_are_read_back_by_id_within_their_app,
];

async fn an_event_fans_out_to_the_active_webhooks_subscribed_to_its_type(db: TestDb) {
    let store = &*db.store;
    let app = new_app(store).await;
    let sent = add_webhook(store, app, WebhookStatus::Active, &[EventType::MessageSent]).await;
    let both = add_webhook(
        store,
        app,
        WebhookStatus::Active,
        &[EventType::MessageRead, EventType::MessageSent],
    )
    .await;
    let other_type = add_webhook(
        store,
        app,
        WebhookStatus::Active,
        &[EventType::ConversationCreated],
    )
    .await;
    let unverified = add_webhook(
        store,
        app,
        WebhookStatus::Unverified,
        &[EventType::MessageSent],
    )
    .await;
    let inactive = add_webhook(
        store,
        app,
        WebhookStatus::Inactive,
        &[EventType::MessageSent],
    )
    .await;
    let other_app = new_app(store).await;
    let elsewhere = active_webhook(store, other_app).await;
    let e = event(EventType::MessageSent);

    let answers = store
        .ingest(app, std::slice::from_ref(&e), t(7))
        .await
        .unwrap();

    let expected = IngestAnswer {
        id: e.id,
        event_type: e.event_type,
        created_at: e.created_at,
        deliveries: 2,
        stored_now: true,
    };
    assert_eq!(answers, vec![expected]);
    for (w, n) in [
        (&sent, 1),
        (&both, 1),
        (&other_type, 0),
        (&unverified, 0),
        (&inactive, 0),
        (&elsewhere, 0),
    ] {
        assert_eq!(deliveries(store, w).await.len(), n);
    }
    let d = deliveries(store, &sent).await.remove(0);
    assert_eq!(
        (d.event_id, d.event_type, d.status),
        (e.id, e.event_type, DeliveryStatus::Pending)
    );
    assert_eq!((d.created_at, d.next_attempt_at), (t(7), Some(t(7))));
    assert!(d.attempts.is_empty());
}

async fn republishing_an_id_returns_the_first_answer_and_queues_nothing(db: TestDb) {
    let store = &*db.store;
    let app = new_app(store).await;
    let w = active_webhook(store, app).await;
    active_webhook(store, app).await;
    let first = event(EventType::MessageSent);
    let original = store
        .ingest(app, std::slice::from_ref(&first), t(0))
        .await
        .unwrap();
    store
        .deactivate_webhook(app, w.id, "Deactivated by User")
        .await
        .unwrap();
    let mut changed = event_with_id(first.id, EventType::MessageRead);
    changed.created_at = t(99);

    let again = store.ingest(app, &[changed], t(100)).await.unwrap();

    let expected = IngestAnswer {
        stored_now: false,
        ..original[0].clone()
    };
    assert_eq!(again, vec![expected]);
    assert!(original[0].stored_now);
    assert_eq!(again[0].deliveries, 2);
    assert_eq!(store.queue_depth(t(100)).await.unwrap().pending, 2);
}

async fn a_batch_is_answered_in_order_and_a_repeated_id_gets_its_first_answer(db: TestDb) {
    let store = &*db.store;
    let app = new_app(store).await;
    active_webhook(store, app).await;
    let known = event(EventType::MessageSent);
    store
        .ingest(app, std::slice::from_ref(&known), t(0))
        .await
        .unwrap();
    let new = event(EventType::MessageSent);
    let unsubscribed = event(EventType::ConversationCreated);
    let batch = [
        event_with_id(known.id, EventType::MessageRead),
        new.clone(),
        event_with_id(new.id, EventType::MessageDeleted),
        unsubscribed.clone(),
        event_with_id(known.id, EventType::MessageDeleted),
    ];

    let answers = store.ingest(app, &batch, t(1)).await.unwrap();

    let answer = |e: &hooklayer_core::event::NewEvent, n, stored_now| IngestAnswer {
        id: e.id,
        event_type: e.event_type,
        created_at: e.created_at,
        deliveries: n,
        stored_now,
    };
    let (known_a, new_a) = (answer(&known, 1, false), answer(&new, 1, true));
    assert_eq!(
        answers,
        vec![
            known_a.clone(),
            new_a.clone(),
            new_a,
            answer(&unsubscribed, 0, true),
            known_a
        ]
    );
    assert_eq!(store.queue_depth(t(1)).await.unwrap().pending, 2);
}

async fn event_ids_are_unique_per_app_not_globally(db: TestDb) {
    let store = &*db.store;
    let (a, b) = (new_app(store).await, new_app(store).await);
    active_webhook(store, a).await;
    active_webhook(store, b).await;
    let e = event(EventType::MessageSent);

    store
        .ingest(a, std::slice::from_ref(&e), t(0))
        .await
        .unwrap();
    let in_b = store.ingest(b, &[e], t(0)).await.unwrap();

    assert_eq!(in_b[0].deliveries, 1);
    assert_eq!(store.queue_depth(t(0)).await.unwrap().pending, 2);
}

async fn an_empty_batch_stores_nothing(db: TestDb) {
    let store = &*db.store;
    let app = new_app(store).await;

    assert!(store.ingest(app, &[], t(0)).await.unwrap().is_empty());
    assert_eq!(
        store.queue_depth(t(0)).await.unwrap(),
        QueueDepth::default()
    );
}

async fn stored_events_are_read_back_by_id_within_their_app(db: TestDb) {
    let store = &*db.store;
    let (app, other) = (new_app(store).await, new_app(store).await);
    let (a, b) = (
        event(EventType::MessageSent),
        event(EventType::ConversationCreated),
    );
    store
        .ingest(app, &[a.clone(), b.clone()], t(0))
        .await
        .unwrap();
    let elsewhere = event(EventType::MessageRead);
    store
        .ingest(other, std::slice::from_ref(&elsewhere), t(0))
        .await
        .unwrap();

    let found = store
        .events_by_id(
            app,
            &[
                b.id,
                a.id,
                elsewhere.id,
                hooklayer_core::ids::EventId::new(),
            ],
        )
        .await
        .unwrap();

    let fields = |events: &[hooklayer_core::event::NewEvent]| {
        let mut v: Vec<_> = events
            .iter()
            .map(|e| (e.id, e.event_type, e.created_at, e.payload_prefix.clone()))
            .collect();
        v.sort_by_key(|f| f.1.as_str());
        v
    };
    assert_eq!(fields(&found), fields(&[a, b]));
    assert!(store.events_by_id(app, &[]).await.unwrap().is_empty());
}
