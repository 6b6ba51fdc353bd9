//! `hooklayer deliveries list` and `hooklayer replay` through the real binary, on the database
//! of a running server: the same JSON as the API, progress lines on stderr, and the server
//! picking up what the CLI queued.

use super::{event, Hook};
use crate::support::app::TestAppBuilder;
use crate::support::binary::{finish, hooklayer_command, Finished};
use crate::support::receiver::{Behavior, TestCa, TestReceiver};
use reqwest::Method;
use serde_json::{json, Value};

/// Runs `hooklayer <args> --database-url <url>` to completion.
async fn hooklayer(db_url: &str, args: &[&str]) -> Finished {
    let mut cmd = hooklayer_command();
    cmd.args(args).args(["--database-url", db_url]);
    finish(cmd).await
}

/// The one JSON line a successful command printed.
fn printed(out: &Finished) -> Value {
    assert_eq!(out.code, Some(0), "stderr: {}", out.stderr);
    assert_eq!(out.stdout.lines().count(), 1, "{}", out.stdout);
    serde_json::from_str(&out.stdout).expect("stdout is JSON")
}

crate::both_backends!(the_cli_lists_the_log_and_replays_what_failed, |db| {
    let ca = TestCa::new();
    let receiver = TestReceiver::start(&ca).await;
    let app = TestAppBuilder::new().trust(&ca).start(&db).await;
    let hook = Hook::active(&app, &receiver, &["message.sent"]).await;
    receiver.set_default(Behavior::Status(500));
    let batch = json!([event("message.sent"), event("message.sent")]);
    let (status, body) = app.publish(&hook.uuid, &hook.token, &batch).await;
    assert_eq!(status, 202, "{body}");
    hook.wait_until("two failures", |log| {
        log.len() == 2 && log.iter().all(|d| d["status"] == "failed")
    })
    .await;
    let target = ["--app", hook.uuid.as_str(), "--webhook", hook.hook.as_str()];
    let replay = [
        &["replay"][..],
        &target,
        &["--since", "2000-01-01T00:00:00Z"],
    ]
    .concat();

    // Like the API, replay refuses a webhook that is not active.
    let refused = hooklayer(&db.url, &replay).await;
    assert_eq!(refused.code, Some(1), "{}", refused.stderr);
    assert!(
        refused.stderr.contains("activate it first"),
        "{}",
        refused.stderr
    );

    receiver.set_default(Behavior::EchoChallenge);
    let (status, _) = hook.call(Method::POST, "/activate", None).await;
    assert_eq!(status, 200);
    app.wait_for_status(&hook.uuid, &hook.token, &hook.hook, "active")
        .await;
    let out = hooklayer(&db.url, &replay).await;

    assert_eq!(printed(&out), json!({"queued": 2}));
    assert!(
        out.stderr.contains("queueing failed deliveries"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("queued 2 deliveries"), "{}", out.stderr);
    // The server's poll finds what the CLI queued.
    hook.wait_until("the replayed successes", |log| {
        log.iter().all(|d| d["status"] == "succeeded")
    })
    .await;

    // `deliveries list` prints what the API answers, page by page.
    let list = [&["deliveries", "list"][..], &target, &["--limit", "1"]].concat();
    let first = printed(&hooklayer(&db.url, &list).await);
    assert_eq!(first, hook.page("limit=1").await);
    let cursor = first["next_cursor"].as_str().expect("a second page");
    let second = printed(&hooklayer(&db.url, &[&list[..], &["--cursor", cursor]].concat()).await);
    assert_eq!(second, hook.page(&format!("limit=1&cursor={cursor}")).await);
    assert_eq!(second["next_cursor"], Value::Null);
    let failed = printed(&hooklayer(&db.url, &[&list[..], &["--status", "failed"]].concat()).await);
    assert_eq!(failed, json!({"data": [], "next_cursor": null}));

    // Bad values are refused, naming the flag.
    let bad_cursor = hooklayer(&db.url, &[&list[..], &["--cursor", "nope"]].concat()).await;
    assert_eq!(bad_cursor.code, Some(1));
    assert!(
        bad_cursor.stderr.contains("--cursor"),
        "{}",
        bad_cursor.stderr
    );
    let bad_since = hooklayer(
        &db.url,
        &[&["replay"][..], &target, &["--since", "yesterday"]].concat(),
    )
    .await;
    assert_eq!(bad_since.code, Some(1));
    assert!(bad_since.stderr.contains("--since"), "{}", bad_since.stderr);
    let unknown = uuid::Uuid::new_v4().to_string();
    let other = [
        "deliveries",
        "list",
        "--app",
        hook.uuid.as_str(),
        "--webhook",
        unknown.as_str(),
    ];
    let missing = hooklayer(&db.url, &other).await;
    assert_eq!(missing.code, Some(1));
    assert!(
        missing.stderr.contains("has no webhook"),
        "{}",
        missing.stderr
    );
    app.stop().await;
});
