//! The official Standard Webhooks test vectors and each failed check's own error.
//!
//! Source of the vectors: the reference library tests of the Standard Webhooks project,
//! `standard-webhooks/standard-webhooks`, `libraries/python/tests/test_webhooks.py`
//! (commit 33d368b20c5543357f4f27fd13bed0703b8c5204): message id, payload, secret, the
//! 5-minute tolerance, the signing vector of `test_sign_function`, the invalid signature of
//! `test_invalid_signature_raises_error` and the entries of `test_multi_sig_payload_is_valid`.

use hooklayer_verify::{sign, Failure, LayerError, Scheme, StandardError, Verifier};
use std::time::Duration;

const MSG_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
const PAYLOAD: &[u8] = br#"{"test": 2432232314}"#;
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const SIGNED_AT: i64 = 1614265330;
const SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
const INVALID_SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA=";
const OTHER_V1: &str = "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=";
const OTHER_V2: &str = "v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=";

fn standard_headers(signature: &str) -> Vec<(&'static str, String)> {
    vec![
        ("webhook-id", MSG_ID.to_owned()),
        ("webhook-timestamp", SIGNED_AT.to_string()),
        ("webhook-signature", signature.to_owned()),
    ]
}

fn without(mut headers: Vec<(&'static str, String)>, name: &str) -> Vec<(&'static str, String)> {
    headers.retain(|(k, _)| *k != name);
    headers
}

fn check(headers: &[(&str, String)], now: i64) -> Result<(), StandardError> {
    Verifier::new(SECRET).verify_standard_at(headers, PAYLOAD, now)
}

#[test]
fn signing_reproduces_the_official_vector() {
    assert_eq!(
        sign::standard(SECRET, MSG_ID, SIGNED_AT, PAYLOAD),
        SIGNATURE
    );
}

#[test]
fn the_official_vector_verifies_with_and_without_the_whsec_prefix_meaning_the_same_key() {
    assert_eq!(check(&standard_headers(SIGNATURE), SIGNED_AT), Ok(()));
    // The bare secret is a plain text secret for hooklayer (SPEC §6), so it is a different key.
    let bare = Verifier::new("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
    assert_eq!(
        bare.verify_standard_at(&standard_headers(SIGNATURE), PAYLOAD, SIGNED_AT),
        Err(StandardError::SignatureMismatch)
    );
}

#[test]
fn the_official_invalid_signature_is_a_mismatch() {
    assert_eq!(
        check(&standard_headers(INVALID_SIGNATURE), SIGNED_AT),
        Err(StandardError::SignatureMismatch)
    );
}

#[test]
fn one_valid_entry_among_several_signatures_is_enough() {
    let list = [OTHER_V1, OTHER_V2, SIGNATURE, OTHER_V1].join(" ");
    assert_eq!(check(&standard_headers(&list), SIGNED_AT), Ok(()));
    let wrong_only = [OTHER_V1, OTHER_V2].join(" ");
    assert_eq!(
        check(&standard_headers(&wrong_only), SIGNED_AT),
        Err(StandardError::SignatureMismatch)
    );
}

#[test]
fn each_missing_header_is_its_own_error() {
    let all = standard_headers(SIGNATURE);
    assert_eq!(
        check(&without(all.clone(), "webhook-id"), SIGNED_AT),
        Err(StandardError::MissingId)
    );
    assert_eq!(
        check(&without(all.clone(), "webhook-timestamp"), SIGNED_AT),
        Err(StandardError::MissingTimestamp)
    );
    assert_eq!(
        check(&without(all, "webhook-signature"), SIGNED_AT),
        Err(StandardError::MissingSignature)
    );
}

#[test]
fn malformed_headers_are_their_own_errors() {
    let mut headers = standard_headers(SIGNATURE);
    headers[1].1 = "hello".into();
    assert_eq!(
        check(&headers, SIGNED_AT),
        Err(StandardError::MalformedTimestamp)
    );
    for bad in ["", "v2,abc", "v1,!!!not base64", "g0hM9SsE+OTPJTGt"] {
        assert_eq!(
            check(&standard_headers(bad), SIGNED_AT),
            Err(StandardError::MalformedSignature),
            "{bad:?}"
        );
    }
    assert_eq!(
        Verifier::new("s").verify_layer(&[("layer-webhook-signature", "xyz")], b"{}"),
        Err(LayerError::MalformedSignature)
    );
}

#[test]
fn timestamps_beyond_the_tolerance_either_way_are_refused() {
    let headers = standard_headers(SIGNATURE);
    let tolerance = 5 * 60;
    assert_eq!(check(&headers, SIGNED_AT + tolerance), Ok(()));
    assert_eq!(check(&headers, SIGNED_AT - tolerance), Ok(()));
    assert_eq!(
        check(&headers, SIGNED_AT + tolerance + 1),
        Err(StandardError::TimestampTooOld {
            age_secs: 301,
            tolerance_secs: 300
        })
    );
    assert_eq!(
        check(&headers, SIGNED_AT - tolerance - 1),
        Err(StandardError::TimestampInFuture {
            ahead_secs: 301,
            tolerance_secs: 300
        })
    );
    let lenient = Verifier::new(SECRET).with_tolerance(Duration::from_secs(3600));
    assert_eq!(
        lenient.verify_standard_at(&headers, PAYLOAD, SIGNED_AT + 3000),
        Ok(())
    );
}

#[test]
fn a_wrong_secret_and_a_tampered_body_are_mismatches_in_both_schemes() {
    let body = br#"{"event":{"type":"message.sent"}}"#;
    let mut headers = standard_headers(&sign::standard(SECRET, MSG_ID, SIGNED_AT, body));
    headers.push(("layer-webhook-signature", sign::layer(SECRET, body)));
    let right = Verifier::new(SECRET);
    let wrong = Verifier::new("whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
    assert_eq!(
        right
            .verify_at(&headers, body, SIGNED_AT)
            .map(|v| v.schemes()),
        Ok(vec![Scheme::Layer, Scheme::Standard])
    );
    let both_mismatch = vec![
        Failure::Layer(LayerError::SignatureMismatch),
        Failure::Standard(StandardError::SignatureMismatch),
    ];
    assert_eq!(
        wrong
            .verify_at(&headers, body, SIGNED_AT)
            .unwrap_err()
            .failures,
        both_mismatch
    );
    let tampered = br#"{"event":{"type":"message.read"}}"#;
    assert_eq!(
        right
            .verify_at(&headers, tampered, SIGNED_AT)
            .unwrap_err()
            .failures,
        both_mismatch
    );
}

#[test]
fn signatures_of_another_length_do_not_panic() {
    let verifier = Verifier::new(SECRET);
    for layer in ["", "00", &"ab".repeat(21), &"ab".repeat(1000)] {
        let result = verifier.verify_layer(&[("layer-webhook-signature", layer)], PAYLOAD);
        assert!(result.is_err(), "{layer:?}");
    }
    for standard in ["v1,AA==", "v1,", &format!("v1,{}", "A".repeat(4000))] {
        assert!(
            check(&standard_headers(standard), SIGNED_AT).is_err(),
            "{standard:?}"
        );
    }
}

#[test]
fn a_stale_standard_timestamp_is_not_excused_by_a_valid_layer_signature() {
    let mut headers = standard_headers(SIGNATURE);
    headers.push(("layer-webhook-signature", sign::layer(SECRET, PAYLOAD)));
    let rejected = Verifier::new(SECRET)
        .verify_at(&headers, PAYLOAD, SIGNED_AT + 3600)
        .unwrap_err();
    assert_eq!(rejected.failures.len(), 1);
    assert_eq!(rejected.failures[0].scheme(), Scheme::Standard);
    assert!(rejected
        .to_string()
        .starts_with("standard: the webhook-timestamp is 3600 s old"));
}

#[test]
fn header_names_match_in_any_case() {
    let headers = [("Layer-Webhook-Signature", sign::layer("s", b"{}"))];
    assert_eq!(Verifier::new("s").verify_layer(&headers, b"{}"), Ok(()));
}

#[test]
fn the_debug_form_hides_the_secret() {
    assert!(!format!("{:?}", Verifier::new("hunter2-secret")).contains("hunter2"));
}
