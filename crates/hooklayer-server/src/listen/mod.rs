//! Listener streams (SPEC §14): `GET /apps/:app_uuid/listen` on the server and `hooklayer
//! listen` on the developer's machine.
//!
//! The data path: a publish that stored events hands them to [`Listeners::published`] after
//! its commit. Streams of this process get them at once through the [`hub`]; with
//! PostgreSQL the ids are also announced to the other processes ([`relay`]), which read the
//! events back and fan them out to their own streams. Nothing is written to the delivery
//! queue or log: a stream is best-effort, not stored, not retried.
//!
//! - [`hub`]: the open streams of this process and the fan-out.
//! - [`route`]: the server-sent events route.
//! - [`relay`]: announcements between processes.
//! - [`cli`]: the `hooklayer listen` command.

pub mod cli;
pub mod hub;
pub mod relay;
pub mod route;

use hooklayer_core::event::NewEvent;
use hooklayer_core::ids::AppId;
use hooklayer_store::IngestAnswer;
use hub::ListenerHub;
use relay::{Announcement, Outbox};
use std::sync::Arc;
use tokio::sync::mpsc;

/// The listener streams of this process and its link to the other processes.
pub struct Listeners {
    pub hub: Arc<ListenerHub>,
    outbox: Outbox,
    /// The relay's end of the outbox, taken by [`Listeners::take_relay`] when the process
    /// starts serving.
    relay: std::sync::Mutex<Option<mpsc::Receiver<Announcement>>>,
}

impl Listeners {
    /// `shared`: other processes may serve streams of the same apps (PostgreSQL).
    pub fn new(shared: bool) -> Self {
        let (outbox, relay) = Outbox::new(shared);
        Self {
            hub: Arc::new(ListenerHub::default()),
            outbox,
            relay: std::sync::Mutex::new(relay),
        }
    }

    /// Whether a publish to `app` should keep a copy of its events for this process's
    /// streams.
    pub fn is_listening(&self, app: AppId) -> bool {
        self.hub.is_listening(app)
    }

    /// After a publish committed: fans the events stored now out to the streams here and
    /// announces them to the other processes. `events` is the publish's copy, kept only when
    /// [`Listeners::is_listening`] said so.
    pub fn published(&self, app: AppId, answers: &[IngestAnswer], events: Option<Vec<NewEvent>>) {
        let stored = hub::stored_now(answers);
        if stored.is_empty() {
            return;
        }
        if let Some(events) = events {
            let ids: std::collections::HashSet<_> = stored.iter().copied().collect();
            let fresh: Vec<NewEvent> = events.into_iter().filter(|e| ids.contains(&e.id)).collect();
            self.hub.deliver(app, &fresh);
        }
        self.outbox.send(Announcement::Events(app, stored));
    }

    /// After an app was deleted: closes its streams here and in the other processes.
    pub fn app_deleted(&self, app: AppId) {
        self.hub.close_app(app);
        self.outbox.send(Announcement::AppDeleted(app));
    }

    /// The relay's inputs: this process's id in announcements and its outbox (once; `None`
    /// when the store is not shared).
    pub fn take_relay(&self) -> Option<(String, mpsc::Receiver<Announcement>)> {
        let rx = self
            .relay
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()?;
        Some((self.outbox.origin().to_owned(), rx))
    }
}
