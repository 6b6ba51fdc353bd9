//! The outbound client and the verification handshake against a real HTTPS receiver:
//! outcomes and their `status_reason` texts, the SSRF guard, TLS trust, timeouts, keep-alive.

use crate::support::receiver::{Behavior, TestCa, TestReceiver};
use bytes::Bytes;
use hooklayer_core::address::{AddressPolicy, BlockedRange};
use hooklayer_core::target_url::TargetUrl;
use hooklayer_core::webhook::WebhookVersion;
use hooklayer_server::outbound::verification::verify;
use hooklayer_server::outbound::{
    OutboundClient, OutboundConfig, OutboundError, MAX_RESPONSE_BODY,
};
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use std::time::{Duration, Instant};
use url::Url;

const WEBHOOK_URI: &str = "layer:///apps/5e0c3bd4-7c1a-11e5-b6b4-0242ac110002/webhooks/f5ef2b54-0991-11e5-a6ee-0242ac110001";
const WAIT: Duration = Duration::from_secs(5);

fn loopback_policy() -> AddressPolicy {
    AddressPolicy::new(vec![
        "127.0.0.0/8".parse().unwrap(),
        "::1/128".parse().unwrap(),
    ])
}

fn client_with(ca: &TestCa, timeout: Duration, addresses: AddressPolicy) -> OutboundClient {
    OutboundClient::new(&OutboundConfig {
        timeout,
        trusted_ca_pem: Some(ca.ca_pem().into_bytes()),
        allow_http: false,
        addresses,
        max_idle_per_host: 8,
    })
    .expect("outbound client")
}

fn client(ca: &TestCa) -> OutboundClient {
    client_with(ca, Duration::from_secs(2), loopback_policy())
}

fn target(url: &str) -> TargetUrl {
    TargetUrl::from_stored(url).expect("valid target URL")
}

async fn verify_at(client: &OutboundClient, url: &str) -> Result<(), String> {
    verify(client, &target(url), WEBHOOK_URI, WebhookVersion::V2).await
}

fn is_challenge(s: &str) -> bool {
    s.len() == 40
        && s.chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
}

#[tokio::test]
async fn verification_passes_when_the_receiver_echoes_the_challenge() {
    let ca = TestCa::new();
    let receiver = TestReceiver::start(&ca).await;

    let outcome = verify_at(&client(&ca), &receiver.url("/hook")).await;

    assert_eq!(outcome, Ok(()));
    let requests = receiver.wait_for_requests(1, WAIT).await;
    assert_eq!(requests[0].method, Method::GET);
    let challenge = requests[0].query_param("verification_challenge").unwrap();
    assert!(is_challenge(&challenge), "{challenge}");
}

#[tokio::test]
async fn verification_sends_the_user_agent_and_webhook_id_unsigned() {
    let ca = TestCa::new();
    let receiver = TestReceiver::start(&ca).await;

    verify_at(&client(&ca), &receiver.url("/hook"))
        .await
        .unwrap();

    let request = &receiver.wait_for_requests(1, WAIT).await[0];
    assert_eq!(request.header("user-agent"), Some("layer-webhooks/2.0"));
    assert_eq!(request.header("layer-webhook-id"), Some(WEBHOOK_URI));
    assert_eq!(request.header("layer-webhook-signature"), None);
    assert_eq!(request.header("webhook-signature"), None);
    assert!(request.body.is_empty());
}

#[tokio::test]
async fn the_challenge_is_appended_to_the_targets_own_query() {
    let ca = TestCa::new();
    let receiver = TestReceiver::start(&ca).await;

    verify_at(&client(&ca), &receiver.url("/hook?team=7"))
        .await
        .unwrap();

    let request = &receiver.wait_for_requests(1, WAIT).await[0];
    let rest = request
        .path_and_query
        .strip_prefix("/hook?team=7&verification_challenge=");
    assert!(rest.is_some_and(is_challenge), "{}", request.path_and_query);
}

#[tokio::test]
async fn verification_fails_when_the_body_does_not_match_the_challenge() {
    let ca = TestCa::new();
    let receiver = TestReceiver::start(&ca).await;
    receiver.set_default(Behavior::Body(200, "not the challenge".to_owned()));

    let outcome = verify_at(&client(&ca), &receiver.url("/hook")).await;

    assert_eq!(
        outcome.unwrap_err(),
        "Verification failed: response body did not match the challenge"
    );
}

