//! The axum extractor on a real socket: a signed request reaches the handler with its exact
//! body; an unsigned, tampered or stale one is answered `401` with the reasons, and the
//! handler never runs.

use axum::routing::post;
use axum::Router;
use hooklayer_verify::axum::VerifiedBody;
use hooklayer_verify::{sign, Verifier};
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

async fn handler(VerifiedBody { body, schemes }: VerifiedBody) -> String {
    let names: Vec<&str> = schemes.iter().map(|s| s.name()).collect();
    format!("{} {}", names.join(","), String::from_utf8_lossy(&body))
}

/// Serves the router on 127.0.0.1:0; returns its address.
async fn serve() -> std::net::SocketAddr {
    let app = Router::new()
        .route("/hook", post(handler))
        .with_state(Verifier::new(SECRET));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

/// Sends one HTTP/1.1 POST and returns (status, body).
async fn post_hook(
    addr: std::net::SocketAddr,
    headers: &[(&str, String)],
    body: &str,
) -> (u16, String) {
    let mut request = format!(
        "POST /hook HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let status = response[9..12].parse().unwrap();
    let body = response.split("\r\n\r\n").nth(1).unwrap_or("").to_owned();
    (status, body)
}

fn signed(body: &str, at: i64) -> Vec<(&'static str, String)> {
    vec![
        (
            "layer-webhook-signature",
            sign::layer(SECRET, body.as_bytes()),
        ),
        ("webhook-id", "msg_1".to_owned()),
        ("webhook-timestamp", at.to_string()),
        (
            "webhook-signature",
            sign::standard(SECRET, "msg_1", at, body.as_bytes()),
        ),
    ]
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[tokio::test]
async fn a_signed_request_reaches_the_handler_with_its_exact_body() {
    let addr = serve().await;
    let body = r#"{"event":{"type":"message.sent"}}"#;
    let (status, answer) = post_hook(addr, &signed(body, now()), body).await;
    assert_eq!(status, 200);
    assert_eq!(answer, format!("layer,standard {body}"));
}

#[tokio::test]
async fn unsigned_tampered_and_stale_requests_are_refused_with_their_reasons() {
    let addr = serve().await;
    let body = r#"{"event":{"type":"message.sent"}}"#;

    let (status, answer) = post_hook(addr, &[], body).await;
    assert_eq!(status, 401);
    assert!(
        answer.contains("layer: the layer-webhook-signature header is missing"),
        "{answer}"
    );

    let (status, answer) =
        post_hook(addr, &signed(body, now()), &body.replace("sent", "read")).await;
    assert_eq!(status, 401);
    assert!(
        answer.contains("layer: the layer-webhook-signature does not match"),
        "{answer}"
    );

    let (status, answer) = post_hook(addr, &signed(body, now() - 3600), body).await;
    assert_eq!(status, 401);
    assert!(
        answer.starts_with("standard: the webhook-timestamp is"),
        "{answer}"
    );
}
