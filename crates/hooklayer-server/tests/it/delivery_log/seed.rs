//! Old rows written straight through the store, fast: events ingested in the past whose
//! deliveries then finished in the past, as if hooklayer had been running for hours. Only for
//! a store no delivery worker competes with (seeding claims every due delivery).

use super::event;
use hooklayer_core::event::NewEvent;
use hooklayer_core::ids::{AppId, EventId, WebhookId};
use hooklayer_core::target_url::TargetUrl;
use hooklayer_core::time::Timestamp;
use hooklayer_core::webhook::{Secret, Webhook, WebhookStatus, WebhookVersion};
use hooklayer_store::{
    Attempt, AttemptOutcome, AttemptRecord, Claim, ClaimLane, CreateWebhook, Store,
};

/// How seeded deliveries end.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum End {
    Succeeded,
    /// Exhausted: failed (and the webhook inactive).
    Failed,
    /// Never attempted: left pending.
    Pending,
}

/// Stores an `active` webhook subscribed to `event_type`, skipping verification.
pub async fn webhook(store: &dyn Store, app: AppId, target: &str, event_type: &str) -> WebhookId {
    let webhook = Webhook {
        id: WebhookId::new(),
        app,
        version: WebhookVersion::V2,
        target_url: TargetUrl::from_stored(target).expect("target URL"),
        events: vec![event_type.parse().expect("event type")],
        secret: Secret::from_stored("1697f925ec7b1697f925ec7b".to_owned()),
        config: Default::default(),
        status: WebhookStatus::Active,
        status_reason: None,
        created_at: Timestamp::now(),
        delivery: Default::default(),
    };
    assert_eq!(
        store
            .create_webhook(&webhook, 100)
            .await
            .expect("create webhook"),
        CreateWebhook::Created
    );
    webhook.id
}

/// Ingests `n` events of `event_type` at time `at` (batches of 1000, one transaction each);
/// their deliveries end as `end`, 10 ms later. Returns how many deliveries were queued.
pub async fn events(
    store: &dyn Store,
    app: AppId,
    event_type: &str,
    n: usize,
    at: Timestamp,
    end: End,
) -> u64 {
    let body = event(event_type);
    let raw = body.to_string();
    let body = body.as_object().expect("event object");
    let mut queued = 0;
    let mut left = n;
    while left > 0 {
        let batch: Vec<NewEvent> = (0..left.min(1000))
            .map(|_| NewEvent::parse(body, &raw, EventId::new(), at).expect("valid event"))
            .collect();
        left -= batch.len();
        let answers = store.ingest(app, &batch, at).await.expect("ingest");
        queued += answers.iter().map(|a| u64::from(a.deliveries)).sum::<u64>();
        if end != End::Pending {
            finish(store, at.plus_millis(10), end).await;
        }
    }
    queued
}

/// Claims every due delivery and records one attempt at `at` ending it as `end`.
async fn finish(store: &dyn Store, at: Timestamp, end: End) {
    loop {
        let now = Timestamp::now();
        let claim = Claim {
            now,
            lease_until: now.plus_millis(60_000),
            limit: 1000,
            skip_webhooks: Vec::new(),
        };
        let claimed = store
            .claim_due(&claim, ClaimLane::OldestDue)
            .await
            .expect("claim");
        if claimed.is_empty() {
            return;
        }
        let records: Vec<AttemptRecord> = claimed
            .iter()
            .map(|d| AttemptRecord {
                request_id: d.request_id,
                webhook: d.webhook,
                lease_until: d.lease_until,
                attempt: Attempt {
                    at,
                    duration_ms: 5,
                    status_code: Some(if end == End::Succeeded { 204 } else { 500 }),
                    error: (end == End::Failed).then(|| {
                        "unexpected response status: 500 Internal Server Error".to_owned()
                    }),
                    response_body: None,
                },
                outcome: match end {
                    End::Failed => AttemptOutcome::Exhausted {
                        webhook_reason: "Delivery failed after 1 attempts: seeded".to_owned(),
                    },
                    _ => AttemptOutcome::Succeeded,
                },
            })
            .collect();
        store
            .record_attempts(&records)
            .await
            .expect("record attempts");
    }
}

/// Rows in `table` (direct SQL, read only).
pub async fn count(db_url: &str, table: &str) -> i64 {
    let sql = format!("SELECT COUNT(*) FROM {table}");
    if db_url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(db_url).await.expect("sqlite");
        let n = sqlx::query_scalar(&sql)
            .fetch_one(&pool)
            .await
            .expect("count");
        pool.close().await;
        n
    } else {
        let pool = sqlx::PgPool::connect(db_url).await.expect("postgres");
        let n = sqlx::query_scalar(&sql)
            .fetch_one(&pool)
            .await
            .expect("count");
        pool.close().await;
        n
    }
}
