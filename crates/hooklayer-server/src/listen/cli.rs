//! `hooklayer listen` (SPEC §14): opens a listener stream on a server, prints the stream's
//! secret once and one line per delivery, and with `--forward-to` POSTs each delivery, exact
//! body and headers, to a local URL and prints its status and duration.
//!
//! Output, one line each: `secret: whsec_…`, then per delivery
//! `<time> <event type> <request-id>`, followed with `--forward-to` by
//! `  -> <status> in <n> ms` or `  -> failed: <reason>`. The command ends (exit 1) when the
//! server closes the stream (the app was deleted, the server shut down).

use crate::cli::Failure;
use anyhow::{anyhow, Context};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::io::Write;
use std::time::{Duration, Instant};

#[derive(clap::Args, Debug)]
pub struct ListenArgs {
    /// The hooklayer server, e.g. `https://hooks.example.com`
    #[arg(long, env = "HOOKLAYER_SERVER")]
    pub server: String,
    /// The app's UUID
    #[arg(long)]
    pub app: String,
    /// The app's API token
    #[arg(long, env = "HOOKLAYER_TOKEN", hide_env_values = true)]
    pub token: String,
    /// Only these event types (comma-separated); all when absent
    #[arg(long, value_delimiter = ',')]
    pub events: Vec<String>,
    /// POST each delivery, same body and headers, to this URL (any URL: it runs here)
    #[arg(long)]
    pub forward_to: Option<String>,
}

/// Most time a forwarded request may take.
const FORWARD_TIMEOUT: Duration = Duration::from_secs(10);

/// A delivery event's data.
#[derive(Deserialize)]
struct Delivery {
    headers: BTreeMap<String, String>,
    body: String,
}

/// Runs the command until the server closes the stream.
pub async fn run(args: ListenArgs) -> Result<(), Failure> {
    let tls = crate::outbound::tls::client_config(None).map_err(|e| anyhow!("TLS: {e}"))?;
    let client = reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .build()
        .context("cannot build the HTTP client")?;
    let mut url = format!(
        "{}/apps/{}/listen",
        args.server.trim_end_matches('/'),
        args.app
    );
    if !args.events.is_empty() {
        url.push_str("?events=");
        url.push_str(&args.events.join(","));
    }
    let mut response = client
        .get(&url)
        .bearer_auth(&args.token)
        .header("accept", "text/event-stream")
        .send()
        .await
        .map_err(|e| anyhow!("cannot reach {}: {}", args.server, e.without_url()))?;
    if !response.status().is_success() {
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        let message = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v["message"].as_str().map(str::to_owned))
            .unwrap_or(text);
        return Err(anyhow!("the server refused the stream: {status}: {message}").into());
    }
    let forward = Forwarder::new(args.forward_to)?;
    let mut parser = SseParser::default();
    loop {
        let chunk = response
            .chunk()
            .await
            .map_err(|e| anyhow!("the stream broke: {}", e.without_url()))?;
        let Some(chunk) = chunk else { break };
        for (event, data) in parser.feed(&chunk) {
            match event.as_str() {
                "secret" => {
                    let secret = serde_json::from_str::<serde_json::Value>(&data)
                        .ok()
                        .and_then(|v| v["secret"].as_str().map(str::to_owned))
                        .ok_or_else(|| anyhow!("the server sent no usable secret"))?;
                    say(&format!("secret: {secret}"));
                }
                "delivery" => match serde_json::from_str::<Delivery>(&data) {
                    Ok(delivery) => handle(&delivery, &forward).await,
                    Err(e) => eprintln!("skipping a delivery the server sent malformed: {e}"),
                },
                _ => {}
            }
        }
    }
    Err(anyhow!("the server closed the stream").into())
}

/// Prints a line at once (stdout may be a pipe).
fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

async fn handle(delivery: &Delivery, forward: &Forwarder) {
    let header = |name: &str| delivery.headers.get(name).map_or("-", String::as_str);
    say(&format!(
        "{} {} {}",
        hooklayer_core::time::Timestamp::now().to_rfc3339(),
        header("layer-webhook-event-type"),
        header("layer-webhook-request-id"),
    ));
    if let Some(result) = forward.send(delivery).await {
        say(&format!("  -> {result}"));
    }
}

/// POSTs deliveries to the `--forward-to` URL.
struct Forwarder {
    target: Option<(reqwest::Client, reqwest::Url)>,
}

impl Forwarder {
    fn new(url: Option<String>) -> Result<Self, Failure> {
        let Some(url) = url else {
            return Ok(Self { target: None });
        };
        let url = reqwest::Url::parse(&url).map_err(|e| anyhow!("--forward-to {url:?}: {e}"))?;
        let tls = crate::outbound::tls::client_config(None).map_err(|e| anyhow!("TLS: {e}"))?;
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .timeout(FORWARD_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .context("cannot build the HTTP client")?;
        Ok(Self {
            target: Some((client, url)),
        })
    }

    /// Forwards one delivery; `None` without `--forward-to`, else its status and duration.
    async fn send(&self, delivery: &Delivery) -> Option<String> {
        let (client, url) = self.target.as_ref()?;
        let mut headers = HeaderMap::with_capacity(delivery.headers.len());
        for (name, value) in &delivery.headers {
            if let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(value),
            ) {
                headers.insert(name, value);
            }
        }
        let started = Instant::now();
        let sent = client
            .post(url.clone())
            .headers(headers)
            .body(delivery.body.clone())
            .send()
            .await;
        let ms = started.elapsed().as_millis();
        Some(match sent {
            Ok(response) => format!("{} in {ms} ms", response.status()),
            Err(e) => format!("failed: {} (after {ms} ms)", e.without_url()),
        })
    }
}

/// Splits a server-sent events byte stream into `(event, data)` pairs. Comments
/// (heartbeats) and fields other than `event` and `data` are skipped.
#[derive(Default)]
struct SseParser {
    buffer: Vec<u8>,
}

impl SseParser {
    fn feed(&mut self, bytes: &[u8]) -> Vec<(String, String)> {
        self.buffer.extend_from_slice(bytes);
        let mut events = Vec::new();
        while let Some(end) = find_blank_line(&self.buffer) {
            let block: Vec<u8> = self.buffer.drain(..end.0).collect();
            self.buffer.drain(..end.1);
            let text = String::from_utf8_lossy(&block);
            let (mut event, mut data) = (String::from("message"), Vec::new());
            for line in text.lines() {
                let (field, value) = line.split_once(':').unwrap_or((line, ""));
                let value = value.strip_prefix(' ').unwrap_or(value);
                match field {
                    "event" => event = value.to_owned(),
                    "data" => data.push(value),
                    _ => {}
                }
            }
            if !data.is_empty() {
                events.push((event, data.join("\n")));
            }
        }
        events
    }
}

/// The end of the first event block and the length of the blank line after it.
fn find_blank_line(buffer: &[u8]) -> Option<(usize, usize)> {
    let lf = buffer.windows(2).position(|w| w == b"\n\n").map(|i| (i, 2));
    let crlf = buffer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| (i, 4));
    match (lf, crlf) {
        (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_split_across_chunks_are_parsed_and_comments_skipped() {
        let mut p = SseParser::default();
        assert!(p.feed(b"event: secret\ndata: {\"sec").is_empty());
        let got = p.feed(b"ret\":\"x\"}\n\n:heartbeat\n\nevent: delivery\ndata: 1\n\n");
        assert_eq!(
            got,
            vec![
                ("secret".to_owned(), r#"{"secret":"x"}"#.to_owned()),
                ("delivery".to_owned(), "1".to_owned())
            ]
        );
    }
}
