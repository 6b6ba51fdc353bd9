//! Dashboard sessions on SQLite.

use super::SqliteStore;
use crate::model::UiSession;
use crate::rows::parse;
use crate::StoreResult;
use hooklayer_core::time::Timestamp;
use sqlx::Row;

/// Stores a new session, deleting expired ones on the way (sign-ins are rare, so this keeps
/// the table small without a sweeper).
pub(super) async fn create(s: &SqliteStore, session: &UiSession) -> StoreResult<()> {
    sqlx::query("DELETE FROM ui_sessions WHERE expires_at <= ?")
        .bind(session.created_at.millis())
        .execute(&s.writer)
        .await?;
    sqlx::query(
        "INSERT INTO ui_sessions (id_hash, app_id, csrf_token, created_at, expires_at) \
         VALUES (?, ?, ?, ?, ?)",
    )
    .bind(&session.id_hash)
    .bind(session.app.map(|a| a.to_string()))
    .bind(&session.csrf_token)
    .bind(session.created_at.millis())
    .bind(session.expires_at.millis())
    .execute(&s.writer)
    .await?;
    Ok(())
}

/// The session with this id hash, unless it expired (or its app was deleted).
pub(super) async fn get(
    s: &SqliteStore,
    id_hash: &str,
    now: Timestamp,
) -> StoreResult<Option<UiSession>> {
    let found = sqlx::query(
        "SELECT app_id, csrf_token, created_at, expires_at FROM ui_sessions \
         WHERE id_hash = ? AND expires_at > ?",
    )
    .bind(id_hash)
    .bind(now.millis())
    .fetch_optional(&s.reader)
    .await?;
    let Some(row) = found else { return Ok(None) };
    let app: Option<String> = row.try_get("app_id")?;
    Ok(Some(UiSession {
        id_hash: id_hash.to_owned(),
        app: app.map(|a| parse(&a, "ui_sessions.app_id")).transpose()?,
        csrf_token: row.try_get("csrf_token")?,
        created_at: Timestamp::from_millis(row.try_get("created_at")?),
        expires_at: Timestamp::from_millis(row.try_get("expires_at")?),
    }))
}

pub(super) async fn delete(s: &SqliteStore, id_hash: &str) -> StoreResult<()> {
    sqlx::query("DELETE FROM ui_sessions WHERE id_hash = ?")
        .bind(id_hash)
        .execute(&s.writer)
        .await?;
    Ok(())
}
