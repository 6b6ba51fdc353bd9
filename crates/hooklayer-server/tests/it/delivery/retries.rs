//! Retries, redirects, `Retry-After`, exhaustion, and deleted webhooks.

use super::*;
use crate::support::app::{registration, webhook_uuid, TestAppBuilder};
use crate::support::receiver::Behavior;
use serde_json::json;
use std::time::Duration;

crate::both_backends!(
    a_delivery_that_fails_twice_succeeds_on_the_third_attempt_with_the_same_request_id,
    |db| {
        let s = setup(
            &db,
            TestAppBuilder::new().set("delivery_timeout", "300ms"),
            registration("", &["message.sent"]),
        )
        .await;
        s.receiver.push_once(Behavior::Status(500));
        s.receiver
            .push_once(Behavior::Sleep(Duration::from_millis(800)));
        s.publish_message("m").await;
        let got = wait_posts(&s.receiver, 3).await;
        let ids: Vec<_> = got
            .iter()
            .map(|r| r.header("layer-webhook-request-id").unwrap().to_owned())
            .collect();
        assert_eq!(ids.len(), 3);
        assert!(
            ids.iter().all(|id| *id == ids[0]),
            "same request-id on every retry: {ids:?}"
        );
        let delivery = wait_for_delivery_status(&s, &ids[0], "succeeded").await;
        assert_eq!(delivery.attempts.len(), 3);
        assert_eq!(delivery.attempts[0].status_code, Some(500));
        assert_eq!(
            delivery.attempts[1].error.as_deref(),
            Some("request timed out after 300ms")
        );
        assert_eq!(delivery.attempts[2].status_code, Some(204));
        s.app
            .wait_for_status(&s.uuid, &s.token, &webhook_uuid(&s.hook), "active")
            .await;
    }
);

crate::both_backends!(a_redirect_is_a_failed_attempt, |db| {
    let s = setup(
        &db,
        TestAppBuilder::new(),
        registration("", &["message.sent"]),
    )
    .await;
    s.receiver.push_once(Behavior::Redirect);
    s.publish_message("m").await;
    let got = wait_posts(&s.receiver, 2).await;
    assert!(
        got.iter().all(|r| r.path_and_query == "/hook"),
        "the redirect was not followed"
    );
    let id = got[0]
        .header("layer-webhook-request-id")
        .unwrap()
        .to_owned();
    let delivery = wait_for_delivery_status(&s, &id, "succeeded").await;
    assert_eq!(
        delivery.attempts[0].error.as_deref(),
        Some("unexpected response status: 302 Found")
    );
});

crate::both_backends!(
    exhaustion_deactivates_the_webhook_and_fails_its_pending_deliveries,
    |db| {
        let s = setup(
            &db,
            TestAppBuilder::new().set("retry_schedule", "50ms,100ms"),
            registration("", &["message.sent"]),
        )
        .await;
        s.receiver.set_default(Behavior::Status(500));
        s.publish_message("m").await;
        let hook = s
            .app
            .wait_for_status(&s.uuid, &s.token, &webhook_uuid(&s.hook), "inactive")
            .await;
        assert_eq!(
        hook["status_reason"],
        "Delivery failed after 3 attempts: unexpected response status: 500 Internal Server Error"
    );
        assert_eq!(posts(&s.receiver.requests()).len(), 3);
        let app_id = s.uuid.parse().unwrap();
        let hook_id = webhook_uuid(&s.hook).parse().unwrap();
        let failed = hooklayer_store::DeliveryQuery {
            status: Some(hooklayer_store::DeliveryStatus::Failed),
            limit: 10,
            after: None,
        };
        let page = s
            .app
            .state
            .store
            .list_deliveries(app_id, hook_id, &failed)
            .await
            .unwrap();
        assert_eq!(
            page.items.len(),
            1,
            "the exhausted delivery is kept as failed"
        );
        // Events published while the webhook is inactive are not queued for it.
        let (_, answer) = s.publish_message("late").await;
        assert_eq!(answer["deliveries"], 0);
    }
);

crate::both_backends!(
    retry_after_on_503_is_honoured_within_twice_the_schedule,
    |db| {
        let s = setup(
            &db,
            TestAppBuilder::new().set("retry_schedule", "200ms"),
            registration("", &["message.sent"]),
        )
        .await;
        s.receiver.push_once(Behavior::RetryAfter(503, "1".into()));
        s.publish_message("m").await;
        let got = wait_posts(&s.receiver, 2).await;
        let gap = got[1].received_at.duration_since(got[0].received_at);
        // Retry-After: 1 s asks for more than 2 × 200 ms, so the wait is clamped to 400 ms.
        assert!(gap >= Duration::from_millis(390), "waited {gap:?}");
        assert!(
            gap < Duration::from_millis(1000),
            "Retry-After must be clamped to 2× the schedule, waited {gap:?}"
        );
    }
);

crate::both_backends!(a_deleted_webhook_gets_no_new_attempts, |db| {
    let s = setup(
        &db,
        TestAppBuilder::new().set("retry_schedule", "300ms"),
        registration("", &["message.sent"]),
    )
    .await;
    s.receiver.push_once(Behavior::Status(500));
    s.publish_message("m").await;
    wait_posts(&s.receiver, 1).await;
    let resp = s
        .app
        .layer(
            reqwest::Method::DELETE,
            &format!("/apps/{}/webhooks/{}", s.uuid, webhook_uuid(&s.hook)),
            &s.token,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    // Well past the 300 ms retry: a second webhook's delivery proves the worker kept running.
    let other = s
        .app
        .register(
            &s.uuid,
            &s.token,
            registration(&s.receiver.url("/other"), &["message.read"]),
        )
        .await;
    s.app
        .wait_for_status(&s.uuid, &s.token, &webhook_uuid(&other), "active")
        .await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    s.app
        .publish(
            &s.uuid,
            &s.token,
            &json!({"type": "message.read", "message": {"id": "r"}}),
        )
        .await;
    let all = s.receiver.wait_for_requests(4, WAIT).await;
    let to_deleted = posts(&all)
        .iter()
        .filter(|r| r.path_and_query == "/hook")
        .count();
    assert_eq!(to_deleted, 1, "no retry after delete");
});

crate::both_backends!(
    deliveries_queued_behind_a_slow_receiver_are_not_sent_after_delete,
    |db| {
        // One request at a time to a receiver that takes 400 ms: the other deliveries are claimed
        // and wait for the slot when the webhook is deleted.
        let s = setup(
            &db,
            TestAppBuilder::new().set("max_in_flight_per_webhook", "1"),
            registration("", &["message.sent"]),
        )
        .await;
        s.receiver
            .set_default(Behavior::Sleep(Duration::from_millis(400)));
        let batch: Vec<_> = (0..5)
            .map(|i| json!({"type": "message.sent", "message": {"id": format!("m{i}")}}))
            .collect();
        let (status, _) = s.app.publish(&s.uuid, &s.token, &json!(batch)).await;
        assert_eq!(status, 202);
        wait_posts(&s.receiver, 1).await;
        let resp = s
            .app
            .layer(
                reqwest::Method::DELETE,
                &format!("/apps/{}/webhooks/{}", s.uuid, webhook_uuid(&s.hook)),
                &s.token,
            )
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 204);
        let sent_at_delete = posts(&s.receiver.requests()).len();
        // Long enough for every queued delivery to have gone out had it not been stopped.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let sent = posts(&s.receiver.requests()).len();
        assert_eq!(
            sent, sent_at_delete,
            "no delivery started after the delete answered"
        );
    }
);
