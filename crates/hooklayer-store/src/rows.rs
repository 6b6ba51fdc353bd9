//! Backend-neutral row shapes and their conversion to domain types, so both backends decode
//! the same way. A value that does not parse is [`StoreError::Corrupt`], never a panic.

use crate::model::*;
use crate::StoreError;
use hooklayer_core::event_type::EventType;
use hooklayer_core::target_url::TargetUrl;
use hooklayer_core::time::Timestamp;
use hooklayer_core::webhook::{Secret, Webhook, WebhookStatus};
use std::str::FromStr;

/// Parses a stored value or reports which column is corrupt.
pub(crate) fn parse<T: FromStr>(value: &str, column: &str) -> Result<T, StoreError> {
    value
        .parse()
        .map_err(|_| StoreError::Corrupt(format!("{column}: {value:?}")))
}

/// The columns of `webhooks`, in [`WEBHOOK_COLUMNS`] order.
pub(crate) struct WebhookRow {
    pub id: String,
    pub app_id: String,
    pub version: String,
    pub target_url: String,
    pub events: String,
    pub secret: String,
    pub config: String,
    pub status: String,
    pub status_reason: Option<String>,
    pub created_at: i64,
}

pub(crate) const WEBHOOK_COLUMNS: &str =
    "id, app_id, version, target_url, events, secret, config, status, status_reason, created_at";

impl TryFrom<WebhookRow> for Webhook {
    type Error = StoreError;
    fn try_from(r: WebhookRow) -> Result<Self, StoreError> {
        let events = r
            .events
            .split(',')
            .map(|e| parse::<EventType>(e, "webhooks.events"))
            .collect::<Result<Vec<_>, _>>()?;
        let config = match serde_json::from_str(&r.config) {
            Ok(serde_json::Value::Object(map)) => map,
            _ => return Err(StoreError::Corrupt("webhooks.config".into())),
        };
        Ok(Webhook {
            id: parse(&r.id, "webhooks.id")?,
            app: parse(&r.app_id, "webhooks.app_id")?,
            version: r
                .version
                .parse()
                .map_err(|_| StoreError::Corrupt("webhooks.version".into()))?,
            target_url: TargetUrl::from_stored(&r.target_url)
                .ok_or_else(|| StoreError::Corrupt("webhooks.target_url".into()))?,
            events,
            secret: Secret::from_stored(r.secret),
            config,
            status: WebhookStatus::parse(&r.status)
                .ok_or_else(|| StoreError::Corrupt("webhooks.status".into()))?,
            status_reason: r.status_reason,
            created_at: Timestamp::from_millis(r.created_at),
        })
    }
}

/// `message.sent,conversation.created`
pub(crate) fn events_column(webhook: &Webhook) -> String {
    webhook
        .events
        .iter()
        .map(|e| e.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// Whether a stored `events` column subscribes to `ty`.
pub(crate) fn subscribes(events: &str, ty: EventType) -> bool {
    events.split(',').any(|e| e == ty.as_str())
}

/// The columns of `deliveries` the log shows.
pub(crate) struct DeliveryRow {
    pub request_id: String,
    pub event_id: String,
    pub event_type: String,
    pub status: String,
    pub created_at: i64,
    pub next_attempt_at: Option<i64>,
}

pub(crate) const DELIVERY_COLUMNS: &str =
    "request_id, event_id, event_type, status, created_at, next_attempt_at";

impl TryFrom<DeliveryRow> for Delivery {
    type Error = StoreError;
    fn try_from(r: DeliveryRow) -> Result<Self, StoreError> {
        let status: DeliveryStatus = r
            .status
            .parse()
            .map_err(|_| StoreError::Corrupt("deliveries.status".into()))?;
        Ok(Delivery {
            request_id: parse(&r.request_id, "deliveries.request_id")?,
            event_id: parse(&r.event_id, "deliveries.event_id")?,
            event_type: parse(&r.event_type, "deliveries.event_type")?,
            status,
            created_at: Timestamp::from_millis(r.created_at),
            next_attempt_at: match status {
                DeliveryStatus::Pending => r.next_attempt_at.map(Timestamp::from_millis),
                _ => None,
            },
            attempts: Vec::new(),
        })
    }
}

/// The columns of `attempts` the log shows, plus the delivery they belong to.
pub(crate) struct AttemptRow {
    pub request_id: String,
    pub at: i64,
    pub duration_ms: i64,
    pub status_code: Option<i64>,
    pub error: Option<String>,
    pub response_body: Option<String>,
}

pub(crate) const ATTEMPT_COLUMNS: &str =
    "request_id, at, duration_ms, status_code, error, response_body";

impl From<AttemptRow> for Attempt {
    fn from(r: AttemptRow) -> Self {
        Attempt {
            at: Timestamp::from_millis(r.at),
            duration_ms: u32::try_from(r.duration_ms).unwrap_or(u32::MAX),
            status_code: r.status_code.and_then(|c| u16::try_from(c).ok()),
            error: r.error,
            response_body: r.response_body,
        }
    }
}

/// Attaches attempt rows (ordered oldest first) to their deliveries.
pub(crate) fn attach_attempts(deliveries: &mut [Delivery], attempts: Vec<AttemptRow>) {
    for row in attempts {
        let Ok(id) = row.request_id.parse() else {
            continue;
        };
        if let Some(d) = deliveries.iter_mut().find(|d| d.request_id == id) {
            d.attempts.push(row.into());
        }
    }
}

/// The SQL status filter of a replay scope.
pub(crate) fn replay_statuses(scope: ReplayScope) -> &'static str {
    match scope {
        ReplayScope::Failed => "('failed')",
        ReplayScope::Succeeded => "('succeeded')",
        ReplayScope::All => "('pending','succeeded','failed')",
    }
}
