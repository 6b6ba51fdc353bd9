//! Announcements between processes for listener streams (SPEC §14): `NOTIFY
//! hooklayer_listen` with a short text payload, received through a `LISTEN` connection of
//! this store's own, and the read of announced events by id (payloads stay small: PostgreSQL
//! refuses notifications over 8000 bytes, so events travel as ids, not bodies).

use super::PgStore;
use crate::rows::stored_event;
use crate::{StoreError, StoreResult};
use hooklayer_core::event::NewEvent;
use hooklayer_core::ids::{AppId, EventId};

/// The channel of announcements.
const CHANNEL: &str = "hooklayer_listen";

pub(super) async fn announce(s: &PgStore, messages: &[String]) -> StoreResult<()> {
    if messages.is_empty() {
        return Ok(());
    }
    // One statement, one transaction: the notifications go out together at its commit, in
    // the array's order.
    sqlx::query(
        "SELECT pg_notify($1, message)
         FROM unnest($2::text[]) WITH ORDINALITY AS sent(message, position)
         ORDER BY position",
    )
    .bind(CHANNEL)
    .bind(messages)
    .execute(&s.pool)
    .await?;
    Ok(())
}

pub(super) async fn next(s: &PgStore) -> StoreResult<String> {
    // CONCURRENCY: one LISTEN connection per store, used by one relay task; the mutex only
    // guards against a second caller. `recv` is cancel-safe, so dropping this future keeps
    // the listener for the next call.
    let mut slot = s.announcements.lock().await;
    let listener = match slot.as_mut() {
        Some(listener) => listener,
        None => slot.insert(s.listen_on(CHANNEL).await?),
    };
    match listener.recv().await {
        Ok(notification) => Ok(notification.payload().to_owned()),
        Err(error) => {
            // A fresh connection next time; announcements sent meanwhile are lost (listener
            // streams are best-effort).
            *slot = None;
            Err(StoreError::Database(error))
        }
    }
}

pub(super) async fn events_by_id(
    s: &PgStore,
    app: AppId,
    ids: &[EventId],
) -> StoreResult<Vec<NewEvent>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = sqlx::query(
        "SELECT id, type, created_at, payload FROM events WHERE app_id = $1 AND id = ANY($2)",
    )
    .bind(app.to_string())
    .bind(ids.iter().map(ToString::to_string).collect::<Vec<_>>())
    .fetch_all(&s.pool)
    .await?;
    rows.iter().map(stored_event).collect()
}
