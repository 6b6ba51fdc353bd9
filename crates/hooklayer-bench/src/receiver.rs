//! The HTTPS receiver hooklayer delivers to: hyper 1 HTTP/1.1 with keep-alive over tokio-rustls.
//!
//! Paths: `/hook/<n>` is webhook number `n` of the current scenario, `/raw` is the raw-capacity
//! client. A `GET` with `verification_challenge=` echoes the challenge (Layer's handshake); a
//! `POST` answers according to the path's [`Behaviour`]. Only accepted (`204`) deliveries are
//! recorded, as an [`Arrival`] stamped with [`crate::clock::now_ns`] once the body is read.
//! With [`Receiver::set_answer_delay`], every accepted delivery is answered only after a delay
//! drawn uniformly from a range (a slow real-world receiver); the arrival is still stamped when
//! the body was read, so latency figures measure hooklayer, not the delay.
//!
//! The per-request work is kept small on purpose — read the body, borrow-parse two fields, push
//! 40 bytes under a mutex — because the receiver shares the machine with hooklayer and its cost
//! counts against both the raw capacity and the end-to-end figures alike.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anyhow::{Context as _, Result};
use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

use crate::clock::now_ns;

/// The hook number recorded for requests of the raw-capacity client (`/raw`).
pub const RAW_HOOK: u32 = u32::MAX;
/// Hook numbers `0..MAX_HOOKS` can be given a behaviour; others always accept.
const MAX_HOOKS: usize = 64;
/// How long a [`Behaviour::Sleep`] path holds a delivery: past hooklayer's default 1 s timeout.
pub const SLEEP: Duration = Duration::from_millis(1500);

/// How a `/hook/<n>` path answers deliveries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Behaviour {
    /// `204`, and the arrival is recorded.
    Accept = 0,
    /// `500 Internal Server Error`, not recorded.
    Fail = 1,
    /// Sleeps [`SLEEP`] (hooklayer gives up first), then `204`, not recorded.
    Sleep = 2,
}

impl Behaviour {
    fn from_u8(value: u8) -> Self {
        match value {
            1 => Self::Fail,
            2 => Self::Sleep,
            _ => Self::Accept,
        }
    }
}

/// One accepted delivery.
#[derive(Clone, Copy, Debug)]
pub struct Arrival {
    pub hook: u32,
    /// The event id (`event.id` of the delivered body) as a u128.
    pub id: u128,
    /// `message.sent_at_ns` stamped by the publisher.
    pub sent_ns: u64,
    /// When the receiver had the whole body.
    pub at_ns: u64,
}

struct Shared {
    /// Per-path behaviour; atomics so the hot path takes no lock to read it.
    behaviours: [AtomicU8; MAX_HOOKS],
    /// Appended by every connection task, drained by the scenario's tracker. A plain mutex: the
    /// critical section is one `push`, far cheaper than the request around it.
    arrivals: Mutex<Vec<Arrival>>,
    /// Accepted POSTs whose body had no parsable `event.id` (should stay 0).
    malformed: AtomicU64,
    /// Answer delay of accepted deliveries: `min_ms << 32 | span_ms`; 0 = answer at once.
    answer_delay: AtomicU64,
}

/// A running receiver; dropping it stops it (listener closed, connections cut).
pub struct Receiver {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: CancellationToken,
    accept_task: Option<JoinHandle<()>>,
}

