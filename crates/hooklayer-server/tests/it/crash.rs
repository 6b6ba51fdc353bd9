//! Crash safety through the real binary: `kill -9` mid-delivery and SIGTERM during delivery.
//! Every published event must arrive at least once after a restart on the same database.

use crate::support::db::TestDb;
use crate::support::process::{duplicates, wait_all_arrived, ProcessEnv};
use crate::support::receiver::Behavior;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_arrives_after_kill_9_mid_delivery() {
    let db = TestDb::sqlite();
    let e = ProcessEnv::new(&db.url).await;
    let first = e.start().await;
    let (client, uuid, token) = e.prepare(&first).await;
    // A slow receiver keeps many attempts in flight when the process dies.
    e.receiver
        .set_default(Behavior::Sleep(Duration::from_millis(20)));
    let ids = client.publish(&uuid, &token, 2000, 100).await;
    e.receiver
        .wait_for_requests(300, Duration::from_secs(30))
        .await;
    first.kill9().await;
    let before_restart = crate::support::process::arrivals(&e.receiver.requests()).len();

    e.receiver.set_default(Behavior::EchoChallenge);
    let second = e.start().await;
    let seen = wait_all_arrived(&e.receiver, &ids, Duration::from_secs(90)).await;
    eprintln!(
        "kill -9: {before_restart} of 2000 events had arrived before the kill; after restart all arrived, {} duplicate deliveries",
        duplicates(&seen)
    );
    second.sigterm(Duration::from_secs(15)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_delivery_exits_zero_and_loses_nothing() {
    let db = TestDb::sqlite();
    let e = ProcessEnv::new(&db.url).await;
    let first = e.start().await;
    let (client, uuid, token) = e.prepare(&first).await;
    e.receiver
        .set_default(Behavior::Sleep(Duration::from_millis(300)));
    let ids = client.publish(&uuid, &token, 300, 100).await;
    e.receiver
        .wait_for_requests(20, Duration::from_secs(30))
        .await;
    let status = first.sigterm(Duration::from_secs(15)).await;
    assert!(status.success(), "exit status after SIGTERM: {status:?}");

    e.receiver.set_default(Behavior::EchoChallenge);
    let second = e.start().await;
    let seen = wait_all_arrived(&e.receiver, &ids, Duration::from_secs(60)).await;
    eprintln!(
        "SIGTERM: all 300 events arrived after restart, {} duplicates",
        duplicates(&seen)
    );
    second.sigterm(Duration::from_secs(15)).await;
}
