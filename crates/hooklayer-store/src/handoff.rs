//! Claiming at ingest: the deliveries an ingest queues can be claimed for a worker of the
//! publishing process in the same transaction, so they need no claim statement (and, on SQLite,
//! no claim commit and fsync) before their first attempt.
//!
//! A handed-off delivery is stored exactly as a claimed one: `next_attempt_at` is its lease end.
//! If the process dies before recording its outcome, the lease runs out and any worker claims it
//! again, as for a claim of [`crate::Store::claim_due`]. Only webhooks with default delivery
//! settings qualify: a shaped webhook's rate, cap and order are worked out under its row's lock
//! by [`crate::Store::claim_shaped`].

use crate::model::{ClaimedDelivery, IngestAnswer};
use crate::rows::{parse, subscribes, version, StoredRow};
use crate::StoreError;
use hooklayer_core::event::NewEvent;
use hooklayer_core::ids::{AppId, RequestId, WebhookId};
use hooklayer_core::time::Timestamp;
use hooklayer_core::webhook::Secret;
use std::collections::{HashMap, HashSet};

/// What a worker of the publishing process can take of one ingest's new deliveries.
#[derive(Clone, Debug)]
pub struct Handoff {
    /// The lease of every delivery taken.
    pub lease_until: Timestamp,
    /// Most deliveries taken in all (0: none, a plain ingest).
    pub limit: u32,
    /// Most deliveries taken of one webhook.
    pub per_webhook: u32,
    /// Webhooks the worker is saturated on: none of theirs is taken.
    pub skip_webhooks: Vec<WebhookId>,
}

impl Handoff {
    /// Takes nothing: the ingest queues every delivery due now.
    pub fn none() -> Self {
        Self {
            lease_until: Timestamp::from_millis(0),
            limit: 0,
            per_webhook: 0,
            skip_webhooks: Vec::new(),
        }
    }
}

/// What an ingest stored: one answer per input event, in order, and the deliveries it claimed
/// for the caller's worker (each to be attempted, or left to run out its lease).
#[derive(Clone, Debug, Default)]
pub struct Ingested {
    pub answers: Vec<IngestAnswer>,
    pub claimed: Vec<ClaimedDelivery>,
}

/// The columns of `webhooks` an ingest reads: its fan-out and shaping, and what a handed-off
/// attempt needs.
pub(crate) const INGEST_WEBHOOK_COLUMNS: &str = "id, events, shaped, config, target_url, version,
     secret, previous_secret, previous_secret_until, max_in_flight";

/// An active webhook of the app, as an ingest read it.
pub(crate) struct IngestHook {
    pub id: String,
    pub events: String,
    pub shaped: bool,
    config: String,
    target_url: String,
    version: String,
    secret: String,
    previous_secret: Option<String>,
    previous_secret_until: Option<i64>,
    max_in_flight: Option<i64>,
}

impl IngestHook {
    /// Reads a row selected with [`INGEST_WEBHOOK_COLUMNS`].
    pub fn read(r: &impl StoredRow) -> Result<Self, StoreError> {
        Ok(Self {
            id: r.text("id")?,
            events: r.text("events")?,
            shaped: r.int("shaped")? != 0,
            config: r.text("config")?,
            target_url: r.text("target_url")?,
            version: r.text("version")?,
            secret: r.text("secret")?,
            previous_secret: r.opt_text("previous_secret")?,
            previous_secret_until: r.opt_int("previous_secret_until")?,
            max_in_flight: r.opt_int("max_in_flight")?,
        })
    }

    /// Whether the webhook gets a delivery of `event`.
    pub fn subscribes(&self, event: &NewEvent) -> bool {
        subscribes(&self.events, event.event_type)
    }
}

/// Gives each delivery an ingest queues its request id and due time, and picks, delivery by
/// delivery in queueing order, the ones handed off.
pub(crate) struct HandoffPicker<'a> {
    handoff: &'a Handoff,
    app: AppId,
    now: Timestamp,
    per_webhook: HashMap<&'a str, u32>,
    skip: HashSet<String>,
    claimed: Vec<ClaimedDelivery>,
}

impl<'a> HandoffPicker<'a> {
    pub fn new(handoff: &'a Handoff, app: AppId, now: Timestamp) -> Self {
        Self {
            handoff,
            app,
            now,
            per_webhook: HashMap::new(),
            skip: handoff
                .skip_webhooks
                .iter()
                .map(|w| w.to_string())
                .collect(),
            claimed: Vec::new(),
        }
    }

    /// The next delivery, of `event` to `hook`: its request id, and when it is due — its
    /// lease end if it is handed off, else now.
    pub fn queue(
        &mut self,
        event: &NewEvent,
        hook: &'a IngestHook,
    ) -> Result<(RequestId, Timestamp), StoreError> {
        let request_id = RequestId::new();
        if !self.takes(hook) {
            return Ok((request_id, self.now));
        }
        let lease_until = self.handoff.lease_until;
        self.claimed.push(claimed_at_ingest(
            self.app,
            hook,
            event,
            request_id,
            lease_until,
        )?);
        Ok((request_id, lease_until))
    }

    /// Whether the next delivery to `hook` is handed off (and counts it if so).
    fn takes(&mut self, hook: &'a IngestHook) -> bool {
        let h = self.handoff;
        if self.claimed.len() >= h.limit as usize || hook.shaped || self.skip.contains(&hook.id) {
            return false;
        }
        let mine = self.per_webhook.entry(hook.id.as_str()).or_insert(0);
        if *mine >= h.per_webhook {
            return false;
        }
        *mine += 1;
        true
    }

    /// The deliveries handed off, in queueing order.
    pub fn into_claimed(self) -> Vec<ClaimedDelivery> {
        self.claimed
    }
}

/// A handed-off delivery, built from what the ingest already holds (no read-back).
fn claimed_at_ingest(
    app: AppId,
    hook: &IngestHook,
    event: &NewEvent,
    request_id: RequestId,
    lease_until: Timestamp,
) -> Result<ClaimedDelivery, StoreError> {
    Ok(ClaimedDelivery {
        request_id,
        app,
        webhook: parse(&hook.id, "webhooks.id")?,
        event_id: event.id,
        event_type: event.event_type,
        event_created_at: event.created_at,
        attempts_made: 0,
        lease_until,
        payload_prefix: event.payload_prefix.clone(),
        config_json: hook.config.clone(),
        target_url: hook.target_url.clone(),
        version: version(&hook.version)?,
        secret: Secret::from_stored(hook.secret.clone()),
        // As in `rows::claimed`: past its window a previous secret no longer signs.
        previous_secret: match hook.previous_secret_until {
            Some(until) if until > Timestamp::now().millis() => {
                hook.previous_secret.clone().map(Secret::from_stored)
            }
            _ => None,
        },
        max_in_flight: hook
            .max_in_flight
            .map(|n| u32::try_from(n).unwrap_or_default()),
        shaped: false,
    })
}
