//! PostgreSQL restarted under load (a private instance, so the shared server stays up):
//! publishes during the outage answer 503 with Retry-After, never 500; /readyz turns 503 and
//! back; the workers resume by themselves; every event accepted with a 202 is delivered; the
//! process never exits.

use crate::support::private_pg::PrivatePostgres;
use crate::support::process::{duplicates, wait_all_arrived, ProcessEnv};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long the database stays down.
const OUTAGE: Duration = Duration::from_secs(5);

/// What the publisher saw: accepted ids, and how many answers of each status.
#[derive(Default)]
struct Seen {
    accepted: Vec<String>,
    statuses: BTreeMap<u16, usize>,
    missing_retry_after: usize,
}

/// Notes one answer (`None`: no answer at all).
fn record(seen: &Mutex<Seen>, answer: Option<(u16, bool)>, id: String) {
    let mut seen = seen.lock().unwrap();
    let (status, retry_after) = answer.unwrap_or((0, false));
    *seen.statuses.entry(status).or_default() += 1;
    if status == 202 {
        seen.accepted.push(id);
    } else if status == 503 && !retry_after {
        seen.missing_retry_after += 1;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_restart_under_load_loses_nothing_and_answers_503_meanwhile() {
    let pg = match PrivatePostgres::start() {
        Ok(pg) => pg,
        Err(why) => {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("a private PostgreSQL is needed under CI=true: {why}");
            }
            eprintln!("SKIPPED: cannot start a private PostgreSQL: {why}");
            return;
        }
    };
    let env = ProcessEnv::new(&pg.url()).await;
    let mut server = env.start().await;
    let (client, uuid, token) = env.prepare(&server).await;
    drop(client);

    // One publisher, one event at a time, for the whole test.
    let seen = Arc::new(Mutex::new(Seen::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let publisher = {
        let (seen, stop) = (seen.clone(), stop.clone());
        let url = format!("{}/apps/{uuid}/events", server.base);
        let http = crate::support::app::plain_http_client();
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let id = uuid::Uuid::new_v4().to_string();
                let event = json!({"type": "message.sent", "message": {"id": "m"}, "id": id});
                let reply = http
                    .post(&url)
                    .bearer_auth(&token)
                    .json(&event)
                    .timeout(Duration::from_secs(30))
                    .send()
                    .await;
                let status = match reply {
                    Ok(r) => Some((r.status().as_u16(), r.headers().contains_key("retry-after"))),
                    Err(_) => None,
                };
                record(&seen, status, id);
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
    };
    let http = crate::support::app::plain_http_client();
    let readyz = |base: String| {
        let http = http.clone();
        async move {
            http.get(format!("{base}/readyz"))
                .send()
                .await
                .map(|r| r.status().as_u16())
                .unwrap_or(0)
        }
    };

    tokio::time::sleep(Duration::from_secs(1)).await;
    pg.stop().expect("stop PostgreSQL");
    let down_at = Instant::now();
    let mut readyz_down = false;
    while down_at.elapsed() < OUTAGE {
        readyz_down |= readyz(server.base.clone()).await == 503;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    pg.restart().expect("start PostgreSQL again");
    let deadline = Instant::now() + Duration::from_secs(30);
    while readyz(server.base.clone()).await != 200 {
        assert!(Instant::now() < deadline, "/readyz never came back to 200");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let back_after = down_at.elapsed();
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.store(true, Ordering::Relaxed);
    publisher.await.expect("publisher");

    assert!(
        server.child.try_wait().expect("process state").is_none(),
        "hooklayer exited during the outage"
    );
    let accepted = {
        let seen = seen.lock().unwrap();
        eprintln!(
            "PostgreSQL restart: answers {:?}; ready again {back_after:?} after the stop",
            seen.statuses
        );
        let unexpected: Vec<_> = seen
            .statuses
            .keys()
            .filter(|s| ![202, 503].contains(*s))
            .collect();
        assert!(
            unexpected.is_empty(),
            "answers other than 202/503: {:?}",
            seen.statuses
        );
        assert!(
            seen.statuses.get(&503).is_some_and(|n| *n > 0),
            "no 503 during the outage"
        );
        assert_eq!(seen.missing_retry_after, 0, "a 503 without Retry-After");
        seen.accepted.clone()
    };
    assert!(
        readyz_down,
        "/readyz never answered 503 while the database was down"
    );
    let arrived = wait_all_arrived(&env.receiver, &accepted, Duration::from_secs(90)).await;
    eprintln!(
        "PostgreSQL restart: all {} accepted events delivered, {} duplicates",
        accepted.len(),
        duplicates(&arrived)
    );
    let status = server.try_sigterm(Duration::from_secs(10)).await;
    assert!(
        status.is_some_and(|s| s.success()),
        "exit after SIGTERM: {status:?}"
    );
    server = env.start().await; // the database is usable from a fresh process too
    server.sigterm(Duration::from_secs(10)).await;
}
