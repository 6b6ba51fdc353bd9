//! Backend-neutral decoding of stored rows into domain types, and the SQL fragments both
//! backends share, so SQLite and PostgreSQL read every record the same way. A value that does
//! not parse is [`StoreError::Corrupt`], never a panic.
//!
//! Both schemas store ids and enums as text and every number as a 64-bit integer, which is what
//! lets one decoder serve both: [`StoredRow`] is the four ways a row is read.

use crate::model::*;
use crate::StoreError;
use hooklayer_core::delivery_settings::DeliverySettings;
use hooklayer_core::event::NewEvent;
use hooklayer_core::event_type::EventType;
use hooklayer_core::ids::RequestId;
use hooklayer_core::target_url::TargetUrl;
use hooklayer_core::time::Timestamp;
use hooklayer_core::webhook::{Secret, Webhook, WebhookStatus, WebhookVersion};
use sqlx::Row;
use std::str::FromStr;

/// Parses a stored value or reports which column is corrupt.
pub(crate) fn parse<T: FromStr>(value: &str, column: &str) -> Result<T, StoreError> {
    value
        .parse()
        .map_err(|_| StoreError::Corrupt(format!("{column}: {value:?}")))
}

/// Reading a column of a row of either backend.
pub(crate) trait StoredRow {
    fn text(&self, column: &str) -> Result<String, sqlx::Error>;
    fn opt_text(&self, column: &str) -> Result<Option<String>, sqlx::Error>;
    fn int(&self, column: &str) -> Result<i64, sqlx::Error>;
    fn opt_int(&self, column: &str) -> Result<Option<i64>, sqlx::Error>;
}

macro_rules! stored_row {
    ($($row:ty),*) => {$(
        impl StoredRow for $row {
            fn text(&self, column: &str) -> Result<String, sqlx::Error> {
                self.try_get(column)
            }
            fn opt_text(&self, column: &str) -> Result<Option<String>, sqlx::Error> {
                self.try_get(column)
            }
            fn int(&self, column: &str) -> Result<i64, sqlx::Error> {
                self.try_get(column)
            }
            fn opt_int(&self, column: &str) -> Result<Option<i64>, sqlx::Error> {
                self.try_get(column)
            }
        }
    )*};
}
stored_row!(sqlx::sqlite::SqliteRow, sqlx::postgres::PgRow);

/// A stored count as `u32`/`u64`; a negative or oversized value cannot come from us, so it
/// saturates rather than failing a whole listing.
fn count<T: TryFrom<i64> + Default>(n: i64) -> T {
    T::try_from(n).unwrap_or_default()
}

/// A row of `SELECT id, name, created_at FROM apps`.
/// A row of summed `delivery_stats` (`minute`, `succeeded`, `failed`, `b0`..`b9`).
pub(crate) fn stat_row(r: &impl StoredRow) -> Result<StatRow, StoreError> {
    let count = |column: &str| -> Result<u64, StoreError> {
        Ok(u64::try_from(r.int(column)?).unwrap_or(0))
    };
    let mut buckets = [0u64; LATENCY_BUCKETS];
    for (i, b) in buckets.iter_mut().enumerate() {
        *b = count(&format!("b{i}"))?;
    }
    Ok(StatRow {
        minute: r.int("minute")?,
        succeeded: count("succeeded")?,
        failed: count("failed")?,
        buckets,
    })
}

pub(crate) fn app(r: &impl StoredRow) -> Result<App, StoreError> {
    Ok(App {
        id: parse(&r.text("id")?, "apps.id")?,
        name: r.text("name")?,
        created_at: Timestamp::from_millis(r.int("created_at")?),
    })
}

pub(crate) const WEBHOOK_COLUMNS: &str =
    "id, app_id, version, target_url, events, secret, config, status, status_reason, created_at,
     rate_limit, max_in_flight, ordered";

