//! A webhook's settings page: changing the target, events, config and delivery settings and
//! rotating the secret through the dashboard's forms is the API's `PATCH` (the same checks,
//! messages, change history, verification of a new target and signatures during the
//! overlap window).

use super::UiClient;
use crate::delivery::{layer_signature, setup, wait_posts, Setup, SECRET};
use crate::support::app::{registration, webhook_uuid, TestAppBuilder};
use crate::support::db::TestDb;
use crate::webhook_changes::{changes, patch};
use serde_json::{json, Value};

/// A server with one active webhook on the receiver's `/hook`, and a dashboard session of its
/// app on the webhook's page (whose path is returned).
async fn on_settings_page(db: &TestDb) -> (Setup, UiClient, String) {
    let s = setup(
        db,
        TestAppBuilder::new(),
        registration("", &["message.sent"]),
    )
    .await;
    let mut ui = UiClient::signed_in(&s.app, &s.token).await;
    let page = format!("/ui/apps/{}/webhooks/{}", s.uuid, webhook_uuid(&s.hook));
    let shown = ui.get(&page).await;
    assert_eq!(shown.status, 200, "{}", shown.body);
    (s, ui, page)
}

/// The keys of each entry of the change history, newest first.
async fn history(s: &Setup) -> Vec<Value> {
    let reply = changes(s).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let data = reply.json["data"].as_array().expect("data").clone();
    data.into_iter().map(|c| c["keys"].clone()).collect()
}

crate::both_backends!(
    the_settings_form_changes_events_config_and_delivery_as_patch_does,
    |db| {
        let (s, mut ui, page) = on_settings_page(&db).await;
        let target = s.receiver.url("/hook");
        let form = [
            ("target_url", target.as_str()),
            ("events", "message.sent"),
            ("events", "message.read"),
            ("config", "{\"team\": \"blue\"}"),
            ("rate_limit", "5"),
            ("max_in_flight", "3"),
            ("ordered", "true"),
        ];

        let saved = ui.post(&format!("{page}/settings"), &form).await;

        assert_eq!(
            (saved.status, saved.location()),
            (303, format!("{page}?saved=1").as_str()),
            "{}",
            saved.body
        );
        let hook = s.hook_now().await;
        assert_eq!(hook["events"], json!(["message.sent", "message.read"]));
        assert_eq!(hook["config"], json!({"team": "blue"}));
        assert_eq!(
            hook["delivery"],
            json!({"rate_limit": 5, "max_in_flight": 3, "ordered": true})
        );
        assert_eq!(
            hook["status"], "active",
            "the same target is not verified again"
        );
        assert_eq!(
            history(&s).await,
            vec![json!(["events", "config", "delivery"])]
        );
        let shown = ui.get(&format!("{page}?saved=1")).await.body;
        assert!(shown.contains("Settings saved."), "{shown}");
        assert!(
            shown.contains("<td>events, config, delivery</td>"),
            "{shown}"
        );
        assert!(
            shown.contains("value=\"5\""),
            "the form shows the new rate limit"
        );

        // The same form again changes nothing; an empty rate limit and no ordering go back.
        ui.post(&format!("{page}/settings"), &form).await;
        assert_eq!(
            history(&s).await.len(),
            1,
            "a key set to its value is no change"
        );
        let back = [
            ("target_url", target.as_str()),
            ("events", "message.sent"),
            ("config", ""),
            ("rate_limit", ""),
            ("max_in_flight", "3"),
        ];
        assert_eq!(
            ui.post(&format!("{page}/settings"), &back).await.status,
            303
        );
        let hook = s.hook_now().await;
        assert_eq!(hook["config"], json!({}));
        assert_eq!(
            hook["delivery"],
            json!({"rate_limit": null, "max_in_flight": 3, "ordered": false})
        );
    }
);

crate::both_backends!(
    a_new_target_from_the_settings_form_is_verified_again,
    |db| {
        let (s, mut ui, page) = on_settings_page(&db).await;
        let moved = s.receiver.url("/moved");
        let form = [
            ("target_url", moved.as_str()),
            ("events", "message.sent"),
            ("config", "{}"),
        ];

        let saved = ui.post(&format!("{page}/settings"), &form).await;

        assert_eq!(saved.status, 303, "{}", saved.body);
        let hook = s
            .app
            .wait_for_status(&s.uuid, &s.token, &webhook_uuid(&s.hook), "active")
            .await;
        assert_eq!(hook["target_url"], moved.as_str());
        let challenged = s
            .receiver
            .requests()
            .iter()
            .any(|r| r.method == "GET" && r.path_and_query.starts_with("/moved"));
        assert!(challenged, "the new target got its own challenge");
        assert_eq!(history(&s).await, vec![json!(["target_url"])]);
    }
);

