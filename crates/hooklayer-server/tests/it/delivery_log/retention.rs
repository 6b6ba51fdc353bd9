//! Retention (SPEC §9): finished deliveries, their attempts and orphaned events older than
//! `HOOKLAYER_RETENTION` go, in the background and in small batches; pending deliveries and
//! recent rows stay; ingest keeps flowing while a pass deletes 50,000 old deliveries.
//!
//! Old rows are written straight through the store with past timestamps (`seed`), so no test
//! waits for time to pass. Durations are printed (`--nocapture`), never asserted.

use super::seed::{self, count, End};
use super::{event, Hook};
use crate::support::app::{registration, webhook_uuid, TestApp, TestAppBuilder};
use crate::support::receiver::{TestCa, TestReceiver};
use hooklayer_core::ids::AppId;
use hooklayer_core::time::Timestamp;
use hooklayer_server::service::tokens::{hash_token, new_token};
use hooklayer_server::worker::retention::{self, BATCH};
use hooklayer_store::{App, Store};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

const HOUR_MS: i64 = 3_600_000;
const OLD_EVENTS: usize = 50_000;
/// Old pending deliveries of a deactivated webhook: every purge batch must pass them by.
const PARKED: usize = 10_000;

/// An app created straight in the store; returns it with its token.
async fn seed_app(store: &dyn Store) -> (AppId, String) {
    let app = App {
        id: AppId::new(),
        name: "retention".into(),
        created_at: Timestamp::now(),
    };
    let token = new_token();
    store
        .create_app(&app, &hash_token(&token))
        .await
        .expect("create app");
    (app.id, token)
}

/// Publishes one event and returns how long the `202` took (asserting it is one).
async fn publish_timed(app: &TestApp, uuid: &str, token: &str) -> Duration {
    let sent = Instant::now();
    let (status, body) = app.publish(uuid, token, &event("message.sent")).await;
    let took = sent.elapsed();
    assert_eq!(status, 202, "ingest during the purge: {body}");
    assert_eq!(body["deliveries"], 1);
    took
}

/// `n=…, p50 …, p99 …, max …` of some durations.
fn summary(durations: &mut [Duration]) -> String {
    durations.sort();
    let pct = |p: usize| durations[(durations.len() - 1) * p / 100];
    format!(
        "n={}, p50 {:?}, p99 {:?}, max {:?}",
        durations.len(),
        pct(50),
        pct(99),
        pct(100)
    )
}

