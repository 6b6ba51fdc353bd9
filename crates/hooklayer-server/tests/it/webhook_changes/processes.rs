//! Delivery settings across processes (SPEC §12) through the real binary: two `worker`
//! processes and one `api` process on one PostgreSQL database keep a rate limit, an in-flight
//! cap and an order together, including when one worker is killed; and an ordered webhook
//! keeps its order through `kill -9` and a restart on SQLite.

use super::message_id;
use super::ordered::{assert_in_order, publish_200, script_failures, FAIL_AT};
use super::shaping::{assert_rate_bound, batch};
use crate::support::app::{registration, ADMIN_TOKEN};
use crate::support::db::{Backend, TestDb};
use crate::support::process::{arrivals, duplicates, ProcessClient, ServerProcess};
use crate::support::receiver::{Behavior, RecordedRequest, TestCa, TestReceiver};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// Processes on one database and a receiver they deliver to.
struct Processes {
    receiver: TestReceiver,
    client: ProcessClient,
    uuid: String,
    token: String,
    api: ServerProcess,
    workers: Vec<ServerProcess>,
    vars: Vec<(&'static str, String)>,
    dir: tempfile::TempDir,
    _ca: TestCa,
}

impl Processes {
    /// One `all` process (`workers == 0`) or one `api` plus `workers` worker processes.
    async fn start(database_url: String, workers: usize) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let ca = TestCa::new();
        let ca_path = dir.path().join("ca.pem");
        std::fs::write(&ca_path, ca.ca_pem()).unwrap();
        let vars = vec![
            ("HOOKLAYER_DATABASE_URL", database_url),
            ("HOOKLAYER_ADMIN_TOKEN", ADMIN_TOKEN.to_owned()),
            ("HOOKLAYER_TRUSTED_CA", ca_path.display().to_string()),
            ("HOOKLAYER_ALLOW_TARGETS", "127.0.0.0/8".to_owned()),
            ("HOOKLAYER_DELIVERY_TIMEOUT", "2s".to_owned()),
            (
                "HOOKLAYER_RETRY_SCHEDULE",
                "50ms,100ms,200ms,400ms".to_owned(),
            ),
            // Short leases so the claims of a killed process come back quickly.
            ("HOOKLAYER_LEASE", "4s".to_owned()),
            ("HOOKLAYER_RATE_LIMIT", "0".to_owned()),
            ("HOOKLAYER_LOG", "warn".to_owned()),
        ];
        let receiver = TestReceiver::start(&ca).await;
        let log = dir.path().join("hooklayer.log");
        let role = |role: &str| {
            let mut v = vars.clone();
            v.push(("HOOKLAYER_ROLE", role.to_owned()));
            v
        };
        let api = ServerProcess::start(&role(if workers == 0 { "all" } else { "api" }), &log).await;
        let mut started = Vec::new();
        for _ in 0..workers {
            started.push(ServerProcess::start(&role("worker"), &log).await);
        }
        let client = ProcessClient::new(&api.base);
        let (uuid, token) = client.create_app("shaped").await;
        Self {
            receiver,
            client,
            uuid,
            token,
            api,
            workers: started,
            vars,
            dir,
            _ca: ca,
        }
    }

    /// Registers an active webhook on `path` with these delivery settings.
    async fn webhook(&self, path: &str, delivery: Option<Value>) -> Value {
        let mut body = registration(&self.receiver.url(path), &["message.sent"]);
        if let Some(d) = delivery {
            body["delivery"] = d;
        }
        let hook = self
            .client
            .register_body(&self.uuid, &self.token, &body)
            .await;
        self.client
            .wait_for_status(&self.uuid, &self.token, &hook, "active")
            .await;
        hook
    }

    async fn publish(&self, body: Value) {
        self.client
            .publish_body(&self.uuid, &self.token, &body)
            .await;
    }

    async fn stop(self) {
        for w in self.workers {
            w.sigterm(Duration::from_secs(15)).await;
        }
        self.api.sigterm(Duration::from_secs(15)).await;
    }
}