crate::both_backends!(
    a_bad_setting_is_shown_next_to_its_field_in_the_apis_words_and_changes_nothing,
    |db| {
        let (s, mut ui, page) = on_settings_page(&db).await;
        let target = s.receiver.url("/hook");
        let cases: [(&str, &str, Value); 4] = [
            ("rate_limit", "0", json!({"delivery": {"rate_limit": 0}})),
            (
                "max_in_flight",
                "1.5",
                json!({"delivery": {"max_in_flight": 1.5}}),
            ),
            ("config", "[1]", json!({"config": [1]})),
            (
                "target_url",
                "http://example.com/hook",
                json!({"target_url": "http://example.com/hook"}),
            ),
        ];
        for (field, value, api_body) in cases {
            let api = patch(&s, &api_body).await;
            assert_eq!(api.status, 422, "{}", api.text);
            let property = api.json["data"]["property"]
                .as_str()
                .expect("property")
                .to_owned();
            let message = api.json["message"].as_str().expect("message").to_owned();
            let mut form = vec![
                ("target_url", target.as_str()),
                ("events", "message.sent"),
                ("config", "{}"),
            ];
            form.retain(|(k, _)| *k != field);
            form.push((field, value));

            let shown = ui.post(&format!("{page}/settings"), &form).await;

            assert_eq!(shown.status, 200, "{field}: the page again, with the error");
            let expected = format!("id=\"{property}-error\" role=\"alert\">{message}<");
            assert!(
                shown.body.contains(&expected),
                "{field}: {expected} in {}",
                shown.body
            );
        }
        // No events checked: the API's "events" error.
        let none = [("target_url", target.as_str()), ("config", "{}")];
        let shown = ui.post(&format!("{page}/settings"), &none).await;
        assert!(shown.body.contains("id=\"events-error\""), "{}", shown.body);
        assert!(history(&s).await.is_empty(), "nothing changed");
        assert_eq!(s.hook_now().await["target_url"], target.as_str());
    }
);

crate::both_backends!(
    rotating_the_secret_warns_under_16_characters_and_both_secrets_sign_in_the_window,
    |db| {
        let (s, mut ui, page) = on_settings_page(&db).await;
        let empty = ui.post(&format!("{page}/secret"), &[("secret", "")]).await;
        assert_eq!(empty.status, 200);
        assert!(empty.body.contains("id=\"secret-error\""), "{}", empty.body);

        let rotated = ui
            .post(&format!("{page}/secret"), &[("secret", "short-new")])
            .await;

        assert_eq!(
            (rotated.status, rotated.location()),
            (303, format!("{page}?rotated=1&short_secret=1").as_str())
        );
        let shown = ui.get(rotated.location()).await.body;
        assert!(shown.contains("Secret rotated."), "{shown}");
        assert!(shown.contains("shorter than 16 characters"), "the warning");
        assert!(!shown.contains("short-new"), "the secret is never shown");
        assert_eq!(history(&s).await, vec![json!(["secret"])]);
        let (status, _) = s.publish_message("after-rotation").await;
        assert_eq!(status, 202);
        let posts = wait_posts(&s.receiver, 1).await;
        let request = &posts[0];
        assert_eq!(
            request.header("layer-webhook-signature"),
            Some(layer_signature("short-new", &request.body).as_str()),
            "the Layer signature uses the new secret"
        );
        let standard = request.header("webhook-signature").expect("signature");
        assert_eq!(
            standard.split(' ').count(),
            2,
            "new and previous: {standard}"
        );
        let verify = |secret: &str| {
            hooklayer_verify::Verifier::new(secret)
                .verify_standard(&request.headers, &request.body)
                .is_ok()
        };
        assert!(
            verify("short-new") && verify(SECRET),
            "each secret of the window verifies"
        );

        let long = ui
            .post(
                &format!("{page}/secret"),
                &[("secret", "a-long-random-secret-0123456789")],
            )
            .await;
        assert_eq!(long.location(), format!("{page}?rotated=1"), "no warning");
    }
);

crate::both_backends!(a_settings_form_without_the_csrf_token_is_refused, |db| {
    let (s, mut ui, page) = on_settings_page(&db).await;
    let origin = s.app.base.clone();
    for path in ["settings", "secret"] {
        let refused = ui
            .post_raw(
                &format!("{page}/{path}"),
                &[("secret", "x-0123456789abcdef")],
                Some(&origin),
            )
            .await;
        assert_eq!(refused.status, 403, "{path}");
    }
    assert!(history(&s).await.is_empty());
});
