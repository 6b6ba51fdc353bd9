//! Sign-in, sessions, CSRF, CSP and the switch that turns the dashboard off.

use super::UiClient;
use crate::support::app::{send, TestAppBuilder, ADMIN_TOKEN};
use reqwest::Method;

crate::both_backends!(
    the_session_cookie_is_http_only_strict_and_lasts_12_hours,
    |db| {
        let app = TestAppBuilder::new().start(&db).await;
        let (_, token) = app.create_app("demo").await;
        let mut ui = UiClient::new(&app);

        let answer = ui.sign_in(&token).await;

        assert_eq!(answer.status, 303);
        assert_eq!(answer.location(), "/ui/");
        let cookie = ui.set_cookie.clone();
        for flag in ["HttpOnly", "SameSite=Strict", "Max-Age=43200", "Path=/ui"] {
            assert!(cookie.contains(flag), "{flag} missing from {cookie}");
        }
        assert!(!cookie.contains("Secure"), "http PUBLIC_URL: {cookie}");
        assert!(
            !cookie.contains(&token),
            "the cookie must not carry the token"
        );
        assert!(!cookie.contains(ADMIN_TOKEN));
    }
);

crate::both_backends!(the_cookie_is_secure_when_the_public_url_is_https, |db| {
    let app = TestAppBuilder::new()
        .set("public_url", "https://hooks.example.com")
        .start(&db)
        .await;
    let mut ui = UiClient::new(&app);

    // A client that sends no Origin (the browser would send https://hooks.example.com).
    let answer = ui
        .post_raw("/ui/signin", &[("token", ADMIN_TOKEN)], None)
        .await;

    assert_eq!(answer.status, 303);
    let cookie = answer.header("set-cookie");
    assert!(cookie.contains("; Secure"), "{cookie}");
});

crate::both_backends!(
    every_dashboard_answer_carries_the_content_security_policy,
    |db| {
        let app = TestAppBuilder::new().start(&db).await;
        let mut ui = UiClient::signed_in(&app, ADMIN_TOKEN).await;

        for path in [
            "/ui/",
            "/ui/apps",
            "/ui/system",
            "/ui/assets/app.js",
            "/ui/apps/nope",
        ] {
            let page = ui.get(path).await;
            let csp = page.header("content-security-policy");
            assert!(
                csp.starts_with("default-src 'self'; frame-ancestors 'none'"),
                "{path}: {csp:?}"
            );
            assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
            assert_eq!(page.header("x-content-type-options"), "nosniff", "{path}");
        }
        // No inline script or style anywhere: every script has a src, nothing has an on…= handler.
        let apps = ui.get("/ui/apps").await.body;
        assert_eq!(
            apps.matches("<script").count(),
            apps.matches("<script src=\"/ui/assets/app.js\"").count()
        );
        assert!(
            !apps.contains(" style=") && !apps.contains(" onclick="),
            "{apps}"
        );
    }
);

crate::both_backends!(
    a_write_without_the_sessions_csrf_token_or_from_another_site_is_refused,
    |db| {
        let app = TestAppBuilder::new().start(&db).await;
        let (uuid, token) = app.create_app("demo").await;
        let mut ui = UiClient::signed_in(&app, ADMIN_TOKEN).await;
        let good = ui.csrf.clone();
        let origin = app.base.clone();
        let path = format!("/ui/apps/{uuid}/tokens");

        let without = ui.post_raw(&path, &[], Some(&origin)).await;
        let wrong = ui
            .post_raw(&path, &[("csrf", "not-the-token")], Some(&origin))
            .await;
        let foreign = ui
            .post_raw(&path, &[("csrf", &good)], Some("https://evil.example"))
            .await;
        let signed_out = UiClient::new(&app)
            .post_raw(&path, &[("csrf", &good)], Some(&origin))
            .await;

        assert_eq!(
            (without.status, wrong.status, foreign.status),
            (403, 403, 403)
        );
        assert_eq!(signed_out.status, 303, "no session: sent to sign in");
        assert!(!without.body.contains("hlk_"), "no token was issued");
        let allowed = ui.post_raw(&path, &[("csrf", &good)], Some(&origin)).await;
        assert_eq!(allowed.status, 200, "{}", allowed.body);
        assert!(allowed.body.contains("hlk_"), "the new token is shown once");
        let _ = token;
    }
);

