//! The dashboard's kept figures: the quarter-hour roll-up of the statistics, each webhook's
//! totals over it, bounded queue counts and the queue samples.

use crate::stats::delta;
use crate::support::*;
use hooklayer_core::ids::{AppId, WebhookId};
use hooklayer_store::*;

conformance![
    the_roll_up_sums_each_quarter_as_the_minutes_are_added,
    totals_give_each_webhook_of_the_app_its_attempts_since_a_quarter,
    purging_statistics_keeps_a_quarter_until_it_is_wholly_past,
    queue_counts_stop_at_the_cap,
    open_counts_give_each_webhook_of_the_app_its_pending_and_failed,
    the_first_sample_of_a_minute_is_kept,
];

fn summary(rows: &[StatRow]) -> Vec<(i64, u64, u64)> {
    rows.iter()
        .map(|r| (r.minute, r.succeeded, r.failed))
        .collect()
}

async fn the_roll_up_sums_each_quarter_as_the_minutes_are_added(db: TestDb) {
    let store = &*db.store;
    let app = new_app(store).await;
    let a = active_webhook(store, app).await;
    let b = active_webhook(store, app).await;
    let other = active_webhook(store, new_app(store).await).await;
    // Minutes 15 and 29 are the quarter starting at 15; 30 the next one.
    store
        .add_stats(&[delta(a.id, 15, 2, 0, 5), delta(a.id, 29, 1, 1, 700)])
        .await
        .unwrap();
    store
        .add_stats(&[delta(a.id, 30, 4, 0, 5), delta(b.id, 20, 0, 3, 5)])
        .await
        .unwrap();
    store
        .add_stats(&[delta(other.id, 15, 9, 9, 5)])
        .await
        .unwrap();

    let of_a = store.stats_by_quarter(app, Some(a.id), 0).await.unwrap();
    assert_eq!(summary(&of_a), vec![(15, 3, 1), (30, 4, 0)]);
    assert_eq!(of_a[0].buckets[latency_bucket(5)], 2);
    assert_eq!(of_a[0].buckets[latency_bucket(700)], 2);
    let of_app = store.stats_by_quarter(app, None, 0).await.unwrap();
    assert_eq!(
        summary(&of_app),
        vec![(15, 3, 4), (30, 4, 0)],
        "summed over the app's webhooks, not another app's"
    );
    // From minute 29: the quarter holding it (15–29) is included.
    assert_eq!(
        store.stats_by_quarter(app, None, 29).await.unwrap().len(),
        2
    );
    assert_eq!(
        store.stats_by_quarter(app, None, 30).await.unwrap().len(),
        1
    );
    // The per-minute rows are untouched by the roll-up.
    assert_eq!(store.stats(app, Some(a.id), 0).await.unwrap().len(), 3);
}

async fn totals_give_each_webhook_of_the_app_its_attempts_since_a_quarter(db: TestDb) {
    let store = &*db.store;
    let app = new_app(store).await;
    let a = active_webhook(store, app).await;
    let b = active_webhook(store, app).await;
    let quiet = active_webhook(store, app).await;
    let other = active_webhook(store, new_app(store).await).await;
    store
        .add_stats(&[
            delta(a.id, 0, 100, 100, 5), // before the window
            delta(a.id, 60, 3, 1, 5),
            delta(a.id, 90, 1, 0, 5),
            delta(b.id, 75, 0, 2, 5),
            delta(other.id, 60, 5, 5, 5),
        ])
        .await
        .unwrap();

    let mut totals = store.attempt_totals(app, 60).await.unwrap();
    totals.sort_by_key(|(id, ..)| (*id != a.id, *id != b.id));
    let expected: Vec<(WebhookId, u64, u64)> = vec![(a.id, 4, 1), (b.id, 0, 2)];
    assert_eq!(totals, expected, "no row for {} or another app's", quiet.id);
}

