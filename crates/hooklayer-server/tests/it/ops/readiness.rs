//! `/healthz` and `/readyz` while the database goes away (SQLite file moved, PostgreSQL
//! database dropped) and comes back.

use super::{get, wait_for_readyz};
use crate::support::app::TestAppBuilder;
use crate::support::db::{postgres_admin_url, Backend, TestDb};
use sqlx::{Connection, Executor, PgConnection};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_is_503_while_the_sqlite_file_is_gone_and_200_once_it_is_back() {
    let db = TestDb::sqlite();
    let app = TestAppBuilder::new().start(&db).await;
    assert_eq!(get(&app, "/healthz").await, (200, "ok".to_owned()));
    assert_eq!(get(&app, "/readyz").await.0, 200);

    // Open connections would keep using a moved file; readiness must notice it is gone.
    let path = db.sqlite_path().expect("sqlite path");
    let moved = path.with_extension("moved");
    std::fs::rename(&path, &moved).expect("move the database away");
    assert_eq!(
        get(&app, "/readyz").await,
        (503, "database unavailable".to_owned())
    );
    assert_eq!(
        get(&app, "/healthz").await.0,
        200,
        "liveness does not depend on the database"
    );

    std::fs::rename(&moved, &path).expect("put the database back");
    wait_for_readyz(&app, 200).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_is_503_once_the_postgres_database_is_dropped() {
    let Some(db) = TestDb::new(Backend::Postgres).await else {
        return;
    };
    let app = TestAppBuilder::new().start(&db).await;
    assert_eq!(get(&app, "/readyz").await.0, 200);

    let name = url::Url::parse(&db.url)
        .expect("url")
        .path()
        .trim_start_matches('/')
        .to_owned();
    let mut admin = PgConnection::connect(&postgres_admin_url())
        .await
        .expect("admin connection");
    admin
        .execute(format!("DROP DATABASE {name} WITH (FORCE)").as_str())
        .await
        .expect("drop database");
    wait_for_readyz(&app, 503).await;
    assert_eq!(get(&app, "/healthz").await.0, 200);
    app.stop().await;
}
