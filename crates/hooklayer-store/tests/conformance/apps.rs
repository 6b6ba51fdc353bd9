//! Apps and tokens.

use crate::support::*;
use hooklayer_core::event_type::EventType;
use hooklayer_core::ids::AppId;
use hooklayer_store::*;

conformance![
    a_fresh_store_answers_ping,
    apps_are_listed_oldest_first_and_found_by_their_token,
    a_second_token_opens_the_same_app,
    deleting_an_app_removes_its_tokens_webhooks_events_and_deliveries,
    reopening_a_database_keeps_its_data,
];

async fn a_fresh_store_answers_ping(db: TestDb) {
    db.store.ping().await.unwrap();
}

async fn apps_are_listed_oldest_first_and_found_by_their_token(db: TestDb) {
    let store = &*db.store;
    let mut made = Vec::new();
    for (name, at) in [("b", 2), ("a", 1), ("c", 3)] {
        let app = App {
            id: AppId::new(),
            name: name.into(),
            created_at: t(at),
        };
        store
            .create_app(&app, &format!("hash-{name}"))
            .await
            .unwrap();
        made.push(app);
    }

    let listed = store.list_apps().await.unwrap();

    assert_eq!(
        listed,
        vec![made[1].clone(), made[0].clone(), made[2].clone()]
    );
    assert_eq!(
        store.app_for_token("hash-b").await.unwrap(),
        Some(made[0].id)
    );
    assert_eq!(store.app_for_token("hash-unknown").await.unwrap(), None);
}

async fn a_second_token_opens_the_same_app(db: TestDb) {
    let store = &*db.store;
    let app = new_app(store).await;

    assert!(store.add_token(app, "second", t(1)).await.unwrap());
    assert!(!store.add_token(AppId::new(), "orphan", t(1)).await.unwrap());

    assert_eq!(store.app_for_token("second").await.unwrap(), Some(app));
    assert_eq!(
        store.app_for_token(&token_of(app)).await.unwrap(),
        Some(app)
    );
    assert_eq!(store.app_for_token("orphan").await.unwrap(), None);
}

async fn deleting_an_app_removes_its_tokens_webhooks_events_and_deliveries(db: TestDb) {
    let store = &*db.store;
    let app = App {
        id: AppId::new(),
        name: "doomed".into(),
        created_at: t(0),
    };
    store.create_app(&app, "doomed-token").await.unwrap();
    let w = active_webhook(store, app.id).await;
    let first = event(EventType::MessageSent);
    store
        .ingest(app.id, std::slice::from_ref(&first), t(0))
        .await
        .unwrap();
    let other = new_app(store).await;
    let kept = active_webhook(store, other).await;
    publish(store, other, t(0)).await;

    assert!(store.delete_app(app.id).await.unwrap());

    assert!(!store.delete_app(app.id).await.unwrap());
    assert_eq!(store.app_for_token("doomed-token").await.unwrap(), None);
    assert!(store.list_webhooks(app.id).await.unwrap().is_empty());
    assert!(store.get_webhook(app.id, w.id).await.unwrap().is_none());
    assert_eq!(store.queue_depth(t(0)).await.unwrap().pending, 1);
    let claimed = claim_all(store, t(0)).await;
    assert_eq!(
        claimed.iter().map(|c| c.webhook).collect::<Vec<_>>(),
        vec![kept.id]
    );
    // The events went too: under the same app id, the old event id is new again.
    store.create_app(&app, "doomed-token").await.unwrap();
    let again = event_with_id(first.id, EventType::MessageRead);
    let answer = store.ingest(app.id, &[again], t(1)).await.unwrap();
    assert_eq!(answer[0].event_type, EventType::MessageRead);
}

async fn reopening_a_database_keeps_its_data(db: TestDb) {
    let app = new_app(&*db.store).await;

    let reopened = db.reopen().await;

    assert_eq!(reopened.list_apps().await.unwrap().len(), 1);
    assert_eq!(
        reopened.app_for_token(&token_of(app)).await.unwrap(),
        Some(app)
    );
}
