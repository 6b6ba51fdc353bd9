//! Scenario 1, raw capacity: the ceiling on this machine.
//!
//! The bench's own client sends what hooklayer would — bodies of the delivered size and shape,
//! the same nine delivery headers, HTTPS via rustls/ring to the same receiver — over
//! `concurrency` keep-alive HTTP/1.1 connections (hooklayer's per-webhook in-flight default),
//! and counts requests/s from the first send to the last arrival, exactly as the end-to-end runs
//! count deliveries. What it leaves out is what hooklayer adds: ingest, the durable queue,
//! signing.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, Result};
use http::{HeaderMap, HeaderValue};
use uuid::Uuid;

use super::Bench;
use crate::arrivals::Tracker;
use crate::clock::{now_ns, secs_between};
use crate::events;
use crate::receiver::RAW_HOOK;
use crate::report::{human, Figure};

/// Fewest requests of the raw run (it takes well under a second at that count).
const RAW_MIN: u64 = 10_000;

/// Delivery headers with values as long as hooklayer's (the receiver parses them all the same).
fn delivery_headers() -> HeaderMap {
    let id = "layer:///apps/7e1f8c1e-7a0b-4b6a-9a53-3d8f1f0e2a11/webhooks/0b7f6f8e-3c1d-4a9e-8f2b-5d6c7e8f9a0b";
    let request_id = "5f0c2b1a-9d8e-4f7a-b6c5-d4e3f2a1b0c9";
    let pairs = [
        (
            "content-type",
            "application/vnd.layer.webhooks+json; version=2.0",
        ),
        ("user-agent", "layer-webhooks/2.0"),
        ("layer-webhook-event-type", "message.sent"),
        ("layer-webhook-id", id),
        ("layer-webhook-request-id", request_id),
        (
            "layer-webhook-signature",
            "3f786850e387550fdab836ed7e6dc881de23001b",
        ),
        ("webhook-id", request_id),
        ("webhook-timestamp", "1796022000"),
        (
            "webhook-signature",
            "v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=",
        ),
    ];
    let mut headers = HeaderMap::new();
    for (name, value) in pairs {
        headers.insert(name, HeaderValue::from_static(value));
    }
    headers
}

pub async fn run(bench: &mut Bench) -> Result<()> {
    let settings = bench.settings.clone();
    let client = reqwest::Client::builder()
        .tls_backend_preconfigured(bench.tls_client.clone())
        .http1_only()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .context("building the raw-capacity client")?;
    let url = bench.receiver.raw_url();
    // At least RAW_MIN requests: fewer would mostly time the 16 TLS handshakes.
    let total = settings.events.max(RAW_MIN);
    let next = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let headers = delivery_headers();
    let body_bytes = events::delivered_like(Uuid::new_v4(), total, now_ns()).len();

    eprintln!(
        "  {total} requests over {} connections to {url}",
        settings.concurrency
    );
    let started_ns = now_ns();
    let mut tasks = Vec::new();
    for _ in 0..settings.concurrency {
        let (client, url, headers) = (client.clone(), url.clone(), headers.clone());
        let (next, errors) = (Arc::clone(&next), Arc::clone(&errors));
        tasks.push(tokio::spawn(async move {
            let mut sent = Vec::new();
            loop {
                let seq = next.fetch_add(1, Ordering::Relaxed);
                if seq >= total {
                    return sent;
                }
                let id = Uuid::new_v4();
                let body = events::delivered_like(id, seq, now_ns());
                let answer = client
                    .post(&url)
                    .headers(headers.clone())
                    .body(body)
                    .send()
                    .await;
                match answer {
                    Ok(response) if response.status().is_success() => {
                        let _ = response.bytes().await;
                        sent.push(id.as_u128());
                    }
                    _ => {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    let mut ids = Vec::with_capacity(total as usize);
    for task in tasks {
        ids.extend(task.await?);
    }

    let mut tracker = Tracker::new(&[RAW_HOOK]);
    tracker
        .wait_all(
            &bench.receiver,
            &ids,
            Duration::from_secs(10),
            Duration::from_secs(5),
        )
        .await;
    let outcome = tracker.outcome(&ids);
    let end_ns = outcome.last_at_ns.unwrap_or_else(now_ns);
    let secs = secs_between(started_ns, end_ns);
    let rps = if secs > 0.0 {
        outcome.delivered as f64 / secs
    } else {
        0.0
    };
    bench.raw_rps = Some(rps);

    bench.report.push(
        Figure::new("raw capacity", "-", "requests/s", rps, "/s").shown(format!(
            "{} /s ({} conns, {body_bytes} B bodies)",
            human(rps),
            settings.concurrency
        )),
    );
    bench.report.detail(
        "raw",
        "-",
        serde_json::json!({
            "requests_per_sec": rps,
            "requests": total,
            "succeeded": outcome.delivered,
            "errors": errors.load(Ordering::Relaxed),
            "malformed": bench.receiver.malformed(),
            "concurrency": settings.concurrency,
            "body_bytes": body_bytes,
            "secs": secs,
            "outcome": outcome,
        }),
    );
    eprintln!("  raw capacity: {} requests/s", human(rps));
    Ok(())
}
