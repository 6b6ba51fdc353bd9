//! Publishers: closed-loop (N concurrent publishers, each sending as fast as the answers come,
//! for throughput) and open-loop (a fixed offered rate of single events, for latency).
//!
//! Bodies are built right before each request so `message.sent_at_ns` is the real send time.
//! Only ids of events that got a `202` are returned: those are the deliveries the scenario
//! expects to arrive.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::Result;
use serde::Serialize;
use tokio::sync::Semaphore;
use uuid::Uuid;

use crate::api::Api;
use crate::clock::{now_ns, secs_between};
use crate::events;

/// What a publishing phase achieved.
#[derive(Debug, Default, Serialize)]
pub struct Published {
    /// Events acknowledged with `202`.
    pub accepted: u64,
    /// Requests that failed (non-`202` or transport error); their events are not expected.
    pub failed_requests: u64,
    pub first_error: Option<String>,
    /// Accepted events per second over the phase.
    pub events_per_sec: f64,
    pub secs: f64,
    /// Open loop only: the worst delay between an event's scheduled and actual send time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_schedule_lag_ms: Option<f64>,
    /// Ids of accepted events.
    #[serde(skip)]
    pub ids: Vec<u128>,
    /// Clock ns of the first send.
    #[serde(skip)]
    pub started_ns: u64,
}

/// Failure bookkeeping shared by publisher tasks.
#[derive(Default)]
struct Errors {
    count: AtomicU64,
    first: Mutex<Option<String>>,
}

impl Errors {
    fn note(&self, err: &anyhow::Error) {
        self.count.fetch_add(1, Ordering::Relaxed);
        let mut first = self.first.lock().unwrap_or_else(PoisonError::into_inner);
        first.get_or_insert_with(|| format!("{err:#}"));
    }

    /// Read through a reference: an open-loop task may still hold its `Arc` for a moment after
    /// its answer was counted.
    fn parts(&self) -> (u64, Option<String>) {
        let first = self.first.lock().unwrap_or_else(PoisonError::into_inner);
        (self.count.load(Ordering::Relaxed), first.clone())
    }
}

fn finish(ids: Vec<u128>, errors: &Errors, started_ns: u64) -> Published {
    let secs = secs_between(started_ns, now_ns());
    let (failed_requests, first_error) = errors.parts();
    Published {
        accepted: ids.len() as u64,
        failed_requests,
        first_error,
        events_per_sec: if secs > 0.0 {
            ids.len() as f64 / secs
        } else {
            0.0
        },
        secs,
        max_schedule_lag_ms: None,
        ids,
        started_ns,
    }
}

/// Publishes `total` events, `batch` per request (1 = a single event object, not an array), from
/// `publishers` concurrent tasks; stops claiming new requests after `limit`.
pub async fn closed_loop(
    api: &Api,
    total: u64,
    batch: u64,
    publishers: usize,
    limit: Duration,
) -> Result<Published> {
    let deadline = Instant::now() + limit;
    let next = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(Errors::default());
    let started_ns = now_ns();
    let mut tasks = Vec::with_capacity(publishers);
    for _ in 0..publishers {
        let (api, next, errors) = (api.clone(), Arc::clone(&next), Arc::clone(&errors));
        tasks.push(tokio::spawn(async move {
            let mut accepted = Vec::new();
            loop {
                // Each task claims the next slice of the event sequence.
                let first = next.fetch_add(batch, Ordering::Relaxed);
                if first >= total || Instant::now() > deadline {
                    return accepted;
                }
                let n = batch.min(total - first);
                let ids: Vec<Uuid> = (0..n).map(|_| Uuid::new_v4()).collect();
                let body = if batch == 1 {
                    events::single(ids[0], first, now_ns())
                } else {
                    events::batch(&ids, first, now_ns())
                };
                match api.publish(body).await {
                    Ok(()) => accepted.extend(ids.iter().map(|id| id.as_u128())),
                    Err(err) => errors.note(&err),
                }
            }
        }));
    }
    let mut ids = Vec::with_capacity(total as usize);
    for task in tasks {
        ids.extend(task.await?);
    }
    Ok(finish(ids, &errors, started_ns))
}

/// Offers `rate` single events per second for `duration`, whatever the answers do (open loop),
/// with at most `max_outstanding` requests in flight.
pub async fn open_loop(
    api: &Api,
    rate: u64,
    duration: Duration,
    max_outstanding: usize,
) -> Result<Published> {
    let total = (rate as f64 * duration.as_secs_f64()).round() as u64;
    let ids = Arc::new(Mutex::new(Vec::with_capacity(total as usize)));
    let errors = Arc::new(Errors::default());
    let outstanding = Arc::new(Semaphore::new(max_outstanding));
    let started = Instant::now();
    let started_ns = now_ns();
    let mut max_lag = Duration::ZERO;
    let mut sent = 0u64;
    while sent < total {
        // Send everything due by now; sleep ~1 ms between rounds (tokio's timer granularity).
        let due = ((started.elapsed().as_secs_f64() * rate as f64) as u64 + 1).min(total);
        while sent < due {
            let permit = Arc::clone(&outstanding).acquire_owned().await?;
            let scheduled = Duration::from_secs_f64(sent as f64 / rate as f64);
            max_lag = max_lag.max(started.elapsed().saturating_sub(scheduled));
            let (api, ids, errors) = (api.clone(), Arc::clone(&ids), Arc::clone(&errors));
            let seq = sent;
            tokio::spawn(async move {
                let id = Uuid::new_v4();
                match api.publish(events::single(id, seq, now_ns())).await {
                    Ok(()) => ids
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .push(id.as_u128()),
                    Err(err) => errors.note(&err),
                }
                drop(permit);
            });
            sent += 1;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    // Every permit back = every request answered (each is bounded by the client timeout).
    let _all = outstanding.acquire_many(max_outstanding as u32).await?;
    let ids = std::mem::take(&mut *ids.lock().unwrap_or_else(PoisonError::into_inner));
    let mut published = finish(ids, &errors, started_ns);
    published.max_schedule_lag_ms = Some(max_lag.as_secs_f64() * 1e3);
    Ok(published)
}
