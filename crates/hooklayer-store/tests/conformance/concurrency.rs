//! Several workers on one queue: claims never overlap, writers wake other processes, and
//! processes starting together migrate once.

use crate::support::*;
use hooklayer_core::event_type::EventType;
use hooklayer_core::ids::RequestId;
use hooklayer_store::*;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Barrier;

conformance![
    concurrent_claimers_get_every_due_delivery_exactly_once,
    queueing_work_wakes_the_workers_of_other_processes,
];

async fn concurrent_claimers_get_every_due_delivery_exactly_once(db: TestDb) {
    let app = new_app(&*db.store).await;
    for _ in 0..5 {
        active_webhook(&*db.store, app).await;
    }
    let batch: Vec<_> = (0..100).map(|_| event(EventType::MessageSent)).collect();
    db.store.ingest(app, &batch, t(0)).await.unwrap();
    let barrier = Arc::new(Barrier::new(2));

    // Two workers; on PostgreSQL two pools, as two processes would have.
    let workers: Vec<_> = [db.store.clone(), db.another_store().await]
        .into_iter()
        .map(|store| {
            let barrier = barrier.clone();
            tokio::spawn(async move {
                let mut got: Vec<RequestId> = Vec::new();
                barrier.wait().await;
                loop {
                    let claim = Claim {
                        now: t(10),
                        lease_until: t(60_000),
                        limit: 7,
                        skip_webhooks: vec![],
                    };
                    let batch = store.claim_due(&claim, ClaimLane::OldestDue).await.unwrap();
                    if batch.is_empty() {
                        return got;
                    }
                    got.extend(batch.iter().map(|c| c.request_id));
                }
            })
        })
        .collect();
    let mut all = Vec::new();
    for worker in workers {
        all.extend(worker.await.unwrap());
    }

    let unique: HashSet<_> = all.iter().collect();
    assert_eq!(all.len(), 500, "every delivery claimed");
    assert_eq!(unique.len(), 500, "no delivery claimed twice");
    assert!(claim_all(&*db.store, t(10)).await.is_empty());
}

async fn queueing_work_wakes_the_workers_of_other_processes(db: TestDb) {
    let (waiter, writer) = (db.store.clone(), db.another_store().await);
    let app = new_app(&*writer).await;
    active_webhook(&*writer, app).await;

    let woken = async {
        tokio::time::timeout(Duration::from_secs(10), async {
            tokio::select! {
                () = waiter.wait_for_remote_work() => {}
                // The waiter may start listening a moment after a notification: keep
                // publishing until one reaches it.
                () = async {
                    for i in 0.. {
                        publish(&*writer, app, t(i)).await;
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                } => {}
            }
        })
        .await
        .is_ok()
    };

    match db.backend {
        Backend::Postgres => assert!(woken.await, "a notification reached the waiter"),
        // One process owns SQLite: there is never remote work, and the wait never ends.
        Backend::Sqlite => {
            let waited =
                tokio::time::timeout(Duration::from_millis(200), waiter.wait_for_remote_work())
                    .await;
            assert!(waited.is_err());
        }
    }
}

#[tokio::test]
async fn postgres_processes_starting_together_migrate_once() {
    let Some(db) = PgDatabase::create("postgres_processes_starting_together_migrate_once").await
    else {
        return;
    };
    let url = db.url.clone();

    let opened = tokio::spawn(async move {
        let opens = (0..4).map(|_| {
            let url = url.clone();
            tokio::spawn(async move { connect(&url).await.map(|_| ()) })
        });
        for open in opens.collect::<Vec<_>>() {
            open.await
                .unwrap()
                .expect("every process opens the database");
        }
        let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&url)
            .await
            .unwrap();
        let applied: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM schema_migrations")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(applied, hooklayer_store::migrate::POSTGRES.len() as i64);
    })
    .await;

    db.drop().await;
    if let Err(failure) = opened {
        std::panic::resume_unwind(failure.into_panic());
    }
}
