//! Listener streams on PostgreSQL scale-out, through the real binary: two `api` processes
//! share one database; a stream opened on one receives the events published through the
//! other, and closes when the app is deleted through the other.

use crate::support::app::ADMIN_TOKEN;
use crate::support::db::{Backend, TestDb};
use crate::support::listener::ListenProcess;
use crate::support::process::{ProcessClient, ServerProcess};
use std::time::Duration;

#[tokio::test]
async fn a_stream_on_one_api_process_gets_events_published_through_another() {
    let Some(db) = TestDb::new(Backend::Postgres).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let vars = vec![
        ("HOOKLAYER_DATABASE_URL", db.url.clone()),
        ("HOOKLAYER_ADMIN_TOKEN", ADMIN_TOKEN.to_owned()),
        ("HOOKLAYER_RATE_LIMIT", "0".to_owned()),
        ("HOOKLAYER_LOG", "warn".to_owned()),
        ("HOOKLAYER_ROLE", "api".to_owned()),
    ];
    let log = dir.path().join("api.log");
    let first = ServerProcess::start(&vars, &log).await;
    let second = ServerProcess::start(&vars, &log).await;
    let through_second = ProcessClient::new(&second.base);
    let (uuid, token) = through_second.create_app("scale-listen").await;

    let mut listen = ListenProcess::start(
        &first.base,
        &uuid,
        &token,
        &["--events", "message.sent,message.read"],
    );
    listen.secret().await;
    let ids = through_second.publish(&uuid, &token, 3, 3).await;

    let mut seen = Vec::new();
    for _ in 0..ids.len() {
        let line = listen.next_line().await;
        assert!(line.contains(" message."), "{line}");
        seen.push(line);
    }
    assert_eq!(seen.len(), 3);

    let deleted = crate::support::app::plain_http_client()
        .delete(format!("{}/admin/apps/{uuid}", second.base))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    listen.assert_closed_by_server().await;

    first.sigterm(Duration::from_secs(15)).await;
    second.sigterm(Duration::from_secs(15)).await;
}
