//! Dashboard sessions.

use crate::support::*;
use hooklayer_core::ids::AppId;
use hooklayer_store::*;

conformance![
    a_session_is_found_by_its_hash_until_it_expires,
    a_deleted_session_is_gone,
    deleting_an_app_ends_its_sessions,
];

fn session(id_hash: &str, app: Option<AppId>, expires_at: i64) -> UiSession {
    UiSession {
        id_hash: id_hash.into(),
        app,
        csrf_token: format!("csrf-{id_hash}"),
        created_at: t(1),
        expires_at: t(expires_at),
    }
}

async fn a_session_is_found_by_its_hash_until_it_expires(db: TestDb) {
    let store = &*db.store;
    let app = new_app(store).await;
    let app_session = session("app-session", Some(app), 100);
    let admin_session = session("admin-session", None, 100);
    store.create_session(&app_session).await.unwrap();
    store.create_session(&admin_session).await.unwrap();

    assert_eq!(
        store.get_session("app-session", t(99)).await.unwrap(),
        Some(app_session)
    );
    assert_eq!(
        store.get_session("admin-session", t(99)).await.unwrap(),
        Some(admin_session)
    );
    assert_eq!(
        store.get_session("app-session", t(100)).await.unwrap(),
        None
    );
    assert_eq!(store.get_session("unknown", t(1)).await.unwrap(), None);
}

async fn a_deleted_session_is_gone(db: TestDb) {
    let store = &*db.store;
    store
        .create_session(&session("s", None, 100))
        .await
        .unwrap();

    store.delete_session("s").await.unwrap();

    assert_eq!(store.get_session("s", t(2)).await.unwrap(), None);
}

async fn deleting_an_app_ends_its_sessions(db: TestDb) {
    let store = &*db.store;
    let app = new_app(store).await;
    store
        .create_session(&session("s", Some(app), 100))
        .await
        .unwrap();

    assert!(store.delete_app(app).await.unwrap());

    assert_eq!(store.get_session("s", t(2)).await.unwrap(), None);
}
