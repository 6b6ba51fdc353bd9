//! The verification queue: claims with a lease, and outcomes that apply only once.

use crate::support::*;
use hooklayer_core::event_type::EventType;
use hooklayer_core::ids::WebhookId;
use hooklayer_core::webhook::WebhookStatus;

conformance![
    an_unverified_webhook_is_hidden_while_its_verification_lease_runs,
    a_verification_claim_takes_at_most_its_limit,
    a_verification_outcome_applies_only_while_the_webhook_is_unverified,
];

async fn an_unverified_webhook_is_hidden_while_its_verification_lease_runs(db: TestDb) {
    let store = &*db.store;
    let app = new_app(store).await;
    let w = add_webhook(
        store,
        app,
        WebhookStatus::Unverified,
        &[EventType::MessageSent],
    )
    .await;
    add_webhook(store, app, WebhookStatus::Active, &[EventType::MessageSent]).await;

    let first = store.claim_unverified(t(0), t(30_000), 10).await.unwrap();
    let during = store
        .claim_unverified(t(29_999), t(60_000), 10)
        .await
        .unwrap();
    let after = store
        .claim_unverified(t(30_000), t(60_000), 10)
        .await
        .unwrap();

    assert_eq!(first.iter().map(|w| w.id).collect::<Vec<_>>(), vec![w.id]);
    assert!(during.is_empty());
    assert_eq!(after.iter().map(|w| w.id).collect::<Vec<_>>(), vec![w.id]);
}

async fn a_verification_claim_takes_at_most_its_limit(db: TestDb) {
    let store = &*db.store;
    let app = new_app(store).await;
    for _ in 0..3 {
        add_webhook(
            store,
            app,
            WebhookStatus::Unverified,
            &[EventType::MessageSent],
        )
        .await;
    }

    let first = store.claim_unverified(t(0), t(30_000), 2).await.unwrap();
    let rest = store.claim_unverified(t(0), t(30_000), 2).await.unwrap();

    assert_eq!((first.len(), rest.len()), (2, 1));
    assert!(first.iter().all(|w| w.id != rest[0].id));
}

async fn a_verification_outcome_applies_only_while_the_webhook_is_unverified(db: TestDb) {
    let store = &*db.store;
    let app = new_app(store).await;
    let passes = add_webhook(
        store,
        app,
        WebhookStatus::Unverified,
        &[EventType::MessageSent],
    )
    .await;
    let fails = add_webhook(
        store,
        app,
        WebhookStatus::Unverified,
        &[EventType::MessageSent],
    )
    .await;
    let deactivated = add_webhook(
        store,
        app,
        WebhookStatus::Unverified,
        &[EventType::MessageSent],
    )
    .await;
    store
        .deactivate_webhook(app, deactivated.id, "Deactivated by User")
        .await
        .unwrap();

    assert!(store.finish_verification(passes.id, Ok(())).await.unwrap());
    assert!(store
        .finish_verification(fails.id, Err("challenge mismatch".into()))
        .await
        .unwrap());
    assert!(!store
        .finish_verification(passes.id, Err("late".into()))
        .await
        .unwrap());
    assert!(!store
        .finish_verification(deactivated.id, Ok(()))
        .await
        .unwrap());
    assert!(!store
        .finish_verification(WebhookId::new(), Ok(()))
        .await
        .unwrap());

    let status = |id| async move {
        let w = store.get_webhook(app, id).await.unwrap().unwrap();
        (w.status, w.status_reason)
    };
    assert_eq!(status(passes.id).await, (WebhookStatus::Active, None));
    assert_eq!(
        status(fails.id).await,
        (WebhookStatus::Inactive, Some("challenge mismatch".into()))
    );
    assert_eq!(
        status(deactivated.id).await,
        (WebhookStatus::Inactive, Some("Deactivated by User".into()))
    );
    assert!(store
        .claim_unverified(t(0), t(30_000), 10)
        .await
        .unwrap()
        .is_empty());
}
