//! Webhooks: registration, listing, status changes, deletion and the per-app limit.

use crate::support::*;
use hooklayer_core::event_type::EventType;
use hooklayer_core::ids::{AppId, WebhookId};
use hooklayer_core::webhook::{Webhook, WebhookStatus};
use hooklayer_store::*;
use std::collections::HashMap;

/// The stored fields that matter, comparable (`Webhook` has no `PartialEq`).
fn fields(w: &Webhook) -> String {
    format!(
        "{} {} {:?} {} {:?} {} {:?} {:?} {:?} {}",
        w.id,
        w.app,
        w.version,
        w.target_url.as_str(),
        w.events,
        w.secret.expose(),
        w.config,
        w.status,
        w.status_reason,
        w.created_at.millis()
    )
}

conformance![
    webhooks_are_listed_oldest_first_and_read_back_intact,
    activating_requeues_a_webhook_for_verification_unless_it_is_active,
    deactivating_sets_the_reason_and_cancels_verification,
    deleting_a_webhook_removes_its_deliveries,
    an_app_gets_at_most_its_limit_of_webhooks,
    the_limit_holds_when_registrations_race,
    webhooks_are_counted_by_status,
];

async fn webhooks_are_listed_oldest_first_and_read_back_intact(db: TestDb) {
    let store = &*db.store;
    let app = new_app(store).await;
    let mut made = Vec::new();
    for at in [3, 1, 2] {
        let mut w = webhook(
            app,
            WebhookStatus::Unverified,
            &[EventType::MessageSent, EventType::ConversationCreated],
        );
        w.created_at = t(at);
        store.create_webhook(&w, 10).await.unwrap();
        made.push(w);
    }

    let listed = store.list_webhooks(app).await.unwrap();

    let expected = [&made[1], &made[2], &made[0]].map(fields);
    assert_eq!(listed.iter().map(fields).collect::<Vec<_>>(), expected);
    let got = store.get_webhook(app, made[0].id).await.unwrap().unwrap();
    assert_eq!(fields(&got), fields(&made[0]));
    assert!(store
        .get_webhook(AppId::new(), made[0].id)
        .await
        .unwrap()
        .is_none());
    assert!(store.list_webhooks(AppId::new()).await.unwrap().is_empty());
}

async fn activating_requeues_a_webhook_for_verification_unless_it_is_active(db: TestDb) {
    let store = &*db.store;
    let app = new_app(store).await;
    let inactive = add_webhook(
        store,
        app,
        WebhookStatus::Inactive,
        &[EventType::MessageSent],
    )
    .await;
    let active = active_webhook(store, app).await;

    let activated = store
        .activate_webhook(app, inactive.id, t(50))
        .await
        .unwrap()
        .unwrap();
    let untouched = store
        .activate_webhook(app, active.id, t(50))
        .await
        .unwrap()
        .unwrap();

    assert_eq!(
        (activated.status, activated.status_reason),
        (WebhookStatus::Unverified, None)
    );
    assert_eq!(untouched.status, WebhookStatus::Active);
    let due = store.claim_unverified(t(50), t(1000), 10).await.unwrap();
    assert_eq!(
        due.iter().map(|w| w.id).collect::<Vec<_>>(),
        vec![inactive.id]
    );
    assert!(store
        .activate_webhook(app, WebhookId::new(), t(50))
        .await
        .unwrap()
        .is_none());
    assert!(store
        .activate_webhook(AppId::new(), inactive.id, t(50))
        .await
        .unwrap()
        .is_none());
}

