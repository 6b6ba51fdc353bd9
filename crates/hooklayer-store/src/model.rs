//! The records the store reads and writes.

use hooklayer_core::event::NewEvent;
use hooklayer_core::event_type::EventType;
use hooklayer_core::ids::{AppId, EventId, RequestId, WebhookId};
use hooklayer_core::time::Timestamp;
use hooklayer_core::webhook::{Secret, WebhookVersion};
use std::str::FromStr;

/// A tenant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct App {
    pub id: AppId,
    pub name: String,
    pub created_at: Timestamp,
}

/// The answer to [`crate::Store::create_webhook`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CreateWebhook {
    Created,
    /// The app already has the maximum number of webhooks.
    LimitReached,
}

/// What the publish API answers for one event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IngestAnswer {
    pub id: EventId,
    pub event_type: EventType,
    pub created_at: Timestamp,
    /// Deliveries queued for this event when it was first stored.
    pub deliveries: u32,
    /// Whether this call stored the event (false for an id the app already had): listener
    /// streams (SPEC §14) get only events stored now.
    pub stored_now: bool,
}

impl IngestAnswer {
    /// The answer for an event stored now, queued for `deliveries` webhooks.
    pub(crate) fn first(event: &NewEvent, deliveries: usize) -> Self {
        Self {
            id: event.id,
            event_type: event.event_type,
            created_at: event.created_at,
            deliveries: u32::try_from(deliveries).unwrap_or(u32::MAX),
            stored_now: true,
        }
    }
}

/// A request to claim due deliveries.
#[derive(Clone, Debug)]
pub struct Claim {
    pub now: Timestamp,
    pub lease_until: Timestamp,
    pub limit: u32,
    /// Webhooks this worker is saturated on; their deliveries stay for later (isolation).
    pub skip_webhooks: Vec<WebhookId>,
}

/// Which due deliveries a claim takes (see [`crate::Store::claim_due`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClaimLane {
    /// The longest due first: the backlog drains in the order it became due.
    OldestDue,
    /// First attempts (deliveries never tried in their current budget), the most recently
    /// due first, looked for among the [`FRESH_WINDOW`] most recently due deliveries. Beside
    /// a large due backlog of other webhooks (a restart after an outage, thousands of failing
    /// endpoints), this lane lets a newly published event go out at once instead of waiting
    /// behind every older due row; retries never crowd it.
    NewestFirstAttempts,
}

/// How many of the most recently due deliveries [`ClaimLane::NewestFirstAttempts`] looks
/// through: the bound that keeps its cost flat however large the due backlog is. A new
/// delivery stays within it unless this many others became due between two claims.
pub const FRESH_WINDOW: u32 = 1024;

/// How many of the longest due deliveries [`ClaimLane::OldestDue`] looks through while the
/// claim skips saturated webhooks. PERFORMANCE: without the bound, a saturated webhook's
/// due backlog (a receiver back after an outage: a million rows) was walked on every claim
/// round that skipped it, to find nothing; with it, the other webhooks' due deliveries are
/// looked up webhook by webhook only when the window holds too few of them and is full.
pub const SKIP_WINDOW: u32 = 4096;

/// Everything a worker needs to send one delivery attempt.
#[derive(Clone, Debug)]
pub struct ClaimedDelivery {
    pub request_id: RequestId,
    pub app: AppId,
    pub webhook: WebhookId,
    pub event_id: EventId,
    pub event_type: EventType,
    pub event_created_at: Timestamp,
    /// Attempts already made in the current budget.
    pub attempts_made: u32,
    /// The end of this claim's lease; identifies the claim when its result is recorded.
    pub lease_until: Timestamp,
    /// The stored payload prefix (see `hooklayer_core::event`).
    pub payload_prefix: String,
    /// The webhook's config, serialized compactly.
    pub config_json: String,
    pub target_url: String,
    pub version: WebhookVersion,
    pub secret: Secret,
    /// The secret being rotated out, while its overlap window lasts (SPEC §11).
    pub previous_secret: Option<Secret>,
    /// The webhook's in-flight cap when set (enforced across processes by the shaped claim).
    pub max_in_flight: Option<u32>,
    /// Claimed by the shaped claim (any delivery setting not at its default): its outcome
    /// may let the next delivery of the webhook go, so the claim loop is woken after it.
    pub shaped: bool,
}

/// What [`crate::Store::claim_shaped`] took.
#[derive(Clone, Debug, Default)]
pub struct ShapedClaim {
    pub deliveries: Vec<ClaimedDelivery>,
    /// When a rate-limited webhook with work waiting gets its next token, if sooner than
    /// anything else would wake the claim loop.
    pub wake_at: Option<Timestamp>,
}

/// One recorded change of a webhook (SPEC §11): when, and which keys (never values).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookChangeRecord {
    pub at: Timestamp,
    pub keys: Vec<String>,
}

/// One finished attempt and what follows from it.
#[derive(Clone, Debug)]
pub struct AttemptRecord {
    pub request_id: RequestId,
    pub webhook: WebhookId,
    /// The lease of the claim that made the attempt. The outcome applies only while the
    /// delivery still holds that claim: a result that comes back after a manual retry, a
    /// replay or another worker's claim is logged but changes nothing.
    pub lease_until: Timestamp,
    pub attempt: Attempt,
    pub outcome: AttemptOutcome,
}

