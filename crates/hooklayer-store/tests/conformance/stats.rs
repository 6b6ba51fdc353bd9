//! Per-minute delivery statistics.

use crate::support::*;
use hooklayer_store::*;

conformance![
    statistics_add_up_per_minute_and_sum_over_an_apps_webhooks,
    old_statistics_are_purged,
    recording_attempts_counts_them_in_the_statistics,
];

pub fn delta(
    webhook: hooklayer_core::ids::WebhookId,
    minute: i64,
    ok: u64,
    bad: u64,
    ms: u32,
) -> StatDelta {
    let mut buckets = [0; LATENCY_BUCKETS];
    buckets[latency_bucket(ms)] = ok + bad;
    StatDelta {
        webhook,
        minute,
        succeeded: ok,
        failed: bad,
        buckets,
    }
}

async fn statistics_add_up_per_minute_and_sum_over_an_apps_webhooks(db: TestDb) {
    let store = &*db.store;
    let app = new_app(store).await;
    let a = active_webhook(store, app).await;
    let b = active_webhook(store, app).await;
    let other_app = new_app(store).await;
    let c = active_webhook(store, other_app).await;

    store
        .add_stats(&[delta(a.id, 100, 2, 0, 5), delta(b.id, 100, 0, 1, 700)])
        .await
        .unwrap();
    store
        .add_stats(&[delta(a.id, 100, 1, 0, 5), delta(a.id, 101, 0, 1, 20_000)])
        .await
        .unwrap();
    store.add_stats(&[delta(c.id, 100, 9, 0, 5)]).await.unwrap();

    let of_a = store.stats(app, Some(a.id), 0).await.unwrap();
    assert_eq!(
        of_a.iter()
            .map(|r| (r.minute, r.succeeded, r.failed))
            .collect::<Vec<_>>(),
        vec![(100, 3, 0), (101, 0, 1)]
    );
    assert_eq!(of_a[0].buckets[latency_bucket(5)], 3);
    assert_eq!(
        of_a[1].buckets[LATENCY_BUCKETS - 1],
        1,
        "slower than every bound"
    );
    let of_app = store.stats(app, None, 0).await.unwrap();
    assert_eq!(
        of_app
            .iter()
            .map(|r| (r.minute, r.succeeded, r.failed))
            .collect::<Vec<_>>(),
        vec![(100, 3, 1), (101, 0, 1)],
        "summed over the app's webhooks, not another app's"
    );
    assert_eq!(store.stats(app, None, 101).await.unwrap().len(), 1);
}

async fn old_statistics_are_purged(db: TestDb) {
    let store = &*db.store;
    let app = new_app(store).await;
    let a = active_webhook(store, app).await;
    store
        .add_stats(&[delta(a.id, 10, 1, 0, 5), delta(a.id, 20, 1, 0, 5)])
        .await
        .unwrap();

    assert_eq!(store.purge_stats(20).await.unwrap(), 1);

    let left = store.stats(app, None, 0).await.unwrap();
    assert_eq!(left.iter().map(|r| r.minute).collect::<Vec<_>>(), vec![20]);
}

async fn recording_attempts_counts_them_in_the_statistics(db: TestDb) {
    let store = &*db.store;
    let app = new_app(store).await;
    let w = active_webhook(store, app).await;
    publish(store, app, t(0)).await;
    publish(store, app, t(0)).await;
    let claimed = claim_all(store, t(0)).await;
    // t(0) is a whole minute: both attempts fall in it, one in each of two batches.
    let minute = t(0).millis().div_euclid(60_000);
    store
        .record_attempts(&[record(
            &claimed[0],
            attempt(t(1), 200),
            AttemptOutcome::Succeeded,
        )])
        .await
        .unwrap();
    store
        .record_attempts(&[record(
            &claimed[1],
            attempt(t(2), 500),
            AttemptOutcome::RetryAt(t(60_000)),
        )])
        .await
        .unwrap();

    let rows = store.stats(app, Some(w.id), 0).await.unwrap();
    assert_eq!(
        rows.iter()
            .map(|r| (r.minute, r.succeeded, r.failed))
            .collect::<Vec<_>>(),
        vec![(minute, 1, 1)]
    );
    assert_eq!(rows[0].buckets[latency_bucket(5)], 2);
    let quarters = store.stats_by_quarter(app, Some(w.id), 0).await.unwrap();
    assert_eq!(
        quarters
            .iter()
            .map(|r| (r.succeeded, r.failed))
            .collect::<Vec<_>>(),
        vec![(1, 1)],
        "the roll-up too"
    );
}
