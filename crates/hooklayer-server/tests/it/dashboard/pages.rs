//! What the dashboard does, through its forms: the operator's apps and tokens, registration
//! with the API's errors next to the field, a webhook's actions, its log, retry and replay.

use super::UiClient;
use crate::delivery_log::{event, Hook};
use crate::support::app::{registration, send, started, TestAppBuilder, ADMIN_TOKEN};
use crate::support::receiver::{Behavior, TestCa, TestReceiver};
use reqwest::Method;
use serde_json::Value;
use std::time::Duration;

/// Loads `path` until its body contains `text` (bounded), as the page's refresh would.
async fn wait_for_text(ui: &mut UiClient, path: &str, text: &str) -> String {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let page = ui.get(path).await;
        if page.body.contains(text) {
            return page.body;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{path} never showed {text:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Posts the registration form of app `uuid` for `message.sent` events.
async fn register(ui: &mut UiClient, uuid: &str, target: &str, secret: &str) -> super::Page {
    let form = [
        ("version", "2.0"),
        ("target_url", target),
        ("events", "message.sent"),
        ("secret", secret),
    ];
    ui.post(&format!("/ui/apps/{uuid}/webhooks"), &form).await
}

crate::both_backends!(
    the_operator_creates_an_app_whose_token_is_shown_once_and_works,
    |db| {
        let app = TestAppBuilder::new().start(&db).await;
        let mut ui = UiClient::signed_in(&app, ADMIN_TOKEN).await;

        let created = ui.post("/ui/apps", &[("name", "Acme chat")]).await;

        assert_eq!(created.status, 200, "{}", created.body);
        let start = created.body.find("hlk_").expect("the token is shown");
        let token = &created.body[start..start + 68];
        let listed = send(app.admin(Method::GET, "/admin/apps")).await;
        let uuid = listed.json[0]["uuid"].as_str().expect("uuid").to_owned();
        let works = send(app.layer(Method::GET, &format!("/apps/{uuid}/webhooks"), token)).await;
        assert_eq!(works.status, 200);
        let apps = ui.get("/ui/apps").await.body;
        assert!(
            apps.contains("Acme chat") && !apps.contains("hlk_"),
            "listed, token not shown again"
        );
        let bad = ui.post("/ui/apps", &[("name", "")]).await;
        assert_eq!(bad.status, 200, "the form again, with the error");
        assert!(bad.body.contains("app-name-error"), "{}", bad.body);
    }
);

crate::both_backends!(
    a_registration_error_is_shown_next_to_its_field_in_the_apis_words,
    |db| {
        let app = TestAppBuilder::new().start(&db).await;
        let (uuid, token) = app.create_app("demo").await;
        let mut ui = UiClient::signed_in(&app, &token).await;
        let form = [
            ("version", "2.0"),
            ("target_url", "http://example.com/hook"),
            ("events", "message.sent"),
            ("secret", "short"),
        ];
        let api = send(
            app.layer(Method::POST, &format!("/apps/{uuid}/webhooks"), &token)
                .json(&registration("http://example.com/hook", &["message.sent"])),
        )
        .await;
        let api_message = api.json["message"].as_str().expect("message").to_owned();

        let page = ui.post(&format!("/ui/apps/{uuid}/webhooks"), &form).await;

        assert_eq!(page.status, 200, "the form again, with the error");
        let at = page
            .body
            .find("id=\"target_url-error\"")
            .expect("error beside target_url");
        assert!(
            page.body[at..].starts_with(&format!(
                "id=\"target_url-error\" role=\"alert\">{api_message}"
            )),
            "{}",
            &page.body[at..at + 200]
        );
        assert!(
            !page.body.contains("value=\"short\""),
            "the secret is not written back"
        );
        let missing = ui
            .post(&format!("/ui/apps/{uuid}/webhooks"), &[("version", "2.0")])
            .await;
        assert!(
            missing.body.contains("id=\"target_url-error\""),
            "a missing field is named too"
        );
    }
);

crate::both_backends!(
    a_webhook_registered_in_the_dashboard_turns_active_and_its_log_fills,
    |db| {
        let ca = TestCa::new();
        let receiver = TestReceiver::start(&ca).await;
        let (app, uuid, token) = started(&ca, &db).await;
        let mut ui = UiClient::signed_in(&app, &token).await;
        let target = receiver.url("/hook");

        let registered = register(&mut ui, &uuid, &target, "a-long-random-secret-1234").await;

        assert_eq!(registered.status, 303, "{}", registered.body);
        let page = registered.location().to_owned();
        wait_for_text(&mut ui, &page, "badge badge-active").await;
        assert!(
            ui.get(&page).await.body.contains("No delivery yet"),
            "the empty log teaches"
        );
        let (status, _) = app.publish(&uuid, &token, &event("message.sent")).await;
        assert_eq!(status, 202);
        let log = wait_for_text(&mut ui, &page, "badge badge-succeeded").await;
        let link = log
            .find(&format!("{page}/deliveries/"))
            .expect("a link to the delivery");
        let delivery = log[link..].split('"').next().expect("href").to_owned();
        // The charts count the attempt (kept by the recorder, not scanned from the log).
        wait_for_text(
            &mut ui,
            &page,
            "1 succeeded and 0 failed attempts over the last hour",
        )
        .await;
        let day = ui.get(&format!("{page}?window=24h")).await.body;
        assert!(day.contains("1 succeeded and 0 failed attempts over the last 24 hours"));
        let list = ui.get(&format!("/ui/apps/{uuid}")).await.body;
        assert!(list.contains("100.0 %"), "the 24 h success rate");
        let detail = ui.get(&delivery).await;
        assert_eq!(detail.status, 200);
        assert!(
            detail.body.contains("data-label=\"Status code\">204</td>"),
            "the attempt's status code: {}",
            detail.body
        );
    }
);

crate::both_backends!(a_failed_delivery_is_retried_from_its_page, |db| {
    let ca = TestCa::new();
    let receiver = TestReceiver::start(&ca).await;
    let app = TestAppBuilder::new()
        .trust(&ca)
        .set("retry_schedule", "10ms")
        .start(&db)
        .await;
    let hook = Hook::active(&app, &receiver, &["message.sent"]).await;
    receiver.set_default(Behavior::Body(500, "receiver down".into()));
    hook.publish("message.sent").await;
    hook.wait_until("a failed delivery", |all| {
        all.iter().any(|d| d["status"] == "failed")
    })
    .await;
    let mut ui = UiClient::signed_in(&app, &hook.token).await;
    let page = format!("/ui{}", hook.path(""));
    let log = wait_for_text(
        &mut ui,
        &format!("{page}?status=failed"),
        "badge badge-failed",
    )
    .await;
    let link = log.find(&format!("{page}/deliveries/")).expect("link");
    let delivery = log[link..].split('"').next().expect("href").to_owned();
    let detail = ui.get(&delivery).await.body;
    assert!(
        detail.contains("receiver down"),
        "the response body excerpt: {detail}"
    );
    // Exhaustion deactivated the webhook: retry asks to activate it first.
    let refused = ui.post(&format!("{delivery}/retry"), &[]).await;
    assert_eq!(refused.status, 422);
    assert!(refused.body.contains("Activate the webhook first."));
    receiver.set_default(Behavior::EchoChallenge);
    let activated = ui.post(&page, &[("action", "activate")]).await;
    assert_eq!(activated.status, 303);
    wait_for_text(&mut ui, &page, "badge badge-active").await;

    let retried = ui.post(&format!("{delivery}/retry"), &[]).await;

    assert_eq!(
        (retried.status, retried.location()),
        (303, delivery.as_str())
    );
    wait_for_text(&mut ui, &delivery, "badge badge-succeeded").await;
});

crate::both_backends!(
    a_replay_of_more_than_100_deliveries_shows_the_count_and_asks_first,
    |db| {
        let ca = TestCa::new();
        let receiver = TestReceiver::start(&ca).await;
        let app = TestAppBuilder::new().trust(&ca).start(&db).await;
        let hook = Hook::active(&app, &receiver, &["message.sent"]).await;
        let batch = Value::Array((0..101).map(|_| event("message.sent")).collect());
        let (status, body) = app.publish(&hook.uuid, &hook.token, &batch).await;
        assert_eq!(status, 202, "{body}");
        hook.wait_until("101 successes", |all| {
            all.iter().filter(|d| d["status"] == "succeeded").count() == 101
        })
        .await;
        let mut ui = UiClient::signed_in(&app, &hook.token).await;
        let page = format!("/ui{}", hook.path(""));
        ui.get(&page).await;
        let form = [("since", "2000-01-01T00:00:00"), ("status", "succeeded")];

        let asked = ui.post(&format!("{page}/replay"), &form).await;

        assert_eq!(asked.status, 200);
        assert!(
            asked.body.contains("Replay 101 deliveries?"),
            "{}",
            asked.body
        );
        assert!(
            hook.walk(250, "&status=pending").await.is_empty(),
            "nothing queued before confirming"
        );
        let confirmed = ui
            .post(
                &format!("{page}/replay"),
                &[
                    ("since", "2000-01-01T00:00:00Z"),
                    ("status", "succeeded"),
                    ("confirm", "yes"),
                ],
            )
            .await;
        assert!(
            confirmed.body.contains("101 deliveries queued again"),
            "{}",
            confirmed.body
        );
        receiver
            .wait_for_requests(1 + 101 + 101, Duration::from_secs(20))
            .await;
    }
);

crate::both_backends!(deactivate_and_delete_work_from_the_webhook_page, |db| {
    let ca = TestCa::new();
    let receiver = TestReceiver::start(&ca).await;
    let app = TestAppBuilder::new().trust(&ca).start(&db).await;
    let hook = Hook::active(&app, &receiver, &["message.sent"]).await;
    let mut ui = UiClient::signed_in(&app, &hook.token).await;
    let page = format!("/ui{}", hook.path(""));
    ui.get(&page).await;

    let deactivated = ui.post(&page, &[("action", "deactivate")]).await;
    assert_eq!(deactivated.status, 303);
    assert_eq!(hook.webhook().await["status_reason"], "Deactivated by User");
    let confirm = ui.get(&format!("{page}/delete")).await;
    assert!(confirm.body.contains("Delete this webhook?"));
    assert_eq!(
        hook.webhook().await["status"],
        "inactive",
        "asking deletes nothing"
    );
    let deleted = ui.post(&page, &[("action", "delete")]).await;

    assert_eq!(
        (deleted.status, deleted.location()),
        (303, format!("/ui/apps/{}", hook.uuid).as_str())
    );
    assert_eq!(hook.call(Method::GET, "", None).await.0, 404);
});

crate::both_backends!(no_token_appears_in_a_page_or_a_url, |db| {
    let ca = TestCa::new();
    let receiver = TestReceiver::start(&ca).await;
    let app = TestAppBuilder::new().trust(&ca).start(&db).await;
    let hook = Hook::active(&app, &receiver, &["message.sent"]).await;
    hook.publish("message.sent").await;
    hook.wait_until("a success", |all| {
        all.iter().any(|d| d["status"] == "succeeded")
    })
    .await;
    let page = format!("/ui{}", hook.path(""));
    let mut owner = UiClient::signed_in(&app, &hook.token).await;
    let mut admin = UiClient::signed_in(&app, ADMIN_TOKEN).await;
    let log = wait_for_text(&mut owner, &page, "badge badge-succeeded").await;
    let link = log.find(&format!("{page}/deliveries/")).expect("link");
    let delivery = log[link..].split('"').next().expect("href").to_owned();
    let app_page = format!("/ui/apps/{}", hook.uuid);

    for ui in [&mut owner, &mut admin] {
        for path in [
            "/ui/",
            "/ui/apps",
            "/ui/system",
            &app_page,
            &page,
            &delivery,
            &format!("{page}/delete"),
        ] {
            let seen = ui.get(path).await;
            for secret in [hook.token.as_str(), ADMIN_TOKEN, "1697f925ec7b1697f925ec7b"] {
                assert!(!seen.body.contains(secret), "{path} shows a secret");
                assert!(
                    !seen.location().contains(secret),
                    "{path} redirects with a secret"
                );
            }
        }
        let signed_out = ui.post("/ui/signout", &[]).await;
        assert!(!signed_out
            .header("set-cookie")
            .contains(hook.token.as_str()));
    }
});

crate::both_backends!(a_short_secret_is_accepted_with_a_warning, |db| {
    let ca = TestCa::new();
    let receiver = TestReceiver::start(&ca).await;
    let (app, uuid, token) = started(&ca, &db).await;
    let mut ui = UiClient::signed_in(&app, &token).await;
    let target = receiver.url("/hook");

    let registered = register(&mut ui, &uuid, &target, "Frodo is a Dodo").await;

    assert_eq!(registered.status, 303, "{}", registered.body);
    assert!(
        registered.location().ends_with("?short_secret=1"),
        "{}",
        registered.location()
    );
    let page = ui.get(registered.location()).await;
    assert!(
        page.body.contains("shorter than 16 characters"),
        "{}",
        page.body
    );
});

crate::both_backends!(
    the_system_page_counts_the_queue_and_charts_its_samples,
    |db| {
        let ca = TestCa::new();
        let receiver = TestReceiver::start(&ca).await;
        let (app, uuid, token) = started(&ca, &db).await;
        let mut owner = UiClient::signed_in(&app, &token).await;
        let target = receiver.url("/hook");
        let registered = register(&mut owner, &uuid, &target, "a-long-random-secret-1234").await;
        wait_for_text(&mut owner, registered.location(), "badge badge-active").await;
        let mut admin = UiClient::signed_in(&app, ADMIN_TOKEN).await;

        // A worker samples the queue when it starts (then once a minute): the chart has it.
        let page = wait_for_text(&mut admin, "/ui/system", "at the last sample").await;
        assert!(
            page.contains("Over the last hour, at most 0 deliveries"),
            "{page}"
        );
        let day = admin.get("/ui/system?window=24h").await.body;
        assert!(
            day.contains("Over the last 24 hours, at most 0 deliveries"),
            "{day}"
        );

        // The live counts follow the queue: a delivery that fails for good is counted.
        receiver.set_default(Behavior::Body(500, "down".into()));
        let (status, _) = app.publish(&uuid, &token, &event("message.sent")).await;
        assert_eq!(status, 202);
        wait_for_text(
            &mut admin,
            "/ui/system",
            "<dt>Failed (kept, replayable)</dt><dd>1</dd>",
        )
        .await;
        let owner_view = owner.get("/ui/system").await;
        assert_eq!(
            owner_view.status, 404,
            "an app's session has no system page"
        );
    }
);
