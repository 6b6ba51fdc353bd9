//! Secret rotation (SPEC §11): during the overlap window `webhook-signature` carries the new
//! and the previous signature (new first), `layer-webhook-signature` only the new one; after
//! the window only the new one; a second rotation within the window never gives three.

use super::patch;
use crate::delivery::{layer_signature, setup, standard_signature, wait_posts, SECRET};
use crate::support::app::{registration, TestAppBuilder};
use crate::support::receiver::RecordedRequest;
use serde_json::json;
use std::time::Duration;

const SECOND: &str = "second-secret-0123456789";
const THIRD: &str = "third-secret-0123456789ab";

/// The secrets whose Standard Webhooks signatures the request carries, in header order,
/// each checked against the raw body (any value that matches none fails the test). The
/// receivers' verifier (`hooklayer-verify`, which accepts any one matching `v1,` value) must
/// agree for each of them, and refuse the other candidates.
fn signed_with(r: &RecordedRequest, candidates: &[&'static str]) -> Vec<&'static str> {
    for secret in candidates {
        let verified = hooklayer_verify::Verifier::new(secret).verify_standard(&r.headers, &r.body);
        let signs = r
            .header("webhook-signature")
            .unwrap()
            .split(' ')
            .any(|v| own_signature(r, secret) == v);
        assert_eq!(
            verified.is_ok(),
            signs,
            "the verifier and the signatures disagree on {secret}"
        );
    }
    r.header("webhook-signature")
        .unwrap()
        .split(' ')
        .map(|value| {
            *candidates
                .iter()
                .find(|s| own_signature(r, s) == value)
                .unwrap_or_else(|| panic!("{value} verifies with no known secret"))
        })
        .collect()
}

/// The request's Standard Webhooks signature with `secret`, computed here from the raw body.
fn own_signature(r: &RecordedRequest, secret: &str) -> String {
    let id = r.header("webhook-id").unwrap();
    let ts = r.header("webhook-timestamp").unwrap();
    standard_signature(secret.as_bytes(), id, ts, &r.body)
}

crate::both_backends!(
    both_secrets_sign_during_the_window_and_only_the_new_one_after,
    |db| {
        let s = setup(
            &db,
            TestAppBuilder::new().set("secret_overlap", "2s"),
            registration("", &["message.sent"]),
        )
        .await;
        let all = [SECRET, SECOND, THIRD];

        assert_eq!(patch(&s, &json!({"secret": SECOND})).await.status, 200);
        s.publish_message("during-first-window").await;
        let got = wait_posts(&s.receiver, 1).await;
        assert_eq!(signed_with(&got[0], &all), [SECOND, SECRET]);
        assert_eq!(
            got[0].header("layer-webhook-signature"),
            Some(layer_signature(SECOND, &got[0].body).as_str())
        );

        // A rotation within the window replaces the previous secret with the one being replaced.
        assert_eq!(patch(&s, &json!({"secret": THIRD})).await.status, 200);
        s.publish_message("during-second-window").await;
        let got = wait_posts(&s.receiver, 2).await;
        assert_eq!(signed_with(&got[1], &all), [THIRD, SECOND]);
        assert_eq!(
            got[1].header("layer-webhook-signature"),
            Some(layer_signature(THIRD, &got[1].body).as_str())
        );

        tokio::time::sleep(Duration::from_millis(2100)).await;
        s.publish_message("after-the-window").await;
        let got = wait_posts(&s.receiver, 3).await;
        assert_eq!(signed_with(&got[2], &all), [THIRD]);

        // The retention pass drops the expired previous secret from the database.
        hooklayer_server::worker::retention::pass(
            &s.app.state,
            &tokio_util::sync::CancellationToken::new(),
        )
        .await
        .unwrap();
        assert_eq!(
            s.app
                .state
                .store
                .forget_expired_secrets(hooklayer_core::time::Timestamp::now())
                .await
                .unwrap(),
            0,
            "already forgotten"
        );
    }
);
