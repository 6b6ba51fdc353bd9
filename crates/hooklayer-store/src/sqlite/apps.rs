//! Apps and tokens on SQLite.

use super::{begin_write, SqliteStore};
use crate::model::App;
use crate::rows::{self, parse};
use crate::StoreResult;
use hooklayer_core::ids::AppId;
use hooklayer_core::time::Timestamp;

pub(super) async fn create(s: &SqliteStore, app: &App, token_hash: &str) -> StoreResult<()> {
    let mut tx = begin_write(s).await?;
    sqlx::query("INSERT INTO apps (id, name, created_at) VALUES (?, ?, ?)")
        .bind(app.id.to_string())
        .bind(&app.name)
        .bind(app.created_at.millis())
        .execute(&mut *tx)
        .await?;
    sqlx::query("INSERT INTO tokens (hash, app_id, created_at) VALUES (?, ?, ?)")
        .bind(token_hash)
        .bind(app.id.to_string())
        .bind(app.created_at.millis())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn list(s: &SqliteStore) -> StoreResult<Vec<App>> {
    let found = sqlx::query("SELECT id, name, created_at FROM apps ORDER BY created_at, id")
        .fetch_all(&s.reader)
        .await?;
    found.iter().map(rows::app).collect()
}

pub(super) async fn delete(s: &SqliteStore, app: AppId) -> StoreResult<bool> {
    let done = sqlx::query("DELETE FROM apps WHERE id = ?")
        .bind(app.to_string())
        .execute(&s.writer)
        .await?;
    Ok(done.rows_affected() > 0)
}

pub(super) async fn add_token(
    s: &SqliteStore,
    app: AppId,
    token_hash: &str,
    now: Timestamp,
) -> StoreResult<bool> {
    let done = sqlx::query(
        "INSERT INTO tokens (hash, app_id, created_at) SELECT ?, id, ? FROM apps WHERE id = ?",
    )
    .bind(token_hash)
    .bind(now.millis())
    .bind(app.to_string())
    .execute(&s.writer)
    .await?;
    Ok(done.rows_affected() > 0)
}

pub(super) async fn app_for_token(s: &SqliteStore, token_hash: &str) -> StoreResult<Option<AppId>> {
    let id: Option<String> = sqlx::query_scalar("SELECT app_id FROM tokens WHERE hash = ?")
        .bind(token_hash)
        .fetch_optional(&s.reader)
        .await?;
    id.map(|id| parse(&id, "tokens.app_id")).transpose()
}
