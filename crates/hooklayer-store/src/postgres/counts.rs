//! Counts for the dashboard on PostgreSQL: what a replay would queue, and bounded per-status counts
//! (a page never counts more rows than it will show).

use super::PgStore;
use crate::model::{DeliveryStatus, ReplayScope};
use crate::rows::replay_statuses;
use crate::StoreResult;
use hooklayer_core::ids::{AppId, WebhookId};
use hooklayer_core::time::Timestamp;

/// How many deliveries [`crate::Store::replay`] would queue with the same arguments.
pub(super) async fn replay_count(
    s: &PgStore,
    app: AppId,
    webhook: WebhookId,
    since: Timestamp,
    scope: ReplayScope,
) -> StoreResult<u64> {
    let sql = format!(
        "SELECT COUNT(*) FROM deliveries
         WHERE app_id = $1 AND webhook_id = $2 AND created_at >= $3 AND status IN {}",
        replay_statuses(scope)
    );
    let n: i64 = sqlx::query_scalar(&sql)
        .bind(app.to_string())
        .bind(webhook.to_string())
        .bind(since.millis())
        .fetch_one(&s.pool)
        .await?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// The webhook's deliveries in `status`, counting at most `cap`.
pub(super) async fn count_in_status(
    s: &PgStore,
    webhook: WebhookId,
    status: DeliveryStatus,
    cap: u32,
) -> StoreResult<u64> {
    // The status is written into the statement (it comes from the enum) and the index's
    // condition repeated, so both planners see that `deliveries_open` answers pending and
    // failed counts; succeeded ones walk the webhook's log, up to the cap.
    let open_only = if status == DeliveryStatus::Succeeded {
        ""
    } else {
        " AND status <> 'succeeded'"
    };
    let sql = format!(
        "SELECT COUNT(*) FROM (SELECT 1 FROM deliveries
         WHERE webhook_id = $1 AND status = '{}'{open_only} LIMIT $2) AS capped",
        status.as_str()
    );
    let n: i64 = sqlx::query_scalar(&sql)
        .bind(webhook.to_string())
        .bind(i64::from(cap))
        .fetch_one(&s.pool)
        .await?;
    Ok(u64::try_from(n).unwrap_or(0))
}
