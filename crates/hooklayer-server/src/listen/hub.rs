//! The listener streams of this process, by app, and the fan-out to them.
//!
//! A stream is a temporary webhook of its app (SPEC §14): matched against each event stored
//! now, at fan-out time, without touching the durable queue. Frames go into a bounded
//! channel per stream with `try_send`: a publish never waits for a listener, and a stream
//! whose channel is full (a listener slower than the app publishes) is closed rather than
//! buffered without bound.

use crate::worker::attempt::delivery_headers;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use hooklayer_core::event::{render_body, NewEvent};
use hooklayer_core::event_type::EventType;
use hooklayer_core::ids::{AppId, EventId, RequestId, WebhookId};
use hooklayer_core::time::Timestamp;
use hooklayer_core::webhook::{Secret, WebhookVersion};
use hooklayer_store::ClaimedDelivery;
use rand::RngCore;
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

/// Most open streams per app (SPEC §14); the next one is refused with `429`.
pub const MAX_STREAMS_PER_APP: usize = 10;

/// Frames a stream may have waiting before it is closed as too slow.
const STREAM_BUFFER: usize = 128;

/// One open stream.
struct Listener {
    id: u64,
    /// The stream's webhook id, as in `layer-webhook-id`.
    webhook: WebhookId,
    secret: Secret,
    /// `None`: every event type.
    types: Option<HashSet<EventType>>,
    frames: mpsc::Sender<String>,
}

/// Why a stream could not open.
#[derive(Debug, PartialEq, Eq)]
pub enum OpenError {
    /// The app already has [`MAX_STREAMS_PER_APP`] streams.
    TooMany,
    /// The process is shutting down.
    Closed,
}

/// The streams of this process.
#[derive(Default)]
pub struct ListenerHub {
    // CONCURRENCY: short critical sections (a map lookup, a `try_send` per stream); never held
    // across an await, so a publish never waits on a stream.
    apps: Mutex<HashMap<AppId, Vec<Listener>>>,
    /// Set at shutdown: open streams are closed and no new one opens.
    closed: std::sync::atomic::AtomicBool,
    next_id: std::sync::atomic::AtomicU64,
}

/// An open stream: its secret and frames. Dropping it (the client went away) removes the
/// stream from the hub.
pub struct Subscription {
    hub: Arc<ListenerHub>,
    app: AppId,
    id: u64,
    /// The stream's signing secret, sent once as its first event.
    pub secret: String,
    /// `{"headers": {…}, "body": "…"}` per delivery; ends when the server closes the stream.
    pub frames: mpsc::Receiver<String>,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.hub.remove(self.app, |l| l.id == self.id);
    }
}

/// A new stream secret: `whsec_` and 32 random bytes in base64, so Standard Webhooks
/// libraries take it as is.
fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("whsec_{}", BASE64.encode(bytes))
}

impl ListenerHub {
    /// Opens a stream for `app`, for the given event types (`None`: all).
    pub fn open(
        self: &Arc<Self>,
        app: AppId,
        types: Option<HashSet<EventType>>,
    ) -> Result<Subscription, OpenError> {
        let (tx, rx) = mpsc::channel(STREAM_BUFFER);
        let secret = new_secret();
        let id = self
            .next_id
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        {
            let mut apps = self.lock();
            if self.closed.load(std::sync::atomic::Ordering::SeqCst) {
                return Err(OpenError::Closed);
            }
            let streams = apps.entry(app).or_default();
            if streams.len() >= MAX_STREAMS_PER_APP {
                return Err(OpenError::TooMany);
            }
            streams.push(Listener {
                id,
                webhook: WebhookId::new(),
                secret: Secret::from_stored(secret.clone()),
                types,
                frames: tx,
            });
        }
        Ok(Subscription {
            hub: self.clone(),
            app,
            id,
            secret,
            frames: rx,
        })
    }

    /// Whether `app` has a stream open in this process (cheap: decides whether a publish
    /// keeps a copy of its events for fan-out).
    pub fn is_listening(&self, app: AppId) -> bool {
        self.lock().contains_key(&app)
    }

    /// Sends each event to every matching stream of `app`. Events are sent once per id, in
    /// order.
    pub fn deliver(&self, app: AppId, events: &[NewEvent]) {
        let mut seen = HashSet::with_capacity(events.len());
        let events: Vec<&NewEvent> = events.iter().filter(|e| seen.insert(e.id)).collect();
        let now = Timestamp::now();
        let mut apps = self.lock();
        let Some(streams) = apps.get_mut(&app) else {
            return;
        };
        // A stream whose buffer is full or whose client left is dropped here; dropping its
        // sender ends its response.
        streams.retain(|listener| {
            events
                .iter()
                .filter(|e| {
                    listener
                        .types
                        .as_ref()
                        .is_none_or(|t| t.contains(&e.event_type))
                })
                .all(
                    |e| match listener.frames.try_send(frame(app, listener, e, now)) {
                        Ok(()) => true,
                        Err(mpsc::error::TrySendError::Full(_)) => {
                            tracing::warn!(app.id = %app, "listener stream too slow; closing it");
                            false
                        }
                        Err(mpsc::error::TrySendError::Closed(_)) => false,
                    },
                )
        });
        if streams.is_empty() {
            apps.remove(&app);
        }
    }