/// A row selected with [`WEBHOOK_COLUMNS`].
pub(crate) fn webhook(r: &impl StoredRow) -> Result<Webhook, StoreError> {
    let events = r
        .text("events")?
        .split(',')
        .map(|e| parse::<EventType>(e, "webhooks.events"))
        .collect::<Result<Vec<_>, _>>()?;
    let config = match serde_json::from_str(&r.text("config")?) {
        Ok(serde_json::Value::Object(map)) => map,
        _ => return Err(StoreError::Corrupt("webhooks.config".into())),
    };
    Ok(Webhook {
        id: parse(&r.text("id")?, "webhooks.id")?,
        app: parse(&r.text("app_id")?, "webhooks.app_id")?,
        version: version(&r.text("version")?)?,
        target_url: TargetUrl::from_stored(&r.text("target_url")?)
            .ok_or_else(|| StoreError::Corrupt("webhooks.target_url".into()))?,
        events,
        secret: Secret::from_stored(r.text("secret")?),
        config,
        status: WebhookStatus::parse(&r.text("status")?)
            .ok_or_else(|| StoreError::Corrupt("webhooks.status".into()))?,
        status_reason: r.opt_text("status_reason")?,
        created_at: Timestamp::from_millis(r.int("created_at")?),
        delivery: DeliverySettings {
            rate_limit: r.opt_int("rate_limit")?.map(count),
            max_in_flight: r.opt_int("max_in_flight")?.map(count),
            ordered: r.int("ordered")? != 0,
        },
    })
}

/// The delivery-settings columns of a webhook: `rate_limit`, `max_in_flight`, `ordered`,
/// `shaped`, as stored.
pub(crate) fn delivery_columns(d: &DeliverySettings) -> (Option<i64>, Option<i64>, i64, i64) {
    (
        d.rate_limit.map(i64::from),
        d.max_in_flight.map(i64::from),
        i64::from(d.ordered),
        i64::from(d.is_shaped()),
    )
}

pub(crate) fn version(stored: &str) -> Result<WebhookVersion, StoreError> {
    stored
        .parse()
        .map_err(|_| StoreError::Corrupt("webhooks.version".into()))
}