async fn purging_statistics_keeps_a_quarter_until_it_is_wholly_past(db: TestDb) {
    let store = &*db.store;
    let app = new_app(store).await;
    let a = active_webhook(store, app).await;
    store
        .add_stats(&[delta(a.id, 10, 1, 0, 5), delta(a.id, 20, 1, 0, 5)])
        .await
        .unwrap();
    for minute in [10, 20] {
        store
            .add_queue_sample(&QueueSample {
                minute,
                ..QueueSample::default()
            })
            .await
            .unwrap();
    }

    assert_eq!(store.purge_stats(20).await.unwrap(), 1, "one minute row");

    // Minute 20's quarter (15–29) stays whole; the quarter 0–14 is gone.
    let quarters = store.stats_by_quarter(app, None, 0).await.unwrap();
    assert_eq!(summary(&quarters), vec![(15, 1, 0)]);
    let samples = store.queue_samples(0).await.unwrap();
    assert_eq!(
        samples.iter().map(|s| s.minute).collect::<Vec<_>>(),
        vec![20]
    );
}

/// Two webhooks of `app` with three deliveries each (at 0, 10 and 20 ms): the first is left
/// with three pending (the first claimed, leased to 30 s), the second's are all failed (its
/// first attempt exhausted it). Returns (healthy, doomed).
async fn three_pending_and_three_failed(store: &dyn Store, app: AppId) -> (WebhookId, WebhookId) {
    let healthy = active_webhook(store, app).await;
    let doomed = active_webhook(store, app).await;
    for at in [0, 10, 20] {
        publish(store, app, t(at)).await;
    }
    let claimed = claim_all(store, t(0)).await;
    let to_fail = claimed.iter().find(|c| c.webhook == doomed.id).unwrap();
    let outcome = AttemptOutcome::Exhausted {
        webhook_reason: "Delivery failed after 1 attempts".into(),
    };
    store
        .record_attempts(&[record(to_fail, attempt(t(1), 500), outcome)])
        .await
        .unwrap();
    (healthy.id, doomed.id)
}

async fn queue_counts_stop_at_the_cap(db: TestDb) {
    let store = &*db.store;
    let app = new_app(store).await;
    three_pending_and_three_failed(store, app).await;

    // Exhausting the webhook fails its three deliveries; the other's three stay pending.
    let all = store.queue_counts(t(60_000), 100).await.unwrap();
    assert_eq!((all.pending, all.due, all.failed), (3, 3, 3));
    assert_eq!(all.minute, t(60_000).millis().div_euclid(60_000));
    let leased = store.queue_counts(t(5), 100).await.unwrap();
    assert_eq!(leased.due, 0, "leased until 30 s");
    let capped = store.queue_counts(t(60_000), 2).await.unwrap();
    assert_eq!((capped.pending, capped.due, capped.failed), (2, 2, 2));
}

async fn the_first_sample_of_a_minute_is_kept(db: TestDb) {
    let store = &*db.store;
    let sample = |minute, pending| QueueSample {
        minute,
        pending,
        due: 1,
        failed: 2,
    };
    assert!(store.add_queue_sample(&sample(7, 10)).await.unwrap());
    assert!(!store.add_queue_sample(&sample(7, 99)).await.unwrap());
    assert!(store.add_queue_sample(&sample(5, 3)).await.unwrap());

    assert_eq!(
        store.queue_samples(0).await.unwrap(),
        vec![sample(5, 3), sample(7, 10)]
    );
    assert_eq!(store.queue_samples(6).await.unwrap(), vec![sample(7, 10)]);
}

async fn open_counts_give_each_webhook_of_the_app_its_pending_and_failed(db: TestDb) {
    let store = &*db.store;
    let app = new_app(store).await;
    let other_app = new_app(store).await;
    active_webhook(store, other_app).await;
    publish(store, other_app, t(0)).await;
    let (healthy, doomed) = three_pending_and_three_failed(store, app).await;
    let quiet = active_webhook(store, app).await.id;

    let sorted = |mut v: Vec<(WebhookId, u64, u64)>| {
        v.sort_by_key(|(id, ..)| [healthy, doomed, quiet].iter().position(|w| w == id));
        v
    };
    let counts = sorted(store.open_counts(app, 100).await.unwrap());
    assert_eq!(
        counts,
        vec![(healthy, 3, 0), (doomed, 0, 3), (quiet, 0, 0)],
        "every webhook of the app, another app's left out"
    );
    let capped = sorted(store.open_counts(app, 2).await.unwrap());
    assert_eq!(capped, vec![(healthy, 2, 0), (doomed, 0, 2), (quiet, 0, 0)]);
}