#[tokio::test]
async fn verification_fails_with_the_status_when_the_receiver_answers_404_or_500() {
    let ca = TestCa::new();
    let receiver = TestReceiver::start(&ca).await;
    let client = client(&ca);
    receiver.push_once(Behavior::Status(404));
    receiver.push_once(Behavior::Status(500));

    let not_found = verify_at(&client, &receiver.url("/hook")).await;
    let server_error = verify_at(&client, &receiver.url("/hook")).await;
    let recovered = verify_at(&client, &receiver.url("/hook")).await;

    assert_eq!(
        not_found.unwrap_err(),
        "Verification failed due to unexpected response status: 404 Not Found"
    );
    assert_eq!(
        server_error.unwrap_err(),
        "Verification failed due to unexpected response status: 500 Internal Server Error"
    );
    assert_eq!(recovered, Ok(()), "one-shot behaviours are used up");
}

#[tokio::test]
async fn verification_does_not_follow_a_redirect() {
    let ca = TestCa::new();
    let receiver = TestReceiver::start(&ca).await;
    receiver.set_default(Behavior::Redirect);

    let outcome = verify_at(&client(&ca), &receiver.url("/hook")).await;

    assert_eq!(
        outcome.unwrap_err(),
        "Verification failed due to unexpected response status: 302 Found"
    );
    let requests = receiver.requests();
    assert_eq!(requests.len(), 1, "the redirect target was requested");
    assert!(requests[0].path_and_query.starts_with("/hook?"));
}

