//! The delivery log, manual retry, replay and retention (SPEC §7, §9), end to end: a real
//! server, a real HTTPS receiver, both backends.
//!
//! - `attempts`: what the log shows after successes, failures and exhaustion.
//! - `pagination`: walking 600 deliveries page by page.
//! - `retry_replay`: manual retry and replay after reactivation.
//! - `errors`: bad parameters and bodies answer in the Layer error format.
//! - `retention`: the background purge, and ingest during a purge of 50,000 rows.
//! - `cli`: `hooklayer deliveries list` and `hooklayer replay`.
//! - `seed`: old rows written straight through the store.

mod attempts;
mod cli;
mod errors;
mod pagination;
mod retention;
mod retry_replay;
mod seed;

use crate::support::app::{registration, webhook_uuid, TestApp};
use crate::support::receiver::TestReceiver;
use reqwest::Method;
use serde_json::Value;
use std::time::Duration;

/// How long a test waits for the log to reach a state before failing.
const WAIT: Duration = Duration::from_secs(20);

/// One webhook of one app, with calls to its delivery-log routes.
pub struct Hook<'a> {
    pub app: &'a TestApp,
    pub uuid: String,
    pub token: String,
    pub hook: String,
}

impl<'a> Hook<'a> {
    /// Creates an app and a webhook on `receiver`'s `/hook` subscribed to `events`, and waits
    /// until verification made it `active`.
    pub async fn active(app: &'a TestApp, receiver: &TestReceiver, events: &[&str]) -> Self {
        let (uuid, token) = app.create_app("log").await;
        let body = app
            .register(&uuid, &token, registration(&receiver.url("/hook"), events))
            .await;
        let hook = webhook_uuid(&body);
        app.wait_for_status(&uuid, &token, &hook, "active").await;
        Self {
            app,
            uuid,
            token,
            hook,
        }
    }

    /// `/apps/<app>/webhooks/<hook><rest>`
    pub fn path(&self, rest: &str) -> String {
        format!("/apps/{}/webhooks/{}{rest}", self.uuid, self.hook)
    }

    /// Sends a request to `path(rest)` with the Layer Accept header; returns (status, body).
    pub async fn call(&self, method: Method, rest: &str, body: Option<&Value>) -> (u16, Value) {
        let mut req = self.app.layer(method, &self.path(rest), &self.token);
        if let Some(body) = body {
            req = req.json(body);
        }
        let resp = req.send().await.expect("delivery-log request");
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    /// One page of the log (`query` without the `?`); asserts `200`.
    pub async fn page(&self, query: &str) -> Value {
        let (status, body) = self
            .call(Method::GET, &format!("/deliveries?{query}"), None)
            .await;
        assert_eq!(status, 200, "GET deliveries?{query}: {body}");
        body
    }

    /// Every delivery, newest first, walking pages of `limit` (asserts each page's size).
    pub async fn walk(&self, limit: usize, filter: &str) -> Vec<Value> {
        let mut all = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut query = format!("limit={limit}{filter}");
            if let Some(c) = &cursor {
                query.push_str(&format!("&cursor={c}"));
            }
            let page = self.page(&query).await;
            let data = page["data"].as_array().expect("data array").clone();
            assert!(data.len() <= limit, "a page holds at most limit items");
            all.extend(data.iter().cloned());
            match page["next_cursor"].as_str() {
                Some(c) => {
                    assert_eq!(data.len(), limit, "a page with a next_cursor is full");
                    cursor = Some(c.to_owned());
                }
                None => return all,
            }
        }
    }

    /// Polls the whole log until `done` holds (bounded by [`WAIT`]); returns it.
    pub async fn wait_until(&self, what: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let all = self.walk(250, "").await;
            if done(&all) {
                return all;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the log never showed {what}: {all:#?}"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Publishes one event of `event_type`; returns its id.
    pub async fn publish(&self, event_type: &str) -> String {
        let (status, body) = self
            .app
            .publish(&self.uuid, &self.token, &event(event_type))
            .await;
        assert_eq!(status, 202, "{body}");
        body["id"].as_str().expect("event id").to_owned()
    }

    /// The webhook as the API shows it.
    pub async fn webhook(&self) -> Value {
        self.call(Method::GET, "", None).await.1
    }
}

/// A valid event body of `event_type` (a `message.*` or `conversation.*` type).
pub fn event(event_type: &str) -> Value {
    let family = if event_type.starts_with("message.") {
        "message"
    } else {
        "conversation"
    };
    serde_json::json!({"type": event_type, family: {"id": format!("layer:///{family}s/1")}})
}

/// The log entry of event `event_id`.
pub fn by_event<'v>(log: &'v [Value], event_id: &str) -> &'v Value {
    log.iter()
        .find(|d| d["event_id"] == event_id)
        .unwrap_or_else(|| panic!("no delivery of {event_id} in {log:#?}"))
}