/// The webhook's config as stored: compact JSON.
pub(crate) fn config_column(webhook: &Webhook) -> String {
    serde_json::Value::Object(webhook.config.clone()).to_string()
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

/// The first answer for an event, from `SELECT id, type, created_at, deliveries FROM events`.
pub(crate) fn stored_answer(r: &impl StoredRow) -> Result<IngestAnswer, StoreError> {
    Ok(IngestAnswer {
        id: parse(&r.text("id")?, "events.id")?,
        event_type: parse(&r.text("type")?, "events.type")?,
        created_at: Timestamp::from_millis(r.int("created_at")?),
        deliveries: count(r.int("deliveries")?),
        stored_now: false,
    })
}

/// A stored event as listener streams need it: `id, type, created_at, payload` of `events`.
pub(crate) fn stored_event(r: &impl StoredRow) -> Result<NewEvent, StoreError> {
    Ok(NewEvent {
        id: parse(&r.text("id")?, "events.id")?,
        event_type: parse(&r.text("type")?, "events.type")?,
        created_at: Timestamp::from_millis(r.int("created_at")?),
        payload_prefix: r.text("payload")?,
    })
}

/// What a worker needs to send a claimed delivery: `deliveries d` joined with its `events e`
/// and `webhooks w`.
pub(crate) const CLAIMED_COLUMNS: &str =
    "d.request_id, d.app_id, d.webhook_id, d.event_id, d.event_type, d.attempts_made, d.next_attempt_at,
     e.created_at AS event_created_at, e.payload, w.config, w.target_url, w.version, w.secret,
     w.previous_secret, w.previous_secret_until, w.max_in_flight, w.shaped";

/// A row selected with [`CLAIMED_COLUMNS`].
pub(crate) fn claimed(r: &impl StoredRow) -> Result<ClaimedDelivery, StoreError> {
    Ok(ClaimedDelivery {
        request_id: parse(&r.text("request_id")?, "deliveries.request_id")?,
        app: parse(&r.text("app_id")?, "deliveries.app_id")?,
        webhook: parse(&r.text("webhook_id")?, "deliveries.webhook_id")?,
        event_id: parse(&r.text("event_id")?, "deliveries.event_id")?,
        event_type: parse(&r.text("event_type")?, "deliveries.event_type")?,
        event_created_at: Timestamp::from_millis(r.int("event_created_at")?),
        attempts_made: count(r.int("attempts_made")?),
        lease_until: Timestamp::from_millis(r.int("next_attempt_at")?),
        payload_prefix: r.text("payload")?,
        config_json: r.text("config")?,
        target_url: r.text("target_url")?,
        version: version(&r.text("version")?)?,
        secret: Secret::from_stored(r.text("secret")?),
        // Past its window a previous secret no longer signs, even before it is purged.
        previous_secret: match r.opt_int("previous_secret_until")? {
            Some(until) if until > Timestamp::now().millis() => {
                r.opt_text("previous_secret")?.map(Secret::from_stored)
            }
            _ => None,
        },
        max_in_flight: r.opt_int("max_in_flight")?.map(count),
        shaped: r.int("shaped")? != 0,
    })
}

/// The columns of `deliveries` the log shows.
pub(crate) const DELIVERY_COLUMNS: &str =
    "request_id, event_id, event_type, status, created_at, next_attempt_at";

/// A row selected with [`DELIVERY_COLUMNS`], without its attempts.
pub(crate) fn delivery(r: &impl StoredRow) -> Result<Delivery, StoreError> {
    let status: DeliveryStatus = r
        .text("status")?
        .parse()
        .map_err(|_| StoreError::Corrupt("deliveries.status".into()))?;
    Ok(Delivery {
        request_id: parse(&r.text("request_id")?, "deliveries.request_id")?,
        event_id: parse(&r.text("event_id")?, "deliveries.event_id")?,
        event_type: parse(&r.text("event_type")?, "deliveries.event_type")?,
        status,
        created_at: Timestamp::from_millis(r.int("created_at")?),
        // The column holds the lease end or stale values once finished; the log hides them.
        next_attempt_at: match status {
            DeliveryStatus::Pending => r.opt_int("next_attempt_at")?.map(Timestamp::from_millis),
            _ => None,
        },
        attempts: Vec::new(),
    })
}

/// The columns of `attempts` the log shows, plus the delivery they belong to.
pub(crate) const ATTEMPT_COLUMNS: &str =
    "request_id, at, duration_ms, status_code, error, response_body";

/// A row selected with [`ATTEMPT_COLUMNS`]: the delivery it belongs to and the attempt.
pub(crate) fn attempt(r: &impl StoredRow) -> Result<(RequestId, Attempt), StoreError> {
    let attempt = Attempt {
        at: Timestamp::from_millis(r.int("at")?),
        duration_ms: u32::try_from(r.int("duration_ms")?).unwrap_or(u32::MAX),
        status_code: r
            .opt_int("status_code")?
            .and_then(|c| u16::try_from(c).ok()),
        error: r.opt_text("error")?,
        response_body: r.opt_text("response_body")?,
    };
    Ok((
        parse(&r.text("request_id")?, "attempts.request_id")?,
        attempt,
    ))
}

/// Attaches attempts (ordered oldest first) to their deliveries.
pub(crate) fn attach_attempts(deliveries: &mut [Delivery], attempts: Vec<(RequestId, Attempt)>) {
    for (id, attempt) in attempts {
        if let Some(d) = deliveries.iter_mut().find(|d| d.request_id == id) {
            d.attempts.push(attempt);
        }
    }
}

/// Cuts `items`, fetched with `LIMIT limit + 1`, to a page; the extra row only tells that
/// there is a next page.
pub(crate) fn page(mut items: Vec<Delivery>, limit: u32) -> DeliveryPage {
    let limit = limit as usize;
    let more = items.len() > limit;
    items.truncate(limit);
    let next = match items.last() {
        Some(last) if more => Some(Cursor {
            created_at: last.created_at,
            request_id: last.request_id,
        }),
        _ => None,
    };
    DeliveryPage { items, next }
}

/// The SQL status filter of a replay scope.
pub(crate) fn replay_statuses(scope: ReplayScope) -> &'static str {
    match scope {
        ReplayScope::Failed => "('failed')",
        ReplayScope::Succeeded => "('succeeded')",
        // "all" means every finished delivery: a pending one is already queued, and re-queueing
        // it would cut its running lease short and could send it twice.
        ReplayScope::All => "('succeeded','failed')",
    }
}

/// A row of `SELECT at, keys FROM webhook_changes` (`keys`: `target_url,secret`).
pub(crate) fn change_record(r: &impl StoredRow) -> Result<WebhookChangeRecord, StoreError> {
    Ok(WebhookChangeRecord {
        at: Timestamp::from_millis(r.int("at")?),
        keys: r
            .text("keys")?
            .split(',')
            .filter(|k| !k.is_empty())
            .map(str::to_owned)
            .collect(),
    })
}

/// Places in shaped webhooks' lines handed out by one ingest, in acceptance order.
#[derive(Default)]
pub(crate) struct LinePlaces {
    /// Webhook id → the last place taken so far.
    last: std::collections::HashMap<String, i64>,
}

impl LinePlaces {
    /// The webhook's places start after `before` (reserved in its row for this ingest).
    pub fn reserve(&mut self, webhook: &str, before: i64) {
        self.last.insert(webhook.to_owned(), before);
    }

    /// The next place of a delivery to `webhook`; `None` for a webhook that is not shaped.
    pub fn next(&mut self, webhook: &str) -> Option<i64> {
        self.last.get_mut(webhook).map(|last| {
            *last += 1;
            *last
        })
    }
}
