//! The harness: a fresh database per test on each backend, and small builders for the records
//! the tests store.
//!
//! SQLite gets a new file in a temporary directory. PostgreSQL gets a new database on the server
//! named by `HOOKLAYER_TEST_POSTGRES_URL` (default [`DEFAULT_POSTGRES_URL`]), dropped when the
//! test ends, pass or fail. When that server is unreachable a test prints
//! `SKIPPED (postgres unreachable): <test>` and passes, except under `CI=true`, where it fails:
//! CI must run the suite on both backends.

use hooklayer_core::event::NewEvent;
use hooklayer_core::event_type::EventType;
use hooklayer_core::ids::{AppId, EventId, WebhookId};
use hooklayer_core::target_url::TargetUrl;
use hooklayer_core::time::Timestamp;
use hooklayer_core::webhook::{Secret, Webhook, WebhookStatus, WebhookVersion};
use hooklayer_store::*;
use sqlx::{Connection, Executor, PgConnection};
use std::future::Future;
use std::io::Write;
use std::sync::Arc;

pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// What a conformance test gets: a migrated, empty store.
pub struct TestDb {
    pub store: Arc<dyn Store>,
    pub backend: Backend,
    url: String,
}

impl TestDb {
    /// A second store on the same database, as a second worker would use it: on PostgreSQL a
    /// separate connection pool (another process), on SQLite the same store (one process owns
    /// the file).
    pub async fn another_store(&self) -> Arc<dyn Store> {
        match self.backend {
            Backend::Sqlite => self.store.clone(),
            Backend::Postgres => self.reopen().await,
        }
    }

    /// Opens the database again (running the migrations again).
    pub async fn reopen(&self) -> Arc<dyn Store> {
        connect(&self.url).await.expect("reopen the test database")
    }
}

/// Runs `test` on a fresh database of `backend`.
pub async fn run<F, Fut>(backend: Backend, name: &str, test: F)
where
    F: FnOnce(TestDb) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().expect("temporary directory");
            let url = format!("sqlite://{}", dir.path().join("hooklayer.db").display());
            let store = connect(&url).await.expect("open SQLite");
            test(TestDb {
                store,
                backend,
                url,
            })
            .await;
        }
        Backend::Postgres => {
            let Some(db) = PgDatabase::create(name).await else {
                return;
            };
            let store = connect(&db.url).await.expect("open PostgreSQL");
            // Spawned so that a failing test still reaches the cleanup below.
            let outcome = tokio::spawn(test(TestDb {
                store,
                backend,
                url: db.url.clone(),
            }))
            .await;
            db.drop().await;
            if let Err(failure) = outcome {
                std::panic::resume_unwind(failure.into_panic());
            }
        }
    }
}

/// A database of its own on the test PostgreSQL server.
pub struct PgDatabase {
    pub url: String,
    name: String,
    admin: PgConnection,
}

impl PgDatabase {
    /// Creates an empty database, or `None` when the server is unreachable outside CI.
    pub async fn create(test: &str) -> Option<Self> {
        let admin_url = std::env::var("HOOKLAYER_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned());
        let mut admin = match PgConnection::connect(&admin_url).await {
            Ok(admin) => admin,
            Err(e) if std::env::var("CI").as_deref() == Ok("true") => {
                panic!("PostgreSQL at {admin_url} is unreachable ({e}); CI runs the store suite on both backends")
            }
            Err(_) => {
                // Straight to the stderr handle: the test harness captures `eprintln!`.
                let line = format!("SKIPPED (postgres unreachable): {test}\n");
                let _ = std::io::stderr().write_all(line.as_bytes());
                return None;
            }
        };
        let name = format!("hl_test_{}", uuid::Uuid::new_v4().simple());
        admin
            .execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .expect("CREATE DATABASE");
        let mut url = url::Url::parse(&admin_url).expect("HOOKLAYER_TEST_POSTGRES_URL is a URL");
        url.set_path(&name);
        Some(Self {
            url: url.into(),
            name,
            admin,
        })
    }

    /// Drops the database, best effort (FORCE ends sessions the test left open).
    pub async fn drop(mut self) {
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        if let Err(e) = self.admin.execute(sql.as_str()).await {
            eprintln!("could not drop test database {}: {e}", self.name);
        }
    }
}

/// Runs each named test, written once as `async fn <test>(db: TestDb)`, on both backends:
/// `<module>::sqlite::<test>` and `<module>::postgres::<test>`. A test left out of the list is
/// dead code, which the lints reject.
macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let name = concat!(module_path!(), "::", stringify!($name));
                crate::support::run(crate::support::Backend::Sqlite, name, super::$name).await
            })*
        }

        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let name = concat!(module_path!(), "::", stringify!($name));
                crate::support::run(crate::support::Backend::Postgres, name, super::$name).await
            })*
        }
    };
}
pub(crate) use conformance;

// ---- builders ------------------------------------------------------------------------------

