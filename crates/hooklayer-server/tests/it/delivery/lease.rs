//! A claim's lease and its attempts: an attempt that could outlast the lease is not started
//! (the delivery waits for the lease to end and is claimed again), so a slow webhook behind its
//! in-flight cap never gets a delivery twice without a crash.

use super::*;
use crate::support::app::{registration, TestAppBuilder};
use crate::support::process::{arrivals, duplicates};
use crate::support::receiver::Behavior;
use std::time::Duration;

// The shortest lease allowed (twice the timeout), one request at a time, and a receiver that
// answers after about three quarters of the timeout. The third delivery of a claim waits for
// two answers and starts 4.4 s into a 6 s lease: a rule of "80 % of the lease" would start it,
// the lease would run out 0.6 s before its answer, and the next claim would send it again.
crate::both_backends!(
    a_delivery_that_waited_for_its_slot_too_long_is_sent_once_after_its_lease,
    |db| {
        let s = setup(
            &db,
            TestAppBuilder::new()
                .set("delivery_timeout", "3s")
                .set("lease", "6s")
                .set("max_in_flight_per_webhook", "1"),
            registration("", &["message.sent"]),
        )
        .await;
        s.receiver
            .set_default(Behavior::Sleep(Duration::from_millis(2200)));
        let events: Vec<Value> = (0..3)
            .map(|i| json!({"type": "message.sent", "message": {"id": format!("m{i}")}}))
            .collect();
        let (status, answer) = s.app.publish(&s.uuid, &s.token, &json!(events)).await;
        assert_eq!(status, 202, "{answer}");
        let got = s
            .receiver
            .wait_for_requests(1 + 3, Duration::from_secs(60))
            .await;
        let request_ids: Vec<String> = posts(&got)
            .iter()
            .map(|r| r.header("layer-webhook-request-id").unwrap().to_owned())
            .collect();
        for id in &request_ids {
            let delivery = wait_for_delivery_status(&s, id, "succeeded").await;
            assert_eq!(delivery.attempts.len(), 1, "one attempt for {id}");
        }
        let seen = arrivals(&s.receiver.requests());
        assert_eq!(seen.len(), 3);
        assert_eq!(duplicates(&seen), 0, "no delivery was sent twice");
    }
);