async fn deactivating_sets_the_reason_and_cancels_verification(db: TestDb) {
    let store = &*db.store;
    let app = new_app(store).await;
    let w = add_webhook(
        store,
        app,
        WebhookStatus::Unverified,
        &[EventType::MessageSent],
    )
    .await;

    let got = store
        .deactivate_webhook(app, w.id, "Deactivated by User")
        .await
        .unwrap()
        .unwrap();

    assert_eq!(got.status, WebhookStatus::Inactive);
    assert_eq!(got.status_reason.as_deref(), Some("Deactivated by User"));
    assert!(store
        .claim_unverified(t(0), t(1000), 10)
        .await
        .unwrap()
        .is_empty());
    assert!(store
        .deactivate_webhook(app, WebhookId::new(), "x")
        .await
        .unwrap()
        .is_none());
}

async fn deleting_a_webhook_removes_its_deliveries(db: TestDb) {
    let store = &*db.store;
    let app = new_app(store).await;
    let w = active_webhook(store, app).await;
    let kept = active_webhook(store, app).await;
    publish(store, app, t(0)).await;
    let doomed = deliveries(store, &w).await.remove(0);

    assert!(store.delete_webhook(app, w.id).await.unwrap());

    assert!(!store.delete_webhook(app, w.id).await.unwrap());
    assert!(store.get_webhook(app, w.id).await.unwrap().is_none());
    assert!(store
        .get_delivery(app, w.id, doomed.request_id)
        .await
        .unwrap()
        .is_none());
    assert_eq!(store.queue_depth(t(0)).await.unwrap().pending, 1);
    assert_eq!(deliveries(store, &kept).await.len(), 1);
}

async fn an_app_gets_at_most_its_limit_of_webhooks(db: TestDb) {
    let store = &*db.store;
    let app = new_app(store).await;
    let other = new_app(store).await;
    for _ in 0..3 {
        let w = webhook(app, WebhookStatus::Unverified, &[EventType::MessageSent]);
        assert_eq!(
            store.create_webhook(&w, 3).await.unwrap(),
            CreateWebhook::Created
        );
    }

    let fourth = webhook(app, WebhookStatus::Unverified, &[EventType::MessageSent]);
    let elsewhere = webhook(other, WebhookStatus::Unverified, &[EventType::MessageSent]);

    assert_eq!(
        store.create_webhook(&fourth, 3).await.unwrap(),
        CreateWebhook::LimitReached
    );
    assert_eq!(
        store.create_webhook(&elsewhere, 3).await.unwrap(),
        CreateWebhook::Created
    );
    assert_eq!(store.list_webhooks(app).await.unwrap().len(), 3);
}

async fn the_limit_holds_when_registrations_race(db: TestDb) {
    let stores = [db.store.clone(), db.another_store().await];
    let app = new_app(&*db.store).await;
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(12));

    let tasks: Vec<_> = (0..12)
        .map(|i| {
            let store = stores[i % 2].clone();
            let barrier = barrier.clone();
            tokio::spawn(async move {
                let w = webhook(app, WebhookStatus::Unverified, &[EventType::MessageSent]);
                barrier.wait().await;
                store.create_webhook(&w, 5).await.unwrap()
            })
        })
        .collect();
    let mut created = 0;
    for task in tasks {
        created += usize::from(task.await.unwrap() == CreateWebhook::Created);
    }

    assert_eq!(created, 5);
    assert_eq!(db.store.list_webhooks(app).await.unwrap().len(), 5);
}

async fn webhooks_are_counted_by_status(db: TestDb) {
    let store = &*db.store;
    let (a, b) = (new_app(store).await, new_app(store).await);
    for (app, status) in [
        (a, WebhookStatus::Active),
        (b, WebhookStatus::Active),
        (a, WebhookStatus::Unverified),
        (b, WebhookStatus::Inactive),
    ] {
        add_webhook(store, app, status, &[EventType::MessageSent]).await;
    }

    let counts: HashMap<_, _> = store.count_webhooks().await.unwrap().into_iter().collect();

    let expected = HashMap::from([
        (WebhookStatus::Active, 2),
        (WebhookStatus::Unverified, 1),
        (WebhookStatus::Inactive, 1),
    ]);
    assert_eq!(counts, expected);
}