    /// Closes every stream of `app` (the app was deleted).
    pub fn close_app(&self, app: AppId) {
        self.lock().remove(&app);
    }

    /// Closes every stream and refuses new ones (shutdown).
    pub fn close_all(&self) {
        self.closed.store(true, std::sync::atomic::Ordering::SeqCst);
        self.lock().clear();
    }

    fn remove(&self, app: AppId, which: impl Fn(&Listener) -> bool) {
        let mut apps = self.lock();
        if let Some(streams) = apps.get_mut(&app) {
            streams.retain(|l| !which(l));
            if streams.is_empty() {
                apps.remove(&app);
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<AppId, Vec<Listener>>> {
        self.apps.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The ids of the events a publish stored now, each once.
pub fn stored_now(answers: &[hooklayer_store::IngestAnswer]) -> Vec<EventId> {
    let mut seen = HashSet::with_capacity(answers.len());
    answers
        .iter()
        .filter(|a| a.stored_now && seen.insert(a.id))
        .map(|a| a.id)
        .collect()
}

/// One delivery frame: the nine headers of SPEC §6, signed with the stream's secret exactly
/// as a delivery to a webhook is, and the exact body.
fn frame(app: AppId, listener: &Listener, event: &NewEvent, now: Timestamp) -> String {
    let delivery = ClaimedDelivery {
        request_id: RequestId::new(),
        app,
        webhook: listener.webhook,
        event_id: event.id,
        event_type: event.event_type,
        event_created_at: event.created_at,
        attempts_made: 0,
        lease_until: now,
        payload_prefix: String::new(),
        config_json: String::new(),
        target_url: String::new(),
        version: WebhookVersion::V2,
        secret: listener.secret.clone(),
        previous_secret: None,
        max_in_flight: None,
        shaped: false,
    };
    let body = render_body(&event.payload_prefix, "");
    let headers: Map<String, Value> = delivery_headers(&delivery, body.as_bytes(), now)
        .iter()
        .filter_map(|(name, value)| {
            let value = value.to_str().ok()?;
            Some((name.as_str().to_owned(), Value::String(value.to_owned())))
        })
        .collect();
    let mut frame = Map::with_capacity(2);
    frame.insert("headers".into(), Value::Object(headers));
    frame.insert("body".into(), Value::String(body));
    Value::Object(frame).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use hooklayer_core::time::Timestamp;

    fn event(event_type: EventType) -> NewEvent {
        NewEvent {
            id: EventId::new(),
            event_type,
            created_at: Timestamp::from_millis(0),
            payload_prefix: r#"{"event":{},"message":{"id":"m"}"#.to_owned(),
        }
    }

    #[test]
    fn a_stream_gets_only_its_types_and_each_event_once() {
        let hub = Arc::new(ListenerHub::default());
        let app = AppId::new();
        let mut only_sent = hub
            .open(app, Some(HashSet::from([EventType::MessageSent])))
            .unwrap();
        let sent = event(EventType::MessageSent);
        hub.deliver(
            app,
            &[event(EventType::MessageRead), sent.clone(), sent.clone()],
        );
        let frame: Value = serde_json::from_str(&only_sent.frames.try_recv().unwrap()).unwrap();
        assert_eq!(frame["headers"]["layer-webhook-event-type"], "message.sent");
        assert_eq!(frame["body"], r#"{"event":{},"message":{"id":"m"}}"#);
        assert!(only_sent.frames.try_recv().is_err());
    }

    #[test]
    fn a_stream_that_falls_behind_is_closed_and_the_others_go_on() {
        let hub = Arc::new(ListenerHub::default());
        let app = AppId::new();
        let mut slow = hub.open(app, None).unwrap();
        let mut fast = hub.open(app, None).unwrap();
        for _ in 0..STREAM_BUFFER {
            hub.deliver(app, &[event(EventType::MessageSent)]);
            assert!(fast.frames.try_recv().is_ok());
        }
        hub.deliver(app, &[event(EventType::MessageSent)]);

        // The slow stream keeps what it had buffered, then ends; the fast one still receives.
        for _ in 0..STREAM_BUFFER {
            assert!(slow.frames.try_recv().is_ok());
        }
        assert_eq!(
            slow.frames.try_recv(),
            Err(mpsc::error::TryRecvError::Disconnected)
        );
        assert!(fast.frames.try_recv().is_ok());
    }

    #[test]
    fn an_app_has_at_most_ten_streams_and_a_closed_hub_opens_none() {
        let hub = Arc::new(ListenerHub::default());
        let app = AppId::new();
        let open: Vec<Subscription> = (0..MAX_STREAMS_PER_APP)
            .map(|_| hub.open(app, None).unwrap())
            .collect();
        assert_eq!(hub.open(app, None).err(), Some(OpenError::TooMany));
        drop(open);
        assert!(!hub.is_listening(app), "dropped streams leave the hub");
        let mut kept = hub.open(app, None).unwrap();
        hub.close_all();
        assert_eq!(
            kept.frames.try_recv(),
            Err(mpsc::error::TryRecvError::Disconnected)
        );
        assert_eq!(hub.open(app, None).err(), Some(OpenError::Closed));
    }
}
