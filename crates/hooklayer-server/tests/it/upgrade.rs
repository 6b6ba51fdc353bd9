//! Upgrades through the real server: a database written by an older release (at schema 1, and
//! at the schema just before the latest) holding an active, verified webhook with pending
//! deliveries is opened by `hooklayer serve`, which migrates it and delivers each pending
//! delivery once to an HTTPS receiver (trusted through a generated CA), with the Layer headers
//! and both signatures; the delivery log then shows every delivery succeeded. The same old
//! database is the store's upgrade test fixture.

#[path = "../../../hooklayer-store/tests/fixtures/old_database.rs"]
mod old_database;

use crate::support::app::{plain_http_client, LAYER_ACCEPT};
use crate::support::db::{Backend, TestDb};
use crate::support::process::{duplicates, wait_all_arrived, ProcessEnv};
use crate::support::receiver::RecordedRequest;
use hooklayer_store::migrate::{Migration, POSTGRES, SQLITE};
use old_database::{
    event_id, payload_prefix, request_id, OldDatabase, APP, SECRET, TOKEN, WEBHOOK,
};
use serde_json::Value;
use sqlx::Connection;
use std::time::Duration;

/// Pending deliveries in the old database.
const EVENTS: usize = 20;

/// Writes the old database: the first `schema` migrations of the backend, then the data.
async fn write_old_database(db: &TestDb, backend: Backend, schema: usize, target_url: &str) {
    let migrations: &[Migration] = match backend {
        Backend::Sqlite => SQLITE,
        Backend::Postgres => POSTGRES,
    };
    assert!(
        schema < migrations.len(),
        "schema {schema} is not an old one"
    );
    let old = OldDatabase {
        target_url,
        events: EVENTS,
        now_ms: chrono::Utc::now().timestamp_millis(),
    };
    let sql = old_database::sql(&migrations[..schema], &old);
    match backend {
        Backend::Sqlite => {
            let url = format!("{}?mode=rwc", db.url);
            let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
            sqlx::raw_sql(&sql).execute(&mut conn).await.unwrap();
            conn.close().await.unwrap();
        }
        Backend::Postgres => {
            let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
            sqlx::raw_sql(&sql).execute(&mut conn).await.unwrap();
            conn.close().await.unwrap();
        }
    }
}

/// The request is event `i`'s delivery as SPEC §6 has it: body, Layer headers, signatures.
fn assert_signed_delivery(r: &RecordedRequest, i: usize) {
    assert_eq!(r.path_and_query, "/hook");
    assert_eq!(
        String::from_utf8_lossy(&r.body),
        format!("{}}}", payload_prefix(i)),
        "the stored payload, closed (the webhook has no config)"
    );
    assert_eq!(
        r.header("content-type"),
        Some("application/vnd.layer.webhooks+json; version=2.0")
    );
    assert_eq!(r.header("user-agent"), Some("layer-webhooks/2.0"));
    assert_eq!(r.header("layer-webhook-event-type"), Some("message.sent"));
    assert_eq!(
        r.header("layer-webhook-id"),
        Some(format!("layer:///apps/{APP}/webhooks/{WEBHOOK}").as_str())
    );
    assert_eq!(
        r.header("layer-webhook-request-id"),
        Some(request_id(i).as_str())
    );
    assert_eq!(r.header("webhook-id"), Some(request_id(i).as_str()));
    let verifier = hooklayer_verify::Verifier::new(SECRET);
    verifier
        .verify_layer(&r.headers, &r.body)
        .expect("the Layer signature verifies with the old secret");
    verifier
        .verify_standard(&r.headers, &r.body)
        .expect("the Standard Webhooks signature verifies with the old secret");
}

/// Polls the delivery log (with the old app's token) until event `i`'s delivery is
/// `succeeded` (bounded); returns it.
async fn wait_succeeded(base: &str, i: usize) -> Value {
    let http = plain_http_client();
    let url = format!(
        "{base}/apps/{APP}/webhooks/{WEBHOOK}/deliveries/{}",
        request_id(i)
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let reply = http
            .get(&url)
            .bearer_auth(TOKEN)
            .header("accept", LAYER_ACCEPT)
            .send()
            .await
            .expect("delivery log");
        assert_eq!(reply.status(), 200, "the old token reads the delivery log");
        let delivery: Value = reply.json().await.expect("delivery json");
        if delivery["status"] == "succeeded" {
            return delivery;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "delivery {i} never became succeeded: {delivery}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn upgrade_and_deliver(db: TestDb, backend: Backend, schema: usize) {
    let e = ProcessEnv::new(&db.url).await;
    write_old_database(&db, backend, schema, &e.receiver.url("/hook")).await;

    let server = e.start().await;
    let ids: Vec<String> = (0..EVENTS).map(event_id).collect();
    let seen = wait_all_arrived(&e.receiver, &ids, Duration::from_secs(30)).await;
    let requests = e.receiver.requests();
    assert!(
        requests.iter().all(|r| r.method == "POST"),
        "the webhook was verified already: no new challenge"
    );
    for r in &requests {
        let body: Value = serde_json::from_slice(&r.body).expect("JSON body");
        let id = body["event"]["id"].as_str().expect("event id");
        let i = ids.iter().position(|e| e == id).expect("an old event");
        assert_signed_delivery(r, i);
    }
    for i in 0..EVENTS {
        let delivery = wait_succeeded(&server.base, i).await;
        assert_eq!(delivery["event_id"], event_id(i).as_str());
        assert_eq!(delivery["attempts"][0]["status_code"], 204);
    }
    assert_eq!(duplicates(&seen), 0, "nothing was sent twice");
    let status = server.sigterm(Duration::from_secs(15)).await;
    assert!(status.success(), "{status:?}");
}

/// The schema of the release before this one.
fn previous_schema(migrations: &[Migration]) -> usize {
    migrations.len() - 1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_database_at_schema_1_upgrades_and_its_pending_deliveries_arrive() {
    upgrade_and_deliver(TestDb::sqlite(), Backend::Sqlite, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_database_at_the_previous_schema_upgrades_and_its_pending_deliveries_arrive() {
    let schema = previous_schema(SQLITE);
    upgrade_and_deliver(TestDb::sqlite(), Backend::Sqlite, schema).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_database_at_schema_1_upgrades_and_its_pending_deliveries_arrive() {
    if let Some(db) = TestDb::new(Backend::Postgres).await {
        upgrade_and_deliver(db, Backend::Postgres, 1).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_database_at_the_previous_schema_upgrades_and_its_pending_deliveries_arrive() {
    if let Some(db) = TestDb::new(Backend::Postgres).await {
        let schema = previous_schema(POSTGRES);
        upgrade_and_deliver(db, Backend::Postgres, schema).await;
    }
}
