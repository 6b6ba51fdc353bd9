//! The delivery engine through the real server: the request of SPEC §6 (headers, body,
//! both signatures recomputed here from the raw bytes), fan-out, idempotent ingest, retries,
//! `Retry-After`, exhaustion, and deleted webhooks.

mod fan_out;
mod lease;
mod request;
mod retries;

use crate::support::app::{webhook_uuid, TestApp, TestAppBuilder};
use crate::support::receiver::{RecordedRequest, TestCa, TestReceiver};
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use std::time::Duration;

pub const SECRET: &str = "1697f925ec7b1697f925ec7b";
pub const WAIT: Duration = Duration::from_secs(10);

/// A server, one app and a receiver with one active webhook on `/hook`.
pub struct Setup {
    pub app: TestApp,
    pub uuid: String,
    pub token: String,
    pub receiver: TestReceiver,
    pub hook: Value,
    _ca: TestCa,
}

impl Setup {
    /// Publishes one `message.sent` event whose message id is `message_id`.
    pub async fn publish_message(&self, message_id: &str) -> (u16, Value) {
        let event = json!({"type": "message.sent", "message": {"id": message_id}});
        self.app.publish(&self.uuid, &self.token, &event).await
    }

    /// The webhook as the API shows it now.
    pub async fn hook_now(&self) -> Value {
        let path = format!("/apps/{}/webhooks/{}", self.uuid, webhook_uuid(&self.hook));
        let reply =
            crate::support::app::send(self.app.layer(reqwest::Method::GET, &path, &self.token))
                .await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        reply.json
    }
}

pub async fn setup(db: &crate::support::db::TestDb, builder: TestAppBuilder, body: Value) -> Setup {
    let ca = TestCa::new();
    let receiver = TestReceiver::start(&ca).await;
    let app = builder.trust(&ca).start(db).await;
    let (uuid, token) = app.create_app("deliveries").await;
    let mut body = body;
    body["target_url"] = json!(receiver.url("/hook"));
    let hook = app.register(&uuid, &token, body).await;
    app.wait_for_status(&uuid, &token, &webhook_uuid(&hook), "active")
        .await;
    Setup {
        app,
        uuid,
        token,
        receiver,
        hook,
        _ca: ca,
    }
}

pub fn posts(requests: &[RecordedRequest]) -> Vec<&RecordedRequest> {
    requests.iter().filter(|r| r.method == "POST").collect()
}

/// Waits until the receiver has seen `n` POSTs (plus the verification GET).
pub async fn wait_posts(receiver: &TestReceiver, n: usize) -> Vec<RecordedRequest> {
    let all = receiver.wait_for_requests(n + 1, WAIT).await;
    all.into_iter().filter(|r| r.method == "POST").collect()
}

pub fn layer_signature(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

pub fn standard_signature(key: &[u8], id: &str, ts: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
    mac.update(format!("{id}.{ts}.").as_bytes());
    mac.update(body);
    format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    )
}

/// Polls the store until the delivery has `status` (bounded).
pub async fn wait_for_delivery_status(
    s: &Setup,
    request_id: &str,
    status: &str,
) -> hooklayer_store::Delivery {
    let app_id = s.uuid.parse().unwrap();
    let hook_id = webhook_uuid(&s.hook).parse().unwrap();
    let id = request_id.parse().unwrap();
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Some(d) = s
            .app
            .state
            .store
            .get_delivery(app_id, hook_id, id)
            .await
            .unwrap()
        {
            if d.status.as_str() == status {
                return d;
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "delivery never became {status}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