fn posts_to<'a>(all: &'a [RecordedRequest], path: &str) -> Vec<&'a RecordedRequest> {
    all.iter()
        .filter(|r| r.method == "POST" && r.path_and_query == path)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_keep_one_rate_limit_and_one_in_flight_cap() {
    let Some(db) = TestDb::new(Backend::Postgres).await else {
        return;
    };
    let p = Processes::start(db.url.clone(), 2).await;
    p.webhook("/limited", Some(json!({"rate_limit": 5}))).await;
    p.webhook("/free", None).await;
    p.publish(batch(50)).await;
    let all = p
        .receiver
        .wait_for_requests(2 + 100, Duration::from_secs(40))
        .await;
    let limited = posts_to(&all, "/limited");
    let times: Vec<Instant> = limited.iter().map(|r| r.received_at).collect();
    assert_eq!(times.len(), 50);
    assert_rate_bound(&times, 5);
    let mut sorted = times.clone();
    sorted.sort();
    let last_free = posts_to(&all, "/free")
        .iter()
        .map(|r| r.received_at)
        .max()
        .unwrap();
    assert!(last_free < sorted[15], "the unlimited webhook was slowed");
    assert_eq!(
        duplicates(&arrivals(&limited.into_iter().cloned().collect::<Vec<_>>())),
        0
    );

    // One at a time across both workers.
    let slow = Duration::from_millis(100);
    p.webhook("/capped", Some(json!({"max_in_flight": 1})))
        .await;
    p.receiver.set_default(Behavior::Sleep(slow));
    let before = p.receiver.requests().len();
    p.publish(batch(10)).await;
    // 50 + 10 to /limited (it is subscribed too), 10 to /free, 10 to /capped.
    let all = p
        .receiver
        .wait_for_requests(before + 30, Duration::from_secs(40))
        .await;
    let mut capped: Vec<Instant> = posts_to(&all, "/capped")
        .iter()
        .map(|r| r.received_at)
        .collect();
    assert_eq!(capped.len(), 10);
    capped.sort();
    for pair in capped.windows(2) {
        assert!(
            pair[1] - pair[0] >= slow,
            "two requests at once: {:?}",
            pair[1] - pair[0]
        );
    }
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_keep_the_order_even_when_one_is_killed() {
    let Some(db) = TestDb::new(Backend::Postgres).await else {
        return;
    };
    let mut p = Processes::start(db.url.clone(), 2).await;
    let total = start_ordered_run(&p).await;
    p.workers.remove(0).kill9().await;
    // The one allowed overlap: the head the killed worker had in flight may come again
    // (after its lease), so allow one extra request beyond the scripted ones.
    let all = wait_distinct(&p.receiver, 200, Duration::from_secs(90)).await;
    let posts: Vec<&RecordedRequest> = all.iter().filter(|r| r.method == "POST").collect();
    assert!(posts.len() >= total, "{} requests", posts.len());
    assert_in_order(&posts, 200);
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ordered_webhook_keeps_its_order_through_kill_9_and_restart() {
    let db = TestDb::sqlite();
    let p = Processes::start(db.url.clone(), 0).await;
    start_ordered_run(&p).await;
    let Processes {
        api,
        vars,
        dir,
        receiver,
        _ca,
        ..
    } = p;
    api.kill9().await;
    let restarted = ServerProcess::start(&vars, &dir.path().join("hooklayer.log")).await;
    let all = wait_distinct(&receiver, 200, Duration::from_secs(90)).await;
    let posts: Vec<&RecordedRequest> = all.iter().filter(|r| r.method == "POST").collect();
    assert_in_order(&posts, 200);
    restarted.sigterm(Duration::from_secs(15)).await;
}

/// Registers an ordered webhook, scripts the receiver's failures, publishes the 200 events
/// and waits until 60 requests have arrived (a run well under way); returns the number of
/// requests the script expects.
async fn start_ordered_run(p: &Processes) -> usize {
    p.webhook("/hook", Some(json!({"ordered": true}))).await;
    let total = 200 + FAIL_AT.len();
    script_failures(&p.receiver, total);
    publish_200(async |body| p.publish(body).await).await;
    p.receiver
        .wait_for_requests(1 + 60, Duration::from_secs(60))
        .await;
    total
}

/// Waits (bounded) until `n` distinct messages have arrived; returns every request.
async fn wait_distinct(
    receiver: &TestReceiver,
    n: usize,
    within: Duration,
) -> Vec<RecordedRequest> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let all = receiver.requests();
        let mut ids: Vec<String> = all
            .iter()
            .filter(|r| r.method == "POST")
            .map(message_id)
            .collect();
        ids.sort();
        ids.dedup();
        if ids.len() >= n {
            return all;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} of {n} messages arrived",
            ids.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
