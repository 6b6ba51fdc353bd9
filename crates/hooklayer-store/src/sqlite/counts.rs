//! Counts for the dashboard on SQLite: what a replay would queue.

use super::SqliteStore;
use crate::model::ReplayScope;
use crate::rows::replay_statuses;
use crate::StoreResult;
use hooklayer_core::ids::{AppId, WebhookId};
use hooklayer_core::time::Timestamp;

/// How many deliveries [`crate::Store::replay`] would queue with the same arguments.
pub(super) async fn replay_count(
    s: &SqliteStore,
    app: AppId,
    webhook: WebhookId,
    since: Timestamp,
    scope: ReplayScope,
) -> StoreResult<u64> {
    let sql = format!(
        "SELECT COUNT(*) FROM deliveries
         WHERE app_id = ? AND webhook_id = ? AND created_at >= ? AND status IN {}",
        replay_statuses(scope)
    );
    let n: i64 = sqlx::query_scalar(&sql)
        .bind(app.to_string())
        .bind(webhook.to_string())
        .bind(since.millis())
        .fetch_one(&s.reader)
        .await?;
    Ok(u64::try_from(n).unwrap_or(0))
}
