//! A webhook receiver that accepts only deliveries signed with its webhook's secret.
//!
//! ```text
//! HOOKLAYER_WEBHOOK_SECRET='whsec_…' cargo run -p hooklayer-verify --example receiver
//! hooklayer listen --server http://127.0.0.1:8080 --app <uuid> --token <token> \
//!     --forward-to http://127.0.0.1:3000/hook
//! ```
//!
//! Environment: `HOOKLAYER_WEBHOOK_SECRET` (required: the secret the webhook was registered
//! with, or the secret `hooklayer listen` printed) and `RECEIVER_LISTEN` (default
//! `127.0.0.1:3000`).

use axum::routing::post;
use axum::Router;
use hooklayer_verify::axum::VerifiedBody;
use hooklayer_verify::{Scheme, Verifier};

/// Runs for verified deliveries only; the extractor answered `401` to the rest.
async fn hook(VerifiedBody { body, schemes }: VerifiedBody) -> &'static str {
    let names: Vec<&str> = schemes.iter().map(|s: &Scheme| s.name()).collect();
    let event_type = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v["event"]["type"].as_str().map(str::to_owned))
        .unwrap_or_else(|| "?".to_owned());
    println!("verified ({}): {event_type}", names.join(", "));
    "ok"
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let Ok(secret) = std::env::var("HOOKLAYER_WEBHOOK_SECRET") else {
        eprintln!("set HOOKLAYER_WEBHOOK_SECRET to the webhook's secret");
        std::process::exit(2);
    };
    let listen = std::env::var("RECEIVER_LISTEN").unwrap_or_else(|_| "127.0.0.1:3000".into());
    let app = Router::new()
        .route("/hook", post(hook))
        .with_state(Verifier::new(&secret));
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    println!("receiving on http://{listen}/hook");
    axum::serve(listener, app).await
}
