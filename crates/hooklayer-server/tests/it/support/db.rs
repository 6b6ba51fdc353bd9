//! Test databases: a fresh SQLite file, or a fresh PostgreSQL database created for one test
//! and dropped afterwards (best effort). The PostgreSQL server comes from
//! `HOOKLAYER_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/test`); when it is
//! unreachable the test is skipped with a visible message, except under `CI=true`, where it
//! fails.

use sqlx::{Connection, Executor, PgConnection};
use std::path::PathBuf;

/// Which backend a test runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A database that lives as long as the test.
pub struct TestDb {
    pub url: String,
    /// Keeps the SQLite folder alive.
    _dir: Option<tempfile::TempDir>,
    /// The PostgreSQL database to drop, with the admin URL to drop it from.
    pg_cleanup: Option<(String, String)>,
}

/// The PostgreSQL server the suite uses.
pub fn postgres_admin_url() -> String {
    std::env::var("HOOKLAYER_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

impl TestDb {
    /// A fresh database on `backend`, or `None` (after printing why) when PostgreSQL is
    /// unreachable outside CI.
    pub async fn new(backend: Backend) -> Option<Self> {
        match backend {
            Backend::Sqlite => Some(Self::sqlite()),
            Backend::Postgres => Self::postgres().await,
        }
    }

    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let path: PathBuf = dir.path().join("hooklayer.db");
        Self {
            url: format!("sqlite://{}", path.display()),
            _dir: Some(dir),
            pg_cleanup: None,
        }
    }

    async fn postgres() -> Option<Self> {
        let admin = postgres_admin_url();
        let mut conn = match PgConnection::connect(&admin).await {
            Ok(c) => c,
            Err(e) => {
                if std::env::var("CI").is_ok_and(|v| v == "true") {
                    panic!("PostgreSQL at HOOKLAYER_TEST_POSTGRES_URL is unreachable under CI=true: {e}");
                }
                eprintln!("SKIPPED (postgres unreachable: {e})");
                return None;
            }
        };
        let name = format!("hl_it_{}", uuid::Uuid::new_v4().simple());
        conn.execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .expect("create test database");
        let mut url = url::Url::parse(&admin).expect("postgres URL");
        url.set_path(&format!("/{name}"));
        Some(Self {
            url: url.to_string(),
            _dir: None,
            pg_cleanup: Some((admin, name)),
        })
    }

    /// The SQLite file's path (SQLite only).
    pub fn sqlite_path(&self) -> Option<PathBuf> {
        self.url.strip_prefix("sqlite://").map(PathBuf::from)
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some((admin, name)) = self.pg_cleanup.take() else {
            return;
        };
        // Drop from a separate thread with its own runtime: Drop cannot await, and the test's
        // runtime may be shutting down.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async {
                if let Ok(mut conn) = PgConnection::connect(&admin).await {
                    let _ = conn
                        .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                        .await;
                }
            });
        })
        .join();
    }
}