/// What an attempt means for its delivery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AttemptOutcome {
    Succeeded,
    /// Failed; try again at this time.
    RetryAt(Timestamp),
    /// Failed and out of attempts: the delivery fails, the webhook becomes inactive with this
    /// reason, and its other pending deliveries fail too.
    Exhausted {
        webhook_reason: String,
    },
}

/// One HTTP attempt as the log shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attempt {
    pub at: Timestamp,
    pub duration_ms: u32,
    pub status_code: Option<u16>,
    pub error: Option<String>,
    /// At most 1 KiB of the response body.
    pub response_body: Option<String>,
}

/// A delivery's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DeliveryStatus {
    Pending,
    Succeeded,
    Failed,
}

impl DeliveryStatus {
    pub const ALL: [DeliveryStatus; 3] = [
        DeliveryStatus::Pending,
        DeliveryStatus::Succeeded,
        DeliveryStatus::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Succeeded => "succeeded",
            DeliveryStatus::Failed => "failed",
        }
    }
}

impl FromStr for DeliveryStatus {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        Self::ALL.into_iter().find(|d| d.as_str() == s).ok_or(())
    }
}

/// A delivery with its attempts, oldest attempt first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    pub request_id: RequestId,
    pub event_id: EventId,
    pub event_type: EventType,
    pub status: DeliveryStatus,
    pub created_at: Timestamp,
    /// `None` once the delivery is finished.
    pub next_attempt_at: Option<Timestamp>,
    pub attempts: Vec<Attempt>,
}

/// A position in a newest-first listing: the last item of the previous page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub created_at: Timestamp,
    pub request_id: RequestId,
}

impl Cursor {
    /// The opaque text form handed to API callers: `<millis>_<uuid>`.
    pub fn encode(&self) -> String {
        format!("{}_{}", self.created_at.millis(), self.request_id)
    }

    /// Parses [`Cursor::encode`]'s output, and nothing else (no sign, no leading zero, the
    /// request id hyphenated in lowercase), so that the API's document can say exactly which
    /// cursors exist.
    pub fn decode(s: &str) -> Option<Self> {
        let (ms, id) = s.split_once('_')?;
        let cursor = Self {
            created_at: Timestamp::from_millis(ms.parse().ok()?),
            request_id: id.parse().ok()?,
        };
        (cursor.encode() == s).then_some(cursor)
    }
}

/// A delivery-log query.
#[derive(Clone, Debug)]
pub struct DeliveryQuery {
    pub status: Option<DeliveryStatus>,
    pub limit: u32,
    pub after: Option<Cursor>,
}

/// One page of the delivery log.
#[derive(Clone, Debug)]
pub struct DeliveryPage {
    pub items: Vec<Delivery>,
    /// Where the next page starts, when there may be one.
    pub next: Option<Cursor>,
}

/// Which deliveries a replay queues again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplayScope {
    Failed,
    Succeeded,
    /// Every finished delivery, succeeded or failed (pending ones are already queued).
    All,
}

/// Queue depth by state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueueDepth {
    /// Every pending delivery.
    pub pending: u64,
    /// Pending and due now.
    pub due: u64,
    pub failed: u64,
    /// Due deliveries of rate-limited webhooks (waiting for the rate limit).
    pub rate_limited: u64,
    /// Pending deliveries of ordered webhooks behind the head of their line.
    pub in_line: u64,
}

/// The queue at one minute, for the operator's chart; also the bounded live counts of the
/// system page (each figure then stops at the cap it was counted to).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueueSample {
    /// Unix minutes.
    pub minute: i64,
    pub pending: u64,
    /// Pending and due at the time of the sample.
    pub due: u64,
    pub failed: u64,
}

/// A dashboard session (SPEC §13). The cookie holds a random id; the store keeps its hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UiSession {
    /// SHA-256 (hex) of the id in the cookie.
    pub id_hash: String,
    /// The app signed in to, or `None` for the admin.
    pub app: Option<AppId>,
    /// The CSRF token every form of this session carries.
    pub csrf_token: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

/// Upper bounds (ms) of the latency buckets of [`StatDelta`] and [`StatRow`]; a last bucket
/// holds everything slower.
pub const LATENCY_BOUNDS_MS: [u32; 9] = [10, 25, 50, 100, 250, 500, 1000, 2500, 5000];
/// Number of latency buckets.
pub const LATENCY_BUCKETS: usize = LATENCY_BOUNDS_MS.len() + 1;

/// Minutes per row of the statistics' roll-up (`delivery_stats_15m`): a quarter hour, the
/// width of one bar of a 24 h chart.
pub const STATS_QUARTER_MINUTES: i64 = 15;

/// The bucket of an attempt that took `ms`.
pub fn latency_bucket(ms: u32) -> usize {
    LATENCY_BOUNDS_MS
        .iter()
        .position(|bound| ms <= *bound)
        .unwrap_or(LATENCY_BOUNDS_MS.len())
}

/// Attempts of one webhook in one minute, to add to the statistics.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatDelta {
    pub webhook: WebhookId,
    /// Unix minutes.
    pub minute: i64,
    pub succeeded: u64,
    pub failed: u64,
    pub buckets: [u64; LATENCY_BUCKETS],
}

/// Attempts in one minute (of a webhook, or summed over an app's webhooks).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StatRow {
    /// Unix minutes.
    pub minute: i64,
    pub succeeded: u64,
    pub failed: u64,
    pub buckets: [u64; LATENCY_BUCKETS],
}