#[tokio::test]
async fn verification_times_out_after_the_configured_timeout() {
    let ca = TestCa::new();
    let receiver = TestReceiver::start(&ca).await;
    receiver.set_default(Behavior::Sleep(Duration::from_secs(10)));
    let client = client_with(&ca, Duration::from_millis(300), loopback_policy());
    let started = Instant::now();

    let outcome = verify_at(&client, &receiver.url("/hook")).await;

    assert_eq!(
        outcome.unwrap_err(),
        "Verification failed: request timed out after 300ms"
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn verification_fails_the_tls_handshake_with_a_certificate_from_another_ca() {
    let trusted = TestCa::new();
    let stranger = TestCa::new();
    let receiver = TestReceiver::start(&stranger).await;

    let outcome = verify_at(&client(&trusted), &receiver.url("/hook")).await;

    assert_eq!(
        outcome.unwrap_err(),
        "Verification failed: TLS handshake failed: invalid peer certificate: UnknownIssuer"
    );
    assert!(receiver.requests().is_empty());
}

#[tokio::test]
async fn verification_reports_connection_refused_on_a_closed_port() {
    let ca = TestCa::new();
    let url = TestReceiver::closed_port_url("/hook");

    let outcome = verify_at(&client(&ca), &url).await;

    assert_eq!(
        outcome.unwrap_err(),
        "Verification failed: connection refused"
    );
}

#[tokio::test]
async fn a_localhost_target_is_refused_at_connect_time_by_the_default_policy() {
    let ca = TestCa::new();
    let receiver = TestReceiver::start(&ca).await;
    let client = client_with(&ca, Duration::from_secs(2), AddressPolicy::default());
    let url = format!("https://localhost:{}/hook", receiver.port());

    let err = client
        .get(&Url::parse(&url).unwrap(), HeaderMap::new())
        .await
        .unwrap_err();
    let reason = verify_at(&client, &url).await.unwrap_err();

    assert!(
        matches!(
            err,
            OutboundError::Blocked {
                range: BlockedRange::Loopback,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        reason.starts_with("Verification failed: blocked address "),
        "{reason}"
    );
    assert!(
        reason.ends_with("(a loopback address); HOOKLAYER_ALLOW_TARGETS can allow it"),
        "{reason}"
    );
    assert_eq!(receiver.connections(), 0);
    assert!(receiver.requests().is_empty());
}

#[tokio::test]
async fn a_localhost_target_is_reached_when_loopback_is_allowed() {
    let ca = TestCa::new();
    let receiver = TestReceiver::start(&ca).await;
    let url = format!("https://localhost:{}/hook", receiver.port());

    assert_eq!(verify_at(&client(&ca), &url).await, Ok(()));
}

#[tokio::test]
async fn a_literal_loopback_ip_target_is_refused_before_connecting() {
    let ca = TestCa::new();
    let receiver = TestReceiver::start(&ca).await;
    let client = client_with(&ca, Duration::from_secs(2), AddressPolicy::default());

    let v4 = verify_at(&client, &receiver.url("/hook")).await;
    let v6 = verify_at(&client, &format!("https://[::1]:{}/hook", receiver.port())).await;
    let mapped = verify_at(
        &client,
        &format!("https://[::ffff:127.0.0.1]:{}/", receiver.port()),
    )
    .await;

    assert_eq!(
        v4.unwrap_err(),
        "Verification failed: blocked address 127.0.0.1 (a loopback address); HOOKLAYER_ALLOW_TARGETS can allow it"
    );
    assert_eq!(
        v6.unwrap_err(),
        "Verification failed: blocked address ::1 (a loopback address); HOOKLAYER_ALLOW_TARGETS can allow it"
    );
    assert!(mapped.unwrap_err().contains("(a loopback address)"));
    assert_eq!(receiver.connections(), 0);
}

#[tokio::test]
async fn http_targets_are_refused_unless_allowed() {
    let ca = TestCa::new();
    let url = Url::parse("http://127.0.0.1:9/hook").unwrap();

    let err = client(&ca).get(&url, HeaderMap::new()).await.unwrap_err();

    assert_eq!(err, OutboundError::HttpNotAllowed);
    assert_eq!(err.to_string(), "http targets are not allowed");
}

#[tokio::test]
async fn a_post_arrives_byte_for_byte_with_its_headers() {
    let ca = TestCa::new();
    let receiver = TestReceiver::start(&ca).await;
    let body = Bytes::from_static("{\"text\":\"héllo / 世界\"}\n\u{0}".as_bytes());
    let mut headers = HeaderMap::new();
    headers.insert(
        "content-type",
        HeaderValue::from_static("application/vnd.layer.webhooks+json; version=2.0"),
    );
    headers.insert(
        "layer-webhook-event-type",
        HeaderValue::from_static("message.sent"),
    );
    headers.insert(
        "webhook-id",
        HeaderValue::from_static("8d8f1b8e-0c53-4b5a-9d33-7f1e6a0c2f11"),
    );

    let url = Url::parse(&receiver.url("/deliver?x=1")).unwrap();
    let response = client(&ca)
        .post(&url, headers.clone(), body.clone())
        .await
        .unwrap();

    assert_eq!(response.status, StatusCode::NO_CONTENT);
    let request = &receiver.wait_for_requests(1, WAIT).await[0];
    assert_eq!(request.method, Method::POST);
    assert_eq!(request.path_and_query, "/deliver?x=1");
    assert_eq!(request.body, body.to_vec());
    for (name, value) in &headers {
        assert_eq!(request.headers.get(name), Some(value), "{name}");
    }
}

#[tokio::test]
async fn sequential_requests_reuse_one_keep_alive_connection() {
    let ca = TestCa::new();
    let receiver = TestReceiver::start(&ca).await;
    let client = client(&ca);
    let url = Url::parse(&receiver.url("/deliver")).unwrap();

    for _ in 0..2 {
        let response = client
            .post(&url, HeaderMap::new(), Bytes::from_static(b"{}"))
            .await
            .unwrap();
        assert_eq!(response.status, StatusCode::NO_CONTENT);
    }

    let requests = receiver.wait_for_requests(2, WAIT).await;
    assert_eq!(requests[0].peer, requests[1].peer);
    assert_eq!(receiver.connections(), 1);
}

#[tokio::test]
async fn a_large_response_body_is_cut_at_64_kib_and_retry_after_is_kept() {
    let ca = TestCa::new();
    let receiver = TestReceiver::start(&ca).await;
    let client = client(&ca);
    let url = Url::parse(&receiver.url("/deliver")).unwrap();
    receiver.push_once(Behavior::Body(200, "x".repeat(1024 * 1024)));
    receiver.push_once(Behavior::RetryAfter(503, "120".to_owned()));

    let large = client.get(&url, HeaderMap::new()).await.unwrap();
    let busy = client.get(&url, HeaderMap::new()).await.unwrap();

    assert_eq!(large.body.len(), MAX_RESPONSE_BODY);
    assert_eq!(busy.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(busy.retry_after.as_deref(), Some("120"));
}
