//! The dashboard in a real headless Chromium, at 1280×800 and 390×844: sign in with a wrong
//! token, an app token and the admin token; register a webhook against the HTTPS receiver and
//! watch it turn active without reloading; publish and watch the log fill; open a failed
//! delivery and retry it; replay; rotate the secret; deactivate; delete; sign out; every
//! control of every page reachable by keyboard (Tab), the webhook page's settings, rotation
//! and delete confirmation included; the system page's queue chart; no console error.
//! Screenshots go to `target/screenshots/` (the best are in `docs/img/`).

use crate::delivery_log::event;
use crate::support::app::{started, ADMIN_TOKEN};
use crate::support::browser::Browser;
use crate::support::db::TestDb;
use crate::support::receiver::{Behavior, TestCa, TestReceiver};
use std::path::PathBuf;

const SIZES: [(u32, u32, &str); 2] = [(1280, 800, "desktop"), (390, 844, "phone")];

fn screenshot_dir() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../target/screenshots"
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_works_in_a_real_browser_at_desktop_and_phone_sizes() {
    let Some(browser) = Browser::start("dashboard browser test").await else {
        return;
    };
    let db = TestDb::sqlite();
    let ca = TestCa::new();
    let receiver = TestReceiver::start(&ca).await;
    let (app, uuid, token) = started(&ca, &db).await;
    let shots = screenshot_dir();
    let b = &browser;

    for (width, height, size) in SIZES {
        b.client
            .set_window_size(width, height)
            .await
            .expect("window size");
        receiver.set_default(Behavior::EchoChallenge);

        // A wrong token: an error on the sign-in page.
        b.client.goto(&app.url("/ui/")).await.expect("open /ui/");
        b.type_into("#token", "hlk_not-a-token").await;
        b.click("button[type=submit]").await;
        b.wait_for_text("#token-error", "That token is not valid")
            .await;
        if size == "desktop" {
            every_control_by_tab(b, "sign-in").await;
            b.screenshot(&shots, "signin").await;
        }

        // The app's owner signs in and lands on the (empty) webhook list.
        b.type_into("#token", &token).await;
        b.click("button[type=submit]").await;
        b.wait_for_text("main", "No webhook yet").await;
        b.screenshot(&shots, &format!("webhooks-empty-{size}"))
            .await;
        if size == "desktop" {
            every_control_by_tab(b, "app page").await;
        }

        // A plain-http target: the API's error appears next to the field; then the right one.
        // The page turns active without a reload.
        b.type_into("#target_url", "http://example.com/hook").await;
        b.click("input[name=events][value='message.sent']").await;
        b.type_into("#secret", "a-long-random-secret-for-the-tour")
            .await;
        b.click("form[action$='/webhooks'] button[type=submit]")
            .await;
        b.wait_for_text("#target_url-error", "https").await;
        if size == "desktop" {
            b.screenshot(&shots, "register-error").await;
        }
        b.type_into("#target_url", &receiver.url(&format!("/{size}")))
            .await;
        b.type_into("#secret", "a-long-random-secret-for-the-tour")
            .await;
        b.click("form[action$='/webhooks'] button[type=submit]")
            .await;
        b.wait_for_text("#status .badge-active", "active").await;
        let page = b.client.current_url().await.expect("url").to_string();

        // Publish: the log fills by itself.
        for _ in 0..3 {
            let (status, _) = app.publish(&uuid, &token, &event("message.sent")).await;
            assert_eq!(status, 202);
        }
        b.wait_for_text("#log .badge-succeeded", "succeeded").await;
        b.screenshot(&shots, &format!("webhook-{size}")).await;
        if size == "desktop" {
            // Actions, charts, log, replay, and the settings and rotation forms.
            every_control_by_tab(b, "webhook page").await;
        }
        b.wait_for_text("#charts", "3 succeeded").await;
        b.client
            .execute(
                "document.getElementById('charts-title').scrollIntoView();",
                vec![],
            )
            .await
            .expect("scroll");
        b.screenshot(&shots, &format!("charts-{size}")).await;
        b.client
            .goto(&app.url(&format!("/ui/apps/{uuid}")))
            .await
            .expect("webhook list");
        b.wait_for_text("#webhooks", "100.0 %").await;
        b.screenshot(&shots, &format!("webhooks-{size}")).await;
        b.client.goto(&page).await.expect("webhook page");

        // A failing receiver: the delivery fails, the webhook is deactivated (retry schedule
        // of the tests: 50 ms, 100 ms).
        receiver.set_default(Behavior::Body(500, "receiver down".into()));
        let (status, _) = app.publish(&uuid, &token, &event("message.sent")).await;
        assert_eq!(status, 202);
        b.wait_for_text("#status .badge-inactive", "inactive").await;
        b.wait_for_text("#log .badge-failed", "failed").await;
        receiver.set_default(Behavior::EchoChallenge);
        b.click("form input[value=activate] ~ button").await;
        b.wait_for_text("#status .badge-active", "active").await;
        b.client
            .goto(&format!("{page}?status=failed"))
            .await
            .expect("filter");
        b.click("#log tbody a").await;
        b.wait_for_text("#delivery", "receiver down").await;
        b.screenshot(&shots, &format!("delivery-{size}")).await;
        if size == "desktop" {
            every_control_by_tab(b, "delivery page").await;
        }
        b.click("form[action$='/retry'] button").await;
        b.wait_for_text("#delivery .badge-succeeded", "succeeded")
            .await;

        // Replay every succeeded delivery of the last hour (under 100: no question asked).
        b.client.goto(&page).await.expect("webhook page");
        b.client
            .find(fantoccini::Locator::Css("#replay-status"))
            .await
            .expect("replay status")
            .select_by_value("succeeded")
            .await
            .expect("select");
        b.click("form[action$='/replay'] button").await;
        b.wait_for_text("main", "deliveries queued again").await;

        // Rotate the secret to a short one: rotated, with the warning and a history entry.
        b.client.goto(&page).await.expect("webhook page");
        b.type_into("#secret", "too-short").await;
        b.click("form[action$='/secret'] button").await;
        b.wait_for_text("main", "Secret rotated.").await;
        b.wait_for_text("main .warning", "shorter than 16 characters")
            .await;
        b.wait_for_text("#changes", "secret").await;
        b.client
            .execute(
                "document.getElementById('change').scrollIntoView();",
                vec![],
            )
            .await
            .expect("scroll");
        b.screenshot(&shots, &format!("settings-{size}")).await;

        // Deactivate, then delete after the confirmation page.
        b.client.goto(&page).await.expect("webhook page");
        b.click("form input[value=deactivate] ~ button").await;
        b.wait_for_text("#status", "Deactivated by User").await;
        b.click("a[href$='/delete']").await;
        b.wait_for_text("main", "Delete this webhook?").await;
        if size == "desktop" {
            every_control_by_tab(b, "delete confirmation").await;
        } else {
            b.screenshot(&shots, "delete-phone").await;
        }
        b.click("form input[value=delete] ~ button").await;
        b.wait_for_text("main", "No webhook yet").await;

        // Sign out, then the operator signs in.
        b.click("form.signout button").await;
        b.wait_for_text("main", "Sign in").await;
        b.type_into("#token", ADMIN_TOKEN).await;
        b.click("button[type=submit]").await;
        b.wait_for_text("#apps", "demo").await;
        b.screenshot(&shots, &format!("apps-{size}")).await;
        if size == "desktop" {
            every_control_by_tab(b, "apps page").await;
        }
        b.click("a[href='/ui/system']").await;
        b.wait_for_text("#system", "Due now").await;
        // The queue chart has the sample the worker took when it started.
        b.wait_for_text("#queue-chart", "at the last sample").await;
        b.screenshot(&shots, &format!("system-{size}")).await;
        if size == "desktop" {
            every_control_by_tab(b, "system page").await;
        }
        b.click("form.signout button").await;
        b.wait_for_text("main", "Sign in").await;

        let errors = b.console_errors().await;
        assert!(errors.is_empty(), "console errors at {size}: {errors:#?}");
    }
}

/// Tabs through the page until focus comes back around and checks that every link, button
/// and field of the page took focus on the way.
async fn every_control_by_tab(b: &Browser, page: &str) {
    let controls = b.controls().await;
    let order = b.tab_order(controls.len() * 2 + 10).await;
    for control in &controls {
        assert!(
            order.contains(control),
            "{page}: {control} not reachable by Tab: {order:?}"
        );
    }
}