crate::both_backends!(
    the_background_purge_removes_old_finished_rows_and_keeps_pending_ones,
    |db| {
        let ca = TestCa::new();
        let receiver = TestReceiver::start(&ca).await;
        let two_hours_ago = Timestamp::now().plus_millis(-2 * HOUR_MS);
        let store = hooklayer_store::connect(&db.url).await.expect("store");
        let (app_id, token) = seed_app(store.as_ref()).await;
        let old = seed::webhook(
            store.as_ref(),
            app_id,
            &receiver.url("/old"),
            "message.sent",
        )
        .await;
        seed::events(
            store.as_ref(),
            app_id,
            "message.sent",
            30,
            two_hours_ago,
            End::Succeeded,
        )
        .await;
        seed::events(
            store.as_ref(),
            app_id,
            "message.sent",
            10,
            two_hours_ago,
            End::Failed,
        )
        .await;
        let parked = seed::webhook(
            store.as_ref(),
            app_id,
            &receiver.url("/parked"),
            "conversation.created",
        )
        .await;
        seed::events(
            store.as_ref(),
            app_id,
            "conversation.created",
            4,
            two_hours_ago,
            End::Pending,
        )
        .await;
        store
            .deactivate_webhook(app_id, parked, "Deactivated by User")
            .await
            .expect("deactivate");
        seed::events(
            store.as_ref(),
            app_id,
            "message.read",
            3,
            two_hours_ago,
            End::Pending,
        )
        .await;
        drop(store);
        assert_eq!(
            (
                count(&db.url, "deliveries").await,
                count(&db.url, "attempts").await,
                count(&db.url, "events").await
            ),
            (44, 40, 47)
        );

        // The server's retention task makes a pass as it starts.
        let app = TestAppBuilder::new()
            .trust(&ca)
            .set("retention", "1h")
            .start(&db)
            .await;
        let uuid = app_id.to_string();
        let fresh = app
            .register(
                &uuid,
                &token,
                registration(&receiver.url("/fresh"), &["message.sent"]),
            )
            .await;
        let hook = Hook {
            app: &app,
            uuid: uuid.clone(),
            token: token.clone(),
            hook: webhook_uuid(&fresh),
        };
        app.wait_for_status(&uuid, &token, &hook.hook, "active")
            .await;
        let e = hook.publish("message.sent").await;
        hook.wait_until("a fresh success", |log| {
            log.iter()
                .any(|d| d["event_id"] == e && d["status"] == "succeeded")
        })
        .await;
        let deadline = Instant::now() + Duration::from_secs(20);
        while count(&db.url, "deliveries").await != 5 {
            assert!(
                Instant::now() < deadline,
                "the background pass never purged the old deliveries"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // A pass now finds nothing old left, and keeps the recent rows.
        let deleted = retention::pass(&app.state, &CancellationToken::new())
            .await
            .expect("pass");

        assert_eq!(deleted, 0);
        assert_eq!(
            count(&db.url, "attempts").await,
            1,
            "only the fresh attempt is left"
        );
        assert_eq!(
            count(&db.url, "events").await,
            5,
            "old events with pending deliveries stay, orphans go"
        );
        let in_log = |webhook: String| {
            let hook = Hook {
                app: &app,
                uuid: uuid.clone(),
                token: token.clone(),
                hook: webhook,
            };
            async move { hook.walk(250, "").await }
        };
        assert!(in_log(old.to_string()).await.is_empty());
        let parked_log = in_log(parked.to_string()).await;
        assert_eq!(parked_log.len(), 4);
        assert!(
            parked_log.iter().all(|d| d["status"] == "pending"),
            "pending deliveries are never purged"
        );
        assert_eq!(in_log(hook.hook.clone()).await.len(), 1);
        app.stop().await;
    }
);

crate::both_backends!(
    ingest_keeps_flowing_while_a_pass_purges_50000_old_deliveries,
    |db| {
        // An API-only process: no delivery worker (so seeding owns the queue) and no retention task
        // (so the pass below is the only one, started when the test says).
        let app = TestAppBuilder::new()
            .set("role", "api")
            .set("retention", "1h")
            .start(&db)
            .await;
        let store = app.state.store.clone();
        let (uuid, token) = app.create_app("busy").await;
        let app_id: AppId = uuid.parse().expect("app uuid");
        seed::webhook(
            store.as_ref(),
            app_id,
            "https://127.0.0.1:9/hook",
            "message.sent",
        )
        .await;
        let parked = seed::webhook(
            store.as_ref(),
            app_id,
            "https://127.0.0.1:9/parked",
            "conversation.created",
        )
        .await;
        let started = Instant::now();
        let old = Timestamp::now().plus_millis(-2 * HOUR_MS);
        seed::events(
            store.as_ref(),
            app_id,
            "message.sent",
            OLD_EVENTS,
            old,
            End::Succeeded,
        )
        .await;
        seed::events(
            store.as_ref(),
            app_id,
            "conversation.created",
            PARKED,
            old,
            End::Pending,
        )
        .await;
        store
            .deactivate_webhook(app_id, parked, "Deactivated by User")
            .await
            .expect("deactivate");
        eprintln!(
            "seeded {OLD_EVENTS} old finished and {PARKED} old pending deliveries in {:?}",
            started.elapsed()
        );

        // The same publishes without a pass first: the machine's own latency, for comparison.
        let mut baseline = Vec::new();
        while baseline.len() < 300 {
            baseline.push(publish_timed(&app, &uuid, &token).await);
        }
        let state = app.state.clone();
        let pass = tokio::spawn(async move {
            let started = Instant::now();
            let deleted = retention::pass(&state, &CancellationToken::new()).await;
            (deleted, started.elapsed())
        });
        let mut during = Vec::new();
        while !pass.is_finished() || during.len() < 20 {
            during.push(publish_timed(&app, &uuid, &token).await);
        }
        let (deleted, took) = pass.await.expect("pass task");
        let deleted = deleted.expect("pass");

        assert_eq!(
            deleted,
            3 * OLD_EVENTS as u64,
            "old deliveries, their attempts and their events"
        );
        let published = (baseline.len() + during.len()) as i64;
        assert_eq!(count(&db.url, "attempts").await, 0);
        assert_eq!(
            count(&db.url, "deliveries").await,
            PARKED as i64 + published,
            "pending and fresh deliveries stay"
        );
        assert_eq!(count(&db.url, "events").await, PARKED as i64 + published);
        eprintln!(
            "retention pass: {deleted} rows in {took:?} ({} batches of {BATCH}); publish latency before: {}; during: {}",
            OLD_EVENTS.div_ceil(BATCH as usize),
            summary(&mut baseline),
            summary(&mut during),
        );
        app.stop().await;
    }
);

crate::both_backends!(each_purge_batch_is_a_short_write, |db| {
    let app = TestAppBuilder::new().set("role", "api").start(&db).await;
    let store = app.state.store.clone();
    let (uuid, _) = app.create_app("timed").await;
    let app_id: AppId = uuid.parse().expect("app uuid");
    seed::webhook(
        store.as_ref(),
        app_id,
        "https://127.0.0.1:9/hook",
        "message.sent",
    )
    .await;
    let old = Timestamp::now().plus_millis(-2 * HOUR_MS);
    seed::events(
        store.as_ref(),
        app_id,
        "message.sent",
        OLD_EVENTS,
        old,
        End::Succeeded,
    )
    .await;

    let before = Timestamp::now().plus_millis(-HOUR_MS);
    let mut batches = Vec::new();
    let mut total = 0;
    loop {
        let started = Instant::now();
        let deleted = store.purge_finished(before, BATCH).await.expect("purge");
        batches.push(started.elapsed());
        total += deleted;
        if deleted == 0 {
            break;
        }
    }

    assert_eq!(total, 3 * OLD_EVENTS as u64);
    eprintln!("purge_finished({BATCH}) calls: {}", summary(&mut batches));
    app.stop().await;
});