impl Receiver {
    /// Binds `127.0.0.1:0` and starts serving.
    pub async fn start(tls: Arc<rustls::ServerConfig>) -> Result<Self> {
        Self::start_at(tls, SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// Binds `addr` and starts serving: with the address of a receiver that was shut down,
    /// that receiver comes back (the same webhook URLs reach it).
    pub async fn start_at(tls: Arc<rustls::ServerConfig>, addr: SocketAddr) -> Result<Self> {
        let listener = TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding the receiver to {addr}"))?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            behaviours: std::array::from_fn(|_| AtomicU8::new(Behaviour::Accept as u8)),
            arrivals: Mutex::new(Vec::with_capacity(1 << 16)),
            malformed: AtomicU64::new(0),
            answer_delay: AtomicU64::new(0),
        });
        let stop = CancellationToken::new();
        let accept_task = tokio::spawn(accept_loop(
            listener,
            TlsAcceptor::from(tls),
            Arc::clone(&shared),
            stop.clone(),
        ));
        Ok(Self {
            addr,
            shared,
            stop,
            accept_task: Some(accept_task),
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The target URL of webhook number `hook` (a literal IP: no DNS on the hot path).
    pub fn hook_url(&self, hook: u32) -> String {
        format!("https://{}/hook/{hook}", self.addr)
    }

    /// The URL the raw-capacity client posts to.
    pub fn raw_url(&self) -> String {
        format!("https://{}/raw", self.addr)
    }

    pub fn set_behaviour(&self, hook: u32, behaviour: Behaviour) {
        if let Some(slot) = self.shared.behaviours.get(hook as usize) {
            slot.store(behaviour as u8, Ordering::Relaxed);
        }
    }

    /// Accepted deliveries are answered after a delay uniform in `min..=max` (`None`: at once).
    pub fn set_answer_delay(&self, range: Option<(Duration, Duration)>) {
        let packed = range.map_or(0, |(min, max)| {
            let min_ms = min.as_millis().min(u128::from(u32::MAX)) as u64;
            let max_ms = (max.as_millis() as u64).max(min_ms);
            (min_ms << 32) | (max_ms - min_ms).min(u64::from(u32::MAX))
        });
        self.shared.answer_delay.store(packed, Ordering::Relaxed);
    }

    /// Back to a clean slate between scenarios: every path accepts at once, nothing recorded.
    pub fn reset(&self) {
        self.set_answer_delay(None);
        for slot in &self.shared.behaviours {
            slot.store(Behaviour::Accept as u8, Ordering::Relaxed);
        }
        self.drain();
        self.shared.malformed.store(0, Ordering::Relaxed);
    }

    /// Takes every arrival recorded since the last drain.
    pub fn drain(&self) -> Vec<Arrival> {
        let mut guard = self
            .shared
            .arrivals
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        std::mem::take(&mut *guard)
    }

    /// Accepted POSTs whose body had no parsable event id.
    pub fn malformed(&self) -> u64 {
        self.shared.malformed.load(Ordering::Relaxed)
    }

    /// Stops accepting and cuts every open connection, so the port refuses connections from now
    /// on (the "receiver is down" of the backlog scenario).
    pub async fn shutdown(mut self) {
        self.stop.cancel();
        if let Some(task) = self.accept_task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

async fn accept_loop(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    shared: Arc<Shared>,
    stop: CancellationToken,
) {
    loop {
        let tcp = tokio::select! {
            () = stop.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok((tcp, _)) => tcp,
                // EMFILE and the like: back off briefly rather than spin.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
        };
        let _ = tcp.set_nodelay(true);
        let (acceptor, shared, stop) = (acceptor.clone(), Arc::clone(&shared), stop.clone());
        // One task per connection; every task also watches `stop` so shutdown really closes
        // kept-alive connections (otherwise a pooled connection would keep "up" a down receiver).
        tokio::spawn(async move {
            let tls = tokio::select! {
                () = stop.cancelled() => return,
                tls = acceptor.accept(tcp) => match tls {
                    Ok(tls) => tls,
                    Err(_) => return,
                },
            };
            let service = service_fn(move |req| handle(Arc::clone(&shared), req));
            let conn = http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(tls), service);
            tokio::select! {
                () = stop.cancelled() => {}
                _ = conn => {}
            }
        });
    }
}

fn respond(status: StatusCode, body: Bytes) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    response
}

async fn handle(
    shared: Arc<Shared>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let Some(hook) = hook_of(req.uri().path()) else {
        return Ok(respond(StatusCode::NOT_FOUND, Bytes::new()));
    };
    if req.method() == Method::GET {
        return Ok(match challenge(req.uri().query()) {
            Some(challenge) => {
                respond(StatusCode::OK, Bytes::copy_from_slice(challenge.as_bytes()))
            }
            None => respond(StatusCode::BAD_REQUEST, Bytes::new()),
        });
    }
    if req.method() != Method::POST {
        return Ok(respond(StatusCode::METHOD_NOT_ALLOWED, Bytes::new()));
    }
    let behaviour = shared
        .behaviours
        .get(hook as usize)
        .map_or(Behaviour::Accept, |b| {
            Behaviour::from_u8(b.load(Ordering::Relaxed))
        });
    let Ok(body) = req.into_body().collect().await else {
        return Ok(respond(StatusCode::BAD_REQUEST, Bytes::new()));
    };
    let at_ns = now_ns();
    Ok(match behaviour {
        Behaviour::Fail => respond(StatusCode::INTERNAL_SERVER_ERROR, Bytes::new()),
        Behaviour::Sleep => {
            tokio::time::sleep(SLEEP).await;
            respond(StatusCode::NO_CONTENT, Bytes::new())
        }
        Behaviour::Accept => {
            let id = record(&shared, hook, &body.to_bytes(), at_ns);
            let delay = answer_delay(shared.answer_delay.load(Ordering::Relaxed), hook, id);
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            respond(StatusCode::NO_CONTENT, Bytes::new())
        }
    })
}

/// The parts of a delivered body the bench needs; everything else is skipped by serde.
#[derive(Deserialize)]
struct Delivered<'a> {
    #[serde(borrow)]
    event: EventRef<'a>,
    message: MessageRef,
}

#[derive(Deserialize)]
struct EventRef<'a> {
    id: &'a str,
}

#[derive(Deserialize)]
struct MessageRef {
    #[serde(default)]
    sent_at_ns: u64,
}

/// The delay before answering delivery (`hook`, `id`) under the packed range `packed`: uniform
/// over the range because v4 event ids are random; no RNG state on the hot path.
fn answer_delay(packed: u64, hook: u32, id: Option<u128>) -> Duration {
    if packed == 0 {
        return Duration::ZERO;
    }
    let (min_ms, span_ms) = (packed >> 32, packed & u64::from(u32::MAX));
    // Mix the hook in so one event's deliveries to many webhooks get different delays.
    let mixed = (id.unwrap_or(0) as u64) ^ u64::from(hook).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    Duration::from_millis(min_ms + mixed.wrapping_mul(0xBF58_476D_1CE4_E5B9) % (span_ms + 1))
}

/// Records an accepted delivery; returns its event id (`None` when the body had none).
fn record(shared: &Shared, hook: u32, body: &[u8], at_ns: u64) -> Option<u128> {
    let parsed = serde_json::from_slice::<Delivered<'_>>(body)
        .ok()
        .and_then(|d| {
            Some((
                uuid::Uuid::parse_str(d.event.id).ok()?,
                d.message.sent_at_ns,
            ))
        });
    let Some((id, sent_ns)) = parsed else {
        shared.malformed.fetch_add(1, Ordering::Relaxed);
        return None;
    };
    let arrival = Arrival {
        hook,
        id: id.as_u128(),
        sent_ns,
        at_ns,
    };
    shared
        .arrivals
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(arrival);
    Some(id.as_u128())
}

/// `/hook/<n>` → `n`, `/raw` → [`RAW_HOOK`], anything else → `None`.
fn hook_of(path: &str) -> Option<u32> {
    if path == "/raw" {
        return Some(RAW_HOOK);
    }
    path.strip_prefix("/hook/")?.parse().ok()
}

/// The value of `verification_challenge` in a query string (hex, so no decoding needed).
fn challenge(query: Option<&str>) -> Option<&str> {
    query?
        .split('&')
        .find_map(|pair| pair.strip_prefix("verification_challenge="))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_map_to_hooks() {
        assert_eq!(hook_of("/hook/7"), Some(7));
        assert_eq!(hook_of("/raw"), Some(RAW_HOOK));
        assert_eq!(hook_of("/hook/x"), None);
        assert_eq!(hook_of("/"), None);
    }

    #[test]
    fn answer_delays_stay_in_range_and_spread_over_it() {
        let packed = (50 << 32) | 150;
        let delays: Vec<u128> = (0..1000u128)
            .map(|i| answer_delay(packed, (i % 7) as u32, Some(i * 0x1234_5678_9abc)).as_millis())
            .collect();
        assert!(delays.iter().all(|d| (50..=200).contains(d)));
        let below_125 = delays.iter().filter(|d| **d < 125).count();
        assert!(
            (350..650).contains(&below_125),
            "{below_125} of 1000 below the middle"
        );
        assert_eq!(answer_delay(0, 3, Some(42)), Duration::ZERO);
    }

    #[test]
    fn the_challenge_is_found_in_any_position() {
        assert_eq!(challenge(Some("verification_challenge=ab12")), Some("ab12"));
        assert_eq!(challenge(Some("a=1&verification_challenge=cd")), Some("cd"));
        assert_eq!(challenge(Some("a=1")), None);
        assert_eq!(challenge(None), None);
    }
}
