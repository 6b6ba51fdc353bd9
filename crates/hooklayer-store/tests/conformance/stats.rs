//! Per-minute delivery statistics.

use crate::support::*;
use hooklayer_store::*;

conformance![
    statistics_add_up_per_minute_and_sum_over_an_apps_webhooks,
    old_statistics_are_purged,
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
