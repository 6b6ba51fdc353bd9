//! Listener streams across processes (SPEC §14 with §10): on PostgreSQL, an API process that
//! stores events announces their ids (`NOTIFY hooklayer_listen`), and every process with a
//! stream open for that app reads them back and fans them out. App deletions travel the same
//! way, so streams close wherever they are. On SQLite every writer is this process and the
//! relay only waits.
//!
//! Announcement text: `<origin> e <app> <event id> …` or `<origin> d <app>`; a process
//! ignores its own (it delivered to its streams directly).
//!
//! Announcements are gathered for up to [`GATHER`] and sent as one statement, consecutive
//! events of one app merged into one message: at moderate load a publish would otherwise cost
//! PostgreSQL a statement and a transaction of its own, whether or not anyone listens.

use super::hub::ListenerHub;
use hooklayer_core::ids::{AppId, EventId};
use hooklayer_store::{Store, MAX_ANNOUNCEMENT};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Announcements waiting to be sent; beyond this they are dropped (best-effort streams must
/// never hold up a publish).
const OUTBOX: usize = 1024;

/// How long the relay waits for more announcements after the first before sending them
/// together: what a stream in another process may lag behind a publish, at most, for it.
const GATHER: Duration = Duration::from_millis(20);

/// The most announcements sent in one statement.
const BATCH: usize = 256;

/// What this process tells the others.
#[derive(Debug)]
pub enum Announcement {
    /// The app stored these events now.
    Events(AppId, Vec<EventId>),
    /// The app was deleted.
    AppDeleted(AppId),
}

/// The sending side, held by the hub's users.
pub struct Outbox {
    origin: String,
    tx: Option<mpsc::Sender<Announcement>>,
}

impl Outbox {
    /// An outbox for a store shared with other processes (`shared`), else one that drops
    /// everything. Returns the receiving end for [`run`].
    pub fn new(shared: bool) -> (Self, Option<mpsc::Receiver<Announcement>>) {
        let origin = uuid::Uuid::new_v4().simple().to_string();
        if !shared {
            return (Self { origin, tx: None }, None);
        }
        let (tx, rx) = mpsc::channel(OUTBOX);
        (
            Self {
                origin,
                tx: Some(tx),
            },
            Some(rx),
        )
    }

    /// This process's id in announcements.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Queues an announcement without waiting; dropped when the outbox is full.
    pub fn send(&self, announcement: Announcement) {
        if let Some(tx) = &self.tx {
            if tx.try_send(announcement).is_err() {
                tracing::warn!("listener announcements backed up; dropping one");
            }
        }
    }
}

/// Sends this process's announcements and applies the others' until `stop`.
pub async fn run(
    store: Arc<dyn Store>,
    hub: Arc<ListenerHub>,
    origin: String,
    mut outbox: mpsc::Receiver<Announcement>,
    stop: CancellationToken,
) {
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            Some(first) = outbox.recv() => {
                let mut batch = vec![first];
                gather_more(&mut outbox, &mut batch).await;
                let messages: Vec<String> = merge(batch)
                    .iter()
                    .flat_map(|announcement| encode(&origin, announcement))
                    .collect();
                if let Err(error) = store.announce(&messages).await {
                    tracing::warn!(%error, "announcing to other processes' listener streams failed");
                }
            }
            received = store.next_announcement() => match received {
                Ok(message) => apply(store.as_ref(), &hub, &origin, &message).await,
                Err(error) => {
                    tracing::warn!(%error, "receiving listener announcements failed; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            },
        }
    }
}

/// Adds what arrives within [`GATHER`] to `batch`, up to [`BATCH`]; returns at once when the
/// outbox closes.
async fn gather_more(outbox: &mut mpsc::Receiver<Announcement>, batch: &mut Vec<Announcement>) {
    let until = tokio::time::Instant::now() + GATHER;
    while batch.len() < BATCH {
        let room = BATCH - batch.len();
        match tokio::time::timeout_at(until, outbox.recv_many(batch, room)).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
}

/// Consecutive events of one app as one announcement, in their order (a deletion between two
/// keeps them apart, so a stream never sees an event announced after its app's deletion).
fn merge(batch: Vec<Announcement>) -> Vec<Announcement> {
    let mut merged: Vec<Announcement> = Vec::with_capacity(batch.len());
    for announcement in batch {
        match (merged.last_mut(), announcement) {
            (Some(Announcement::Events(last_app, ids)), Announcement::Events(app, more))
                if *last_app == app =>
            {
                ids.extend(more);
            }
            (_, announcement) => merged.push(announcement),
        }
    }
    merged
}

/// The announcement as messages under [`MAX_ANNOUNCEMENT`] bytes each.
fn encode(origin: &str, announcement: &Announcement) -> Vec<String> {
    match announcement {
        Announcement::AppDeleted(app) => vec![format!("{origin} d {app}")],
        Announcement::Events(app, ids) => {
            let head = format!("{origin} e {app}");
            // An id is 36 characters plus a space.
            let per_message = (MAX_ANNOUNCEMENT - head.len()) / 37;
            ids.chunks(per_message.max(1))
                .map(|chunk| {
                    let mut message = head.clone();
                    for id in chunk {
                        message.push(' ');
                        message.push_str(&id.to_string());
                    }
                    message
                })
                .collect()
        }
    }
}

/// Applies another process's announcement to this process's streams.
async fn apply(store: &dyn Store, hub: &ListenerHub, origin: &str, message: &str) {
    let mut words = message.split(' ');
    let (Some(from), Some(kind), Some(app)) = (words.next(), words.next(), words.next()) else {
        return;
    };
    let Ok(app) = app.parse::<AppId>() else {
        return;
    };
    if from == origin || !hub.is_listening(app) {
        return;
    }
    match kind {
        "d" => hub.close_app(app),
        "e" => {
            let ids: Vec<EventId> = words.filter_map(|w| w.parse().ok()).collect();
            match store.events_by_id(app, &ids).await {
                Ok(mut events) => {
                    // Fan out in the order the other process stored them.
                    events.sort_by_key(|e| ids.iter().position(|id| *id == e.id));
                    hub.deliver(app, &events);
                }
                Err(error) => tracing::warn!(%error, "reading announced events failed"),
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consecutive_events_of_one_app_are_merged_in_order() {
        let (a, b) = (AppId::new(), AppId::new());
        let ids: Vec<EventId> = (0..4).map(|_| EventId::new()).collect();
        let merged = merge(vec![
            Announcement::Events(a, vec![ids[0]]),
            Announcement::Events(a, vec![ids[1]]),
            Announcement::Events(b, vec![ids[2]]),
            Announcement::AppDeleted(b),
            Announcement::Events(a, vec![ids[3]]),
        ]);
        let shapes: Vec<String> = merged
            .iter()
            .map(|m| match m {
                Announcement::Events(app, ids) => format!("{app} {ids:?}"),
                Announcement::AppDeleted(app) => format!("{app} deleted"),
            })
            .collect();
        assert_eq!(
            shapes,
            vec![
                format!("{a} {:?}", vec![ids[0], ids[1]]),
                format!("{b} {:?}", vec![ids[2]]),
                format!("{b} deleted"),
                format!("{a} {:?}", vec![ids[3]]),
            ]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn announcements_within_the_gathering_window_are_sent_together() {
        let (tx, mut rx) = mpsc::channel(OUTBOX);
        let app = AppId::new();
        let sender = tokio::spawn(async move {
            for at in [5, 15, 30] {
                tokio::time::sleep_until(tokio::time::Instant::now() + Duration::from_millis(at))
                    .await;
                tx.send(Announcement::Events(app, vec![EventId::new()]))
                    .await
                    .expect("relay side open");
            }
        });
        let first = rx.recv().await.expect("first announcement");
        let mut batch = vec![first];
        gather_more(&mut rx, &mut batch).await;
        // Sent 5 ms and 20 ms after start: the second (15 ms after the first) joins it, the
        // third (30 ms after the second) is past the window.
        assert_eq!(batch.len(), 2);
        assert!(rx.recv().await.is_some());
        sender.await.expect("sender finished");
    }

    #[test]
    fn large_announcements_are_split_under_the_notification_limit() {
        let app = AppId::new();
        let ids: Vec<EventId> = (0..1000).map(|_| EventId::new()).collect();
        let messages = encode("origin", &Announcement::Events(app, ids.clone()));
        assert!(messages.len() > 1);
        assert!(messages.iter().all(|m| m.len() <= MAX_ANNOUNCEMENT));
        let carried: Vec<String> = messages
            .iter()
            .flat_map(|m| m.split(' ').skip(3).map(str::to_owned))
            .collect();
        assert_eq!(
            carried,
            ids.iter().map(|i| i.to_string()).collect::<Vec<_>>()
        );
    }
}
