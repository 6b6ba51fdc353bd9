//! Group commit for the publish API. Concurrent publish requests hand their validated events
//! to one task, which commits whatever has queued up in a single transaction per app and
//! answers each request with its own share of the result.
//!
//! PERFORMANCE: a transaction costs a handful of round trips to the database whatever its
//! size, so under load many single-event requests share one; when idle a request is committed
//! alone at once (no timer, no added latency). Durability is unchanged: a request is answered
//! only after the transaction holding its events has committed.
//!
//! Each commit also claims what this process's delivery worker has room for of the new
//! deliveries and hands them over (`worker::handoff`); the worker's claim loop is woken only
//! for the rest.

use crate::worker::handoff::HandoffDoor;
use hooklayer_core::event::NewEvent;
use hooklayer_core::ids::AppId;
use hooklayer_core::time::Timestamp;
use hooklayer_store::{Handoff, IngestAnswer, Store, StoreError};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot, Notify};

/// Most requests folded into one commit.
const MAX_REQUESTS_PER_COMMIT: usize = 64;

type Reply = oneshot::Sender<Result<Vec<IngestAnswer>, Arc<StoreError>>>;

struct Job {
    app: AppId,
    events: Vec<NewEvent>,
    reply: Reply,
}

/// The handle the publish handler uses.
pub struct IngestQueue {
    jobs: mpsc::Sender<Job>,
}

/// Why a publish could not be committed.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error(transparent)]
    Store(#[from] Arc<StoreError>),
    #[error("the ingest task stopped")]
    Stopped,
}

impl IngestError {
    /// Whether the app no longer exists (its events have no app to belong to).
    pub fn app_is_gone(&self) -> bool {
        matches!(self, IngestError::Store(cause) if cause.is_foreign_key_violation())
    }
}

impl IngestQueue {
    /// Starts the committing task; it ends when the queue is dropped. `wake` is the delivery
    /// worker's: notified when a commit queued deliveries the worker did not take.
    pub fn start(store: Arc<dyn Store>, door: Arc<HandoffDoor>, wake: Arc<Notify>) -> Self {
        let (jobs, rx) = mpsc::channel(1024);
        let committer = Committer { store, door, wake };
        tokio::spawn(run(committer, rx));
        Self { jobs }
    }

    /// Stores `events` for `app` (with their deliveries) and returns one answer per event, in
    /// order, once they are committed.
    pub async fn ingest(
        &self,
        app: AppId,
        events: Vec<NewEvent>,
    ) -> Result<Vec<IngestAnswer>, IngestError> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job { app, events, reply })
            .await
            .map_err(|_| IngestError::Stopped)?;
        Ok(answer.await.map_err(|_| IngestError::Stopped)??)
    }
}

/// What the committing task works with.
struct Committer {
    store: Arc<dyn Store>,
    door: Arc<HandoffDoor>,
    wake: Arc<Notify>,
}

async fn run(committer: Committer, mut rx: mpsc::Receiver<Job>) {
    let mut jobs = Vec::with_capacity(MAX_REQUESTS_PER_COMMIT);
    while rx.recv_many(&mut jobs, MAX_REQUESTS_PER_COMMIT).await > 0 {
        // One commit per app, in order of first appearance.
        while !jobs.is_empty() {
            let app = jobs[0].app;
            let (mine, rest): (Vec<Job>, Vec<Job>) = jobs.drain(..).partition(|j| j.app == app);
            jobs = rest;
            committer.commit(app, mine).await;
        }
    }
}

impl Committer {
    async fn commit(&self, app: AppId, jobs: Vec<Job>) {
        let events: Vec<NewEvent> = jobs.iter().flat_map(|j| j.events.iter().cloned()).collect();
        let taker = self.door.offer();
        let none = Handoff::none();
        let handoff = taker.as_ref().map_or(&none, |t| t.handoff());
        let result = self
            .store
            .ingest_handing_off(app, &events, Timestamp::now(), handoff)
            .await;
        match result {
            Ok(ingested) => {
                let queued: u64 = ingested
                    .answers
                    .iter()
                    .filter(|a| a.stored_now)
                    .map(|a| u64::from(a.deliveries))
                    .sum();
                let handed = ingested.claimed.len() as u64;
                if let Some(taker) = taker {
                    taker.take(ingested.claimed);
                }
                if queued > handed {
                    self.wake.notify_one();
                }
                let mut answers = ingested.answers.into_iter();
                for job in jobs {
                    let share: Vec<IngestAnswer> =
                        answers.by_ref().take(job.events.len()).collect();
                    // A requester that went away (client disconnect) no longer needs its answer.
                    let _ = job.reply.send(Ok(share));
                }
            }
            Err(e) => {
                let e = Arc::new(e);
                for job in jobs {
                    let _ = job.reply.send(Err(e.clone()));
                }
            }
        }
    }
}
