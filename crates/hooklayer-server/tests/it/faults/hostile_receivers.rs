//! Hostile receivers through the real binary: each misbehaving webhook's attempts end within
//! the delivery timeout, failed (or, for a 2xx followed by an endless body, succeeded once the
//! 64 KiB body cap is reached); the cap holds (a 1 GB `Content-Length` or an endless body
//! does not grow the process); a well-behaved webhook of the same app gets every event
//! meanwhile.

use crate::support::app::LAYER_ACCEPT;
use crate::support::db::TestDb;
use crate::support::hostile::{HostileReceiver, Hostility};
use crate::support::process::{wait_all_arrived, ProcessEnv};
use serde_json::Value;
use std::time::{Duration, Instant};

/// ProcessEnv's HOOKLAYER_DELIVERY_TIMEOUT.
const TIMEOUT_MS: u64 = 2_000;

/// The process's resident memory in MiB (Linux).
fn rss_mib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_receivers_are_cut_off_by_the_timeout_and_the_body_cap() {
    let db = TestDb::sqlite();
    let env = ProcessEnv::new(&db.url).await;
    let server = env.start().await;
    let (client, uuid, token) = env.prepare(&server).await;
    let http = crate::support::app::plain_http_client();

    let kinds = [
        Hostility::TrickledHeaders,
        Hostility::EndlessBody,
        Hostility::StalledHandshake,
        Hostility::ResetMidResponse,
        Hostility::HugeContentLength,
    ];
    let mut hostile = Vec::new();
    for kind in kinds {
        let receiver = HostileReceiver::start(env.ca(), kind).await;
        let hook = client.register(&uuid, &token, &receiver.url()).await;
        client.wait_for_status(&uuid, &token, &hook, "active").await;
        hostile.push((kind, receiver, crate::support::app::webhook_uuid(&hook)));
    }

    let ids = client.publish(&uuid, &token, 50, 25).await;
    let started = Instant::now();
    wait_all_arrived(&env.receiver, &ids, Duration::from_secs(30)).await;
    let good_done = started.elapsed();

    // Every hostile webhook has failed attempts, each ended by the timeout (or sooner).
    for (kind, receiver, webhook) in &hostile {
        let path = format!("{}/apps/{uuid}/webhooks/{webhook}/deliveries", server.base);
        let deadline = Instant::now() + Duration::from_secs(30);
        let attempts = loop {
            let page: Value = http
                .get(&path)
                .bearer_auth(&token)
                .header("accept", LAYER_ACCEPT)
                .send()
                .await
                .expect("delivery log")
                .json()
                .await
                .expect("page");
            let attempts: Vec<Value> = page["data"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|d| d["attempts"].as_array().cloned().unwrap_or_default())
                .collect();
            if !attempts.is_empty() {
                break attempts;
            }
            assert!(Instant::now() < deadline, "{kind:?}: no attempt recorded");
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        // A 2xx status is a success whatever follows: the body is read up to its 64 KiB cap
        // and the connection dropped (docs/API.md), so an endless body cannot hold an attempt.
        let may_succeed = matches!(kind, Hostility::EndlessBody | Hostility::HugeContentLength);
        for attempt in &attempts {
            let succeeded = attempt["status_code"] == 200 && attempt["error"].is_null();
            assert!(
                attempt["error"].is_string() || (may_succeed && succeeded),
                "{kind:?}: {attempt}"
            );
            let took = attempt["duration_ms"].as_u64().expect("duration");
            assert!(
                took <= TIMEOUT_MS + 1_500,
                "{kind:?}: an attempt lasted {took} ms"
            );
        }
        assert!(
            receiver
                .deliveries
                .load(std::sync::atomic::Ordering::SeqCst)
                > 0
        );
        eprintln!(
            "{kind:?}: {} attempts, the first: status {}, error {}, {} ms",
            attempts.len(),
            attempts[0]["status_code"],
            attempts[0]["error"],
            attempts[0]["duration_ms"]
        );
    }
    let pid = server.child.id().expect("running");
    let rss = rss_mib(pid);
    eprintln!("hostile receivers: the good webhook got all 50 events in {good_done:?}; server RSS {rss:?} MiB");
    assert!(rss.is_none_or(|mib| mib < 300), "RSS {rss:?} MiB");
    let status = server.try_sigterm(Duration::from_secs(10)).await;
    assert!(status.is_some_and(|s| s.success()), "exit: {status:?}");
}
