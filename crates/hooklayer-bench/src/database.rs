//! A fresh, empty database for every scenario, so no scenario inherits another's rows (or its
//! file size) and each `hooklayer serve` starts from the same state.
//!
//! SQLite: a new file in the run's temporary directory. Postgres: `CREATE DATABASE` on the server
//! of `--postgres-url`, dropped after the scenario (and, should that fail or the run be
//! interrupted, at the end of the run).

use std::path::Path;
use std::sync::Mutex;

use anyhow::{Context as _, Result};
use sqlx::{Connection as _, Executor as _, PgConnection};

/// The storage backend a run measures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    /// The admin URL given with `--postgres-url` (any database the user may `CREATE DATABASE` from).
    Postgres(String),
}

impl Backend {
    pub fn name(&self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres(_) => "postgres",
        }
    }
}

/// One scenario's database.
pub struct FreshDb {
    pub url: String,
    /// Set for Postgres: the database to drop afterwards.
    pg_name: Option<String>,
}

/// Creates and drops scenario databases, remembering Postgres ones until they are dropped.
#[derive(Default)]
pub struct Databases {
    /// Postgres databases created and not yet dropped, as (admin URL, name).
    live: Mutex<Vec<(String, String)>>,
}

impl Databases {
    /// A new empty database for `label` (a scenario name) on `backend`.
    pub async fn fresh(&self, backend: &Backend, dir: &Path, label: &str) -> Result<FreshDb> {
        match backend {
            Backend::Sqlite => Ok(FreshDb {
                url: format!("sqlite://{}", dir.join(format!("{label}.db")).display()),
                pg_name: None,
            }),
            Backend::Postgres(admin) => {
                let name = format!(
                    "hooklayer_bench_{}_{}",
                    label.replace('-', "_"),
                    &uuid::Uuid::new_v4().simple().to_string()[..8]
                );
                let mut conn = PgConnection::connect(admin)
                    .await
                    .context("connecting to --postgres-url")?;
                conn.execute(format!(r#"CREATE DATABASE "{name}""#).as_str())
                    .await
                    .with_context(|| format!("CREATE DATABASE {name}"))?;
                let _ = conn.close().await;
                self.live
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .push((admin.clone(), name.clone()));
                let mut url = url::Url::parse(admin).context("parsing --postgres-url")?;
                url.set_path(&format!("/{name}"));
                Ok(FreshDb {
                    url: url.into(),
                    pg_name: Some(name),
                })
            }
        }
    }

    /// Drops a scenario's database (SQLite files go with the temporary directory).
    pub async fn release(&self, db: FreshDb) {
        let Some(name) = db.pg_name else { return };
        let admin = {
            let mut live = self
                .live
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let Some(pos) = live.iter().position(|(_, n)| *n == name) else {
                return;
            };
            live.remove(pos).0
        };
        if let Err(err) = drop_database(&admin, &name).await {
            eprintln!("warning: could not drop database {name}: {err:#}");
        }
    }

    /// Drops every Postgres database still alive (end of run, also after an error or Ctrl-C).
    pub async fn release_all(&self) {
        let live = std::mem::take(
            &mut *self
                .live
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        for (admin, name) in live {
            if let Err(err) = drop_database(&admin, &name).await {
                eprintln!("warning: could not drop database {name}: {err:#}");
            }
        }
    }
}

async fn drop_database(admin: &str, name: &str) -> Result<()> {
    let mut conn = PgConnection::connect(admin).await?;
    // `WITH (FORCE)` (Postgres 13+) ends connections a killed hooklayer may have left behind;
    // older servers get the plain form.
    let forced = format!(r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#);
    if conn.execute(forced.as_str()).await.is_err() {
        conn.execute(format!(r#"DROP DATABASE IF EXISTS "{name}""#).as_str())
            .await?;
    }
    let _ = conn.close().await;
    Ok(())
}