crate::both_backends!(
    a_wrong_token_shows_an_error_and_slows_further_attempts,
    |db| {
        let app = TestAppBuilder::new().start(&db).await;
        let (_, token) = app.create_app("demo").await;
        let mut ui = UiClient::new(&app);

        let first = ui.sign_in("hlk_wrong").await;
        assert_eq!(first.status, 200, "the sign-in form again, with the error");
        assert!(
            first.body.contains("That token is not valid"),
            "{}",
            first.body
        );
        assert!(
            !first.body.contains("hlk_wrong"),
            "the typed token is not echoed"
        );
        for _ in 1..5 {
            assert!(ui
                .sign_in("hlk_wrong")
                .await
                .body
                .contains("That token is not valid"));
        }
        let throttled = ui.sign_in(&token).await;

        assert_eq!(throttled.status, 429, "{}", throttled.body);
        assert!(throttled
            .header("retry-after")
            .parse::<u64>()
            .is_ok_and(|s| s >= 1));
        assert!(ui.cookie.is_none(), "no session while throttled");
    }
);

crate::both_backends!(signing_out_ends_the_session_on_the_server, |db| {
    let app = TestAppBuilder::new().start(&db).await;
    let mut ui = UiClient::signed_in(&app, ADMIN_TOKEN).await;
    let old_cookie = ui.cookie.clone();

    let out = ui.post("/ui/signout", &[]).await;

    assert_eq!(out.status, 303);
    assert!(out.header("set-cookie").contains("Max-Age=0"));
    ui.cookie = old_cookie;
    let after = ui.get("/ui/apps").await;
    assert_eq!(
        (after.status, after.location()),
        (303, "/ui/"),
        "a replayed cookie is dead"
    );
});

crate::both_backends!(deleting_an_app_ends_its_dashboard_sessions, |db| {
    let app = TestAppBuilder::new().start(&db).await;
    let (uuid, token) = app.create_app("demo").await;
    let mut ui = UiClient::signed_in(&app, &token).await;
    assert_eq!(ui.get(&format!("/ui/apps/{uuid}")).await.status, 200);

    let deleted = send(app.admin(Method::DELETE, &format!("/admin/apps/{uuid}"))).await;

    assert_eq!(deleted.status, 204);
    let after = ui.get(&format!("/ui/apps/{uuid}")).await;
    assert_eq!((after.status, after.location()), (303, "/ui/"));
});

crate::both_backends!(a_session_survives_a_restart_of_the_server, |db| {
    let app = TestAppBuilder::new().start(&db).await;
    let (uuid, token) = app.create_app("demo").await;
    let ui = UiClient::signed_in(&app, &token).await;
    let cookie = ui.cookie.clone();

    let app = app.restart().await;

    let mut ui = UiClient::new(&app);
    ui.cookie = cookie;
    assert_eq!(ui.get(&format!("/ui/apps/{uuid}")).await.status, 200);
});

crate::both_backends!(an_app_session_sees_only_its_app, |db| {
    let app = TestAppBuilder::new().start(&db).await;
    let (_, token) = app.create_app("mine").await;
    let (other, _) = app.create_app("theirs").await;
    let mut ui = UiClient::signed_in(&app, &token).await;

    assert_eq!(ui.get(&format!("/ui/apps/{other}")).await.status, 404);
    assert_eq!(
        ui.get("/ui/apps").await.status,
        404,
        "the operator's pages do not exist"
    );
    assert_eq!(ui.get("/ui/system").await.status, 404);
    let token_for_other = ui.post(&format!("/ui/apps/{other}/tokens"), &[]).await;
    assert_eq!(token_for_other.status, 404);
});

#[tokio::test]
async fn the_dashboard_is_off_with_hooklayer_ui_false() {
    let db = crate::support::db::TestDb::sqlite();
    let app = TestAppBuilder::new().set("ui", "false").start(&db).await;
    let mut ui = UiClient::new(&app);

    for path in ["/ui/", "/ui/assets/app.js", "/ui/apps"] {
        assert_eq!(ui.get(path).await.status, 404, "{path}");
    }
    assert_eq!(ui.sign_in(ADMIN_TOKEN).await.status, 404);
}
