//! Schema upgrades: a database at schema 1 with a webhook and a pending delivery opens at the
//! latest schema with its data intact: the webhook has the default delivery settings and the
//! delivery is claimed as before.

use crate::old_database::{self, OldDatabase, APP, WEBHOOK};
use crate::support::PgDatabase;
use hooklayer_core::time::Timestamp;
use hooklayer_core::webhook::WebhookStatus;
use hooklayer_store::migrate::{Migration, CREATE_TABLE, POSTGRES, SQLITE};
use hooklayer_store::{connect, Claim, ClaimLane};
use sqlx::Connection;

/// Schema 1 with one webhook and one pending delivery.
fn schema_1_with_data(migrations: &[Migration]) -> String {
    let db = OldDatabase {
        target_url: "https://old.example/hook",
        events: 1,
        now_ms: 0,
    };
    old_database::sql(&migrations[..1], &db)
}

async fn assert_upgraded(url: &str) {
    let store = connect(url).await.expect("opens and migrates");
    let w = store
        .get_webhook(APP.parse().unwrap(), WEBHOOK.parse().unwrap())
        .await
        .unwrap()
        .expect("the webhook survived");
    assert_eq!(w.status, WebhookStatus::Active);
    assert_eq!(w.delivery, Default::default());
    let now = Timestamp::now();
    let claim = Claim {
        now,
        lease_until: now.plus_millis(30_000),
        limit: 10,
        skip_webhooks: vec![],
    };
    let claimed = store.claim_due(&claim, ClaimLane::OldestDue).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert!(!claimed[0].shaped && claimed[0].previous_secret.is_none());
    assert!(store.webhook_changes(w.id, 10).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_sqlite_database_at_schema_1_upgrades() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("old.db").display());
    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::raw_sql(&schema_1_with_data(SQLITE))
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    assert_upgraded(&url).await;
}

#[tokio::test]
async fn a_postgres_database_at_schema_1_upgrades() {
    let old = schema_1_with_data(POSTGRES);
    upgrade_on_postgres(
        "a_postgres_database_at_schema_1_upgrades",
        &old,
        |url| async move { assert_upgraded(&url).await },
    )
    .await;
}

/// Writes `old` into a fresh PostgreSQL database, then runs `check` on its URL (which opens
/// and upgrades it); the database is dropped whatever `check` does.
async fn upgrade_on_postgres<F, Fut>(name: &str, old: &str, check: F)
where
    F: FnOnce(String) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let Some(db) = PgDatabase::create(name).await else {
        return;
    };
    let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
    sqlx::raw_sql(old).execute(&mut conn).await.unwrap();
    conn.close().await.unwrap();
    let upgraded = tokio::spawn(check(db.url.clone())).await;
    db.drop().await;
    if let Err(failure) = upgraded {
        std::panic::resume_unwind(failure.into_panic());
    }
}

/// Schema 5 (every migration before the roll-up) with a webhook's per-minute statistics: two
/// minutes of one quarter and one of the next.
fn schema_5_with_statistics(migrations: &[Migration]) -> String {
    let mut sql = format!("{CREATE_TABLE};\n");
    for m in migrations.iter().filter(|m| m.version <= 5) {
        sql.push_str(m.sql);
        sql.push_str(&format!(
            ";\nINSERT INTO schema_migrations (version, applied_at) VALUES ({}, 0);\n",
            m.version
        ));
    }
    sql.push_str(&format!(
        "INSERT INTO apps (id, name, created_at) VALUES ('{APP}', 'old', 0);
         INSERT INTO webhooks (id, app_id, version, target_url, events, secret, config, status, created_at)
             VALUES ('{WEBHOOK}', '{APP}', '2.0', 'https://old.example/hook', 'message.sent',
                     '1697f925ec7b1697f925ec7b', '{{}}', 'active', 0);
         INSERT INTO delivery_stats VALUES ('{WEBHOOK}', 30, 2, 1, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0);
         INSERT INTO delivery_stats VALUES ('{WEBHOOK}', 44, 5, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0);
         INSERT INTO delivery_stats VALUES ('{WEBHOOK}', 45, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0);"
    ));
    sql
}

/// The roll-up of an upgraded database holds the statistics it already had.
async fn assert_rolled_up(url: &str) {
    let store = connect(url).await.expect("opens and migrates");
    let quarters = store
        .stats_by_quarter(APP.parse().unwrap(), None, 0)
        .await
        .unwrap();
    let seen: Vec<(i64, u64, u64, u64, u64)> = quarters
        .iter()
        .map(|r| (r.minute, r.succeeded, r.failed, r.buckets[0], r.buckets[1]))
        .collect();
    assert_eq!(seen, vec![(30, 7, 1, 3, 5), (45, 1, 0, 1, 0)]);
}

#[tokio::test]
async fn a_sqlite_database_at_schema_5_gets_its_statistics_rolled_up() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("old.db").display());
    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::raw_sql(&schema_5_with_statistics(SQLITE))
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    assert_rolled_up(&url).await;
}

#[tokio::test]
async fn a_postgres_database_at_schema_5_gets_its_statistics_rolled_up() {
    let name = "a_postgres_database_at_schema_5_gets_its_statistics_rolled_up";
    let old = schema_5_with_statistics(POSTGRES);
    upgrade_on_postgres(
        name,
        &old,
        |url| async move { assert_rolled_up(&url).await },
    )
    .await;
}
