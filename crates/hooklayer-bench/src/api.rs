//! hooklayer's public HTTP API as the bench uses it: register webhooks (Layer v2.0 media type),
//! wait until they are verified, publish events, read `/metrics`.

use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context as _, Result};
use bytes::Bytes;
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use serde::Deserialize;

use crate::hooklayer::AppCredentials;

const LAYER_ACCEPT: &str = "application/vnd.layer.webhooks+json; version=2.0";
/// Verification starts within 1 s of registration and times out after 1 s; 15 s is generous.
const ACTIVE_TIMEOUT: Duration = Duration::from_secs(15);

/// A client for one app of one running hooklayer. Cheap to clone (reqwest's client is an `Arc`).
#[derive(Clone)]
pub struct Api {
    http: reqwest::Client,
    base: String,
    app: String,
    auth: String,
    events_url: String,
}

#[derive(Deserialize)]
struct WebhookOut {
    id: String,
    status: String,
    #[serde(default)]
    status_reason: Option<String>,
}

impl Api {
    pub fn new(http: reqwest::Client, base_url: &str, app: &AppCredentials) -> Self {
        Self {
            http,
            base: base_url.to_owned(),
            app: app.uuid.clone(),
            auth: format!("Bearer {}", app.token),
            events_url: format!("{base_url}/apps/{}/events", app.uuid),
        }
    }

    /// Registers a `message.sent` webhook for `target_url` with these delivery settings (when
    /// given); returns its uuid.
    async fn create_webhook(
        &self,
        target_url: &str,
        delivery: Option<&serde_json::Value>,
    ) -> Result<String> {
        let mut body = serde_json::json!({
            "version": "2.0",
            "target_url": target_url,
            "events": ["message.sent"],
            "secret": "hooklayer-bench-secret-0123456789",
        });
        if let Some(delivery) = delivery {
            body["delivery"] = delivery.clone();
        }
        let response = self
            .http
            .post(format!("{}/apps/{}/webhooks", self.base, self.app))
            .header(AUTHORIZATION, &self.auth)
            .header(ACCEPT, LAYER_ACCEPT)
            .header(CONTENT_TYPE, "application/json")
            .body(body.to_string())
            .send()
            .await
            .context("POST /apps/:uuid/webhooks")?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        ensure!(
            status == reqwest::StatusCode::CREATED,
            "registering {target_url}: {status} {text}"
        );
        let webhook: WebhookOut = serde_json::from_str(&text)
            .with_context(|| format!("parsing the created webhook: {text}"))?;
        webhook
            .id
            .rsplit('/')
            .next()
            .map(str::to_owned)
            .context("webhook id without a uuid")
    }

    /// Polls the webhook (bounded) until verification made it `active`.
    async fn wait_active(&self, webhook: &str) -> Result<()> {
        let url = format!("{}/apps/{}/webhooks/{webhook}", self.base, self.app);
        let started = Instant::now();
        loop {
            let response = self
                .http
                .get(&url)
                .header(AUTHORIZATION, &self.auth)
                .header(ACCEPT, LAYER_ACCEPT)
                .send()
                .await
                .context("GET /apps/:uuid/webhooks/:id")?;
            let text = response.text().await.unwrap_or_default();
            let out: WebhookOut = serde_json::from_str(&text)
                .with_context(|| format!("parsing webhook {webhook}: {text}"))?;
            match out.status.as_str() {
                "active" => return Ok(()),
                "inactive" => bail!(
                    "webhook {webhook} failed verification: {}",
                    out.status_reason.unwrap_or_default()
                ),
                _ if started.elapsed() > ACTIVE_TIMEOUT => {
                    bail!(
                        "webhook {webhook} still {} after {ACTIVE_TIMEOUT:?}",
                        out.status
                    )
                }
                _ => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }

    /// Registers one webhook per URL and waits until all are active.
    pub async fn add_webhooks(&self, target_urls: &[String]) -> Result<Vec<String>> {
        self.add_webhooks_with(target_urls, None).await
    }

    /// [`Api::add_webhooks`] with delivery settings (`{"ordered": true}`, …) on each.
    pub async fn add_webhooks_with(
        &self,
        target_urls: &[String],
        delivery: Option<serde_json::Value>,
    ) -> Result<Vec<String>> {
        let mut ids = Vec::with_capacity(target_urls.len());
        for url in target_urls {
            ids.push(self.create_webhook(url, delivery.as_ref()).await?);
        }
        for id in &ids {
            self.wait_active(id).await?;
        }
        Ok(ids)
    }

    /// Publishes one event or an array; `Ok` only on `202 Accepted`.
    pub async fn publish(&self, body: Bytes) -> Result<()> {
        let response = self
            .http
            .post(&self.events_url)
            .header(AUTHORIZATION, &self.auth)
            .header(CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await
            .context("POST /apps/:uuid/events")?;
        let status = response.status();
        // Read the answer whole so the connection goes back to the pool.
        let text = response.text().await.unwrap_or_default();
        ensure!(
            status == reqwest::StatusCode::ACCEPTED,
            "publish answered {status}: {}",
            text.chars().take(200).collect::<String>()
        );
        Ok(())
    }

    /// Opens a listener stream (`GET /apps/:uuid/listen`) for `conversation.deleted`, a type
    /// the bench never publishes: connected, matched against every publish, sent nothing.
    /// The stream stays open while the returned response lives.
    pub async fn open_idle_listener(&self) -> Result<reqwest::Response> {
        let response = self
            .http
            .get(format!(
                "{}/apps/{}/listen?events=conversation.deleted",
                self.base, self.app
            ))
            .header(AUTHORIZATION, &self.auth)
            .header(ACCEPT, "text/event-stream")
            .send()
            .await
            .context("GET /apps/:uuid/listen")?;
        ensure!(
            response.status() == reqwest::StatusCode::OK,
            "listen answered {}",
            response.status()
        );
        Ok(response)
    }

    /// Sum of `hooklayer_queue_depth` samples with `state="<state>"` (best effort).
    pub async fn queue_depth(&self, state: &str) -> Option<f64> {
        let text = self
            .http
            .get(format!("{}/metrics", self.base))
            .send()
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        let label = format!("state=\"{state}\"");
        let values: Vec<f64> = text
            .lines()
            .filter(|l| l.starts_with("hooklayer_queue_depth{") && l.contains(&label))
            .filter_map(|l| l.rsplit(' ').next()?.parse().ok())
            .collect();
        (!values.is_empty()).then(|| values.iter().sum())
    }
}
