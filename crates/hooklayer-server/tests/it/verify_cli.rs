//! `hooklayer verify` through the binary (SPEC §14): exit 0 and `valid: …` with the schemes
//! that verified, or exit 1 and the reason of each failed scheme.

use crate::support::binary::{finish, hooklayer_command, Finished};
use hooklayer_verify::sign;
use std::time::{SystemTime, UNIX_EPOCH};

const BODY: &str = r#"{"event":{"type":"message.sent"},"message":{"id":"é"}}"#;
const PLAIN: &str = "1697f925ec7b1697f925ec7b";
const WHSEC: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn layer_headers(secret: &str, body: &str) -> Vec<String> {
    vec![format!(
        "layer-webhook-signature: {}",
        sign::layer(secret, body.as_bytes())
    )]
}

fn standard_headers(secret: &str, body: &str, at: i64) -> Vec<String> {
    vec![
        "webhook-id: 0193a2b4-0000-7000-8000-000000000001".to_owned(),
        format!("webhook-timestamp: {at}"),
        format!(
            "webhook-signature: {}",
            sign::standard(
                secret,
                "0193a2b4-0000-7000-8000-000000000001",
                at,
                body.as_bytes()
            )
        ),
    ]
}

/// Runs `hooklayer verify` with the body in a file.
async fn verify(secret: &str, body: &str, headers: &[String]) -> Finished {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), body).unwrap();
    let mut cmd = hooklayer_command();
    cmd.args(["verify", "--secret", secret, "--body-file"])
        .arg(file.path());
    for h in headers {
        cmd.args(["--header", h]);
    }
    finish(cmd).await
}

#[tokio::test]
async fn a_valid_layer_signature_passes() {
    let out = verify(PLAIN, BODY, &layer_headers(PLAIN, BODY)).await;
    assert_eq!((out.code, out.stdout.as_str()), (Some(0), "valid: layer\n"));
}

#[tokio::test]
async fn a_valid_standard_signature_passes() {
    let out = verify(PLAIN, BODY, &standard_headers(PLAIN, BODY, now())).await;
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (Some(0), "valid: standard\n")
    );
}

#[tokio::test]
async fn both_schemes_pass_together_with_a_whsec_secret() {
    let mut headers = layer_headers(WHSEC, BODY);
    headers.extend(standard_headers(WHSEC, BODY, now()));
    let out = verify(WHSEC, BODY, &headers).await;
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (Some(0), "valid: layer, standard\n")
    );
}

#[tokio::test]
async fn a_tampered_body_fails_both_schemes_with_their_reasons() {
    let mut headers = layer_headers(WHSEC, BODY);
    headers.extend(standard_headers(WHSEC, BODY, now()));
    let tampered = BODY.replace("sent", "read");
    let out = verify(WHSEC, &tampered, &headers).await;
    assert_eq!(out.code, Some(1));
    assert_eq!(
        out.stdout,
        "invalid\n\
         layer: the layer-webhook-signature does not match the body with this secret\n\
         standard: no webhook-signature matches the id, timestamp and body with this secret\n"
    );
}

#[tokio::test]
async fn a_stale_timestamp_fails_the_standard_scheme() {
    let mut headers = layer_headers(PLAIN, BODY);
    headers.extend(standard_headers(PLAIN, BODY, now() - 3600));
    let out = verify(PLAIN, BODY, &headers).await;
    assert_eq!(out.code, Some(1));
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", out.stdout);
    assert!(
        lines[1].starts_with("standard: the webhook-timestamp is 36"),
        "{}",
        out.stdout
    );
}

#[tokio::test]
async fn the_body_can_come_on_stdin_and_no_signature_at_all_is_invalid() {
    let mut cmd = hooklayer_command();
    cmd.args(["verify", "--secret", PLAIN])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    use tokio::io::AsyncWriteExt;
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(BODY.as_bytes()).await.unwrap();
    drop(stdin);
    let out = child.wait_with_output().await.unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("layer: the layer-webhook-signature header is missing"));
    assert!(stdout.contains("standard: the webhook-id header is missing"));
    let bad = finish({
        let mut cmd = hooklayer_command();
        cmd.args(["verify", "--secret", PLAIN, "--header", "no colon here"]);
        cmd
    })
    .await;
    assert_eq!(bad.code, Some(2), "a usage error: {}", bad.stderr);
}