/// A fixed point in time plus `ms`: tests control the clock instead of sleeping.
pub fn t(ms: i64) -> Timestamp {
    Timestamp::from_millis(1_800_000_000_000 + ms)
}

/// Creates an app whose token hash is `token-<app id>`.
pub async fn new_app(store: &dyn Store) -> AppId {
    let app = App {
        id: AppId::new(),
        name: "test app".into(),
        created_at: t(0),
    };
    store
        .create_app(&app, &token_of(app.id))
        .await
        .expect("create app");
    app.id
}

pub fn token_of(app: AppId) -> String {
    format!("token-{app}")
}

/// A webhook of `app` in `status`, subscribed to `events`.
pub fn webhook(app: AppId, status: WebhookStatus, events: &[EventType]) -> Webhook {
    let mut config = serde_json::Map::new();
    config.insert("key1".into(), "value1".into());
    Webhook {
        id: WebhookId::new(),
        app,
        version: WebhookVersion::V2,
        target_url: TargetUrl::from_stored("https://receiver.example/hooks?x=1")
            .expect("valid URL"),
        events: events.to_vec(),
        secret: Secret::from_stored("1697f925ec7b1697f925ec7b".into()),
        config,
        status,
        status_reason: (status == WebhookStatus::Inactive).then(|| "Deactivated by User".into()),
        created_at: t(0),
        delivery: Default::default(),
    }
}

/// Stores [`webhook`] and returns it.
pub async fn add_webhook(
    store: &dyn Store,
    app: AppId,
    status: WebhookStatus,
    events: &[EventType],
) -> Webhook {
    let w = webhook(app, status, events);
    assert_eq!(
        store.create_webhook(&w, 100).await.expect("create webhook"),
        CreateWebhook::Created
    );
    w
}

/// An active webhook subscribed to `message.sent`.
pub async fn active_webhook(store: &dyn Store, app: AppId) -> Webhook {
    add_webhook(store, app, WebhookStatus::Active, &[EventType::MessageSent]).await
}

/// A new event of type `ty` created at `t(0)`.
pub fn event(ty: EventType) -> NewEvent {
    event_with_id(EventId::new(), ty)
}

pub fn event_with_id(id: EventId, ty: EventType) -> NewEvent {
    let key = ty.family().entity_key();
    NewEvent {
        id,
        event_type: ty,
        created_at: t(0),
        payload_prefix: format!(
            r#"{{"event":{{"type":"{}","id":"{id}"}},"{key}":{{"id":"x"}}"#,
            ty.as_str()
        ),
    }
}

/// Publishes one `message.sent` event at `now`.
pub async fn publish(store: &dyn Store, app: AppId, now: Timestamp) -> IngestAnswer {
    let mut answers = store
        .ingest(app, &[event(EventType::MessageSent)], now)
        .await
        .expect("ingest");
    answers.pop().expect("one answer")
}

/// A claim at `now` with a 30 s lease.
pub fn claim_at(now: Timestamp, limit: u32) -> Claim {
    Claim {
        now,
        lease_until: now.plus_millis(30_000),
        limit,
        skip_webhooks: Vec::new(),
    }
}

/// Claims everything due at `now`.
pub async fn claim_all(store: &dyn Store, now: Timestamp) -> Vec<ClaimedDelivery> {
    store
        .claim_due(&claim_at(now, 10_000), ClaimLane::OldestDue)
        .await
        .expect("claim")
}

/// An attempt at `at` that took 5 ms and answered `status`.
pub fn attempt(at: Timestamp, status: u16) -> Attempt {
    Attempt {
        at,
        duration_ms: 5,
        status_code: Some(status),
        error: (status >= 300).then(|| format!("unexpected response status: {status}")),
        response_body: Some(format!("body {status}")),
    }
}

pub fn record(d: &ClaimedDelivery, attempt: Attempt, outcome: AttemptOutcome) -> AttemptRecord {
    AttemptRecord {
        request_id: d.request_id,
        webhook: d.webhook,
        lease_until: d.lease_until,
        attempt,
        outcome,
    }
}

/// Every delivery of a webhook, newest first.
pub async fn deliveries(store: &dyn Store, w: &Webhook) -> Vec<Delivery> {
    let query = DeliveryQuery {
        status: None,
        limit: 250,
        after: None,
    };
    store
        .list_deliveries(w.app, w.id, &query)
        .await
        .expect("list deliveries")
        .items
}

/// Exhausts `d` (its webhook becomes inactive) and makes the webhook active again.
pub async fn fail_and_reactivate(store: &dyn Store, d: &ClaimedDelivery, at: Timestamp) {
    let outcome = AttemptOutcome::Exhausted {
        webhook_reason: "Delivery failed after 1 attempts".into(),
    };
    store
        .record_attempts(&[record(d, attempt(at, 500), outcome)])
        .await
        .expect("record");
    store
        .activate_webhook(d.app, d.webhook, at)
        .await
        .expect("activate");
    assert!(store
        .finish_verification(d.webhook, Ok(()))
        .await
        .expect("verify"));
}
