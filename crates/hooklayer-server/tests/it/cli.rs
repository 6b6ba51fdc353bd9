//! The `hooklayer` command line through the real binary (SPEC §1): app and token commands on
//! the server's database, the help text, bad configuration (exit 2, one line naming the env
//! var), and which layer of settings wins.

use crate::support::app::{object_keys, send, TestAppBuilder};
use crate::support::binary::{finish, hooklayer_command, Finished};
use crate::support::db::TestDb;
use reqwest::Method;
use serde_json::Value;
use std::path::Path;

/// Every setting of SPEC §1 with the default the help must show.
const SETTINGS: &[(&str, &str)] = &[
    ("HOOKLAYER_LISTEN", "127.0.0.1:8080"),
    ("HOOKLAYER_DATABASE_URL", "sqlite://hooklayer.db"),
    ("HOOKLAYER_PUBLIC_URL", "http://<listen>"),
    ("HOOKLAYER_ADMIN_TOKEN", "unset"),
    ("HOOKLAYER_TRUSTED_CA", "unset"),
    ("HOOKLAYER_ALLOW_TARGETS", "empty"),
    ("HOOKLAYER_ALLOW_HTTP_TARGETS", "false"),
    ("HOOKLAYER_DELIVERY_TIMEOUT", "1s"),
    ("HOOKLAYER_RETRY_SCHEDULE", "10s,30s,2m,5m,20m"),
    ("HOOKLAYER_MAX_PAYLOAD", "256KiB"),
    ("HOOKLAYER_RETENTION", "7d"),
    ("HOOKLAYER_MAX_IN_FLIGHT_PER_WEBHOOK", "16"),
    ("HOOKLAYER_ROLE", "all"),
    ("HOOKLAYER_RATE_LIMIT", "10000"),
    ("HOOKLAYER_LEASE", "30s"),
    ("HOOKLAYER_SQLITE_SYNC", "full"),
    ("HOOKLAYER_LOG", "info"),
    ("HOOKLAYER_LOG_FORMAT", "text"),
];

/// Runs `hooklayer <args>` to completion.
async fn run(args: &[&str]) -> Finished {
    let mut cmd = hooklayer_command();
    cmd.args(args);
    finish(cmd).await
}

/// Runs `hooklayer <args>` with extra environment variables.
async fn run_with_env(args: &[&str], env: &[(&str, &str)]) -> Finished {
    let mut cmd = hooklayer_command();
    cmd.args(args).env("HOOKLAYER_LISTEN", "127.0.0.1:0");
    for (key, value) in env {
        cmd.env(key, value);
    }
    finish(cmd).await
}

/// The single JSON value a command printed on stdout.
fn printed(out: &Finished) -> Value {
    assert_eq!(out.code, Some(0), "stderr: {}", out.stderr);
    assert_eq!(
        out.stdout.lines().count(),
        1,
        "one line on stdout: {}",
        out.stdout
    );
    serde_json::from_str(&out.stdout).expect("stdout is JSON")
}

/// Asserts a start refused for bad configuration: exit code 2 and one stderr line naming `env`.
fn assert_refused(out: &Finished, env: &str) {
    assert_eq!(
        out.code,
        Some(2),
        "stdout: {} stderr: {}",
        out.stdout,
        out.stderr
    );
    let lines: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect();
    assert_eq!(lines.len(), 1, "one line on stderr: {}", out.stderr);
    assert!(lines[0].starts_with(env), "{}", lines[0]);
}

#[tokio::test]
async fn apps_create_prints_one_app_whose_token_opens_a_server_on_that_database() {
    let db = TestDb::sqlite();

    let out = run(&[
        "apps",
        "create",
        "--name",
        "demo",
        "--database-url",
        &db.url,
    ])
    .await;

    let created = printed(&out);
    assert_eq!(
        object_keys(&created),
        ["id", "uuid", "name", "created_at", "token"]
    );
    let uuid = created["uuid"].as_str().unwrap();
    assert_eq!(created["id"], format!("layer:///apps/{uuid}"));
    assert_eq!(created["name"], "demo");
    let app = TestAppBuilder::new().start(&db).await;
    let token = created["token"].as_str().unwrap();
    let list = send(app.layer(Method::GET, &format!("/apps/{uuid}/webhooks"), token)).await;
    assert_eq!((list.status, list.text.as_str()), (200, "[]"));
    app.stop().await;
}

#[tokio::test]
async fn apps_list_prints_a_json_array_oldest_first_without_tokens() {
    let db = TestDb::sqlite();
    let first = printed(
        &run(&[
            "apps",
            "create",
            "--name",
            "first",
            "--database-url",
            &db.url,
        ])
        .await,
    );
    let second = printed(
        &run(&[
            "--database-url",
            &db.url,
            "apps",
            "create",
            "--name",
            "second",
        ])
        .await,
    );

    let out = run(&["apps", "list", "--database-url", &db.url]).await;

    let apps = printed(&out);
    let names: Vec<&Value> = apps
        .as_array()
        .expect("array")
        .iter()
        .map(|a| &a["name"])
        .collect();
    assert_eq!(names, ["first", "second"]);
    assert_eq!(apps[1]["uuid"], second["uuid"]);
    assert_eq!(object_keys(&apps[0]), ["id", "uuid", "name", "created_at"]);
    for token in [&first["token"], &second["token"]] {
        assert!(!out.stdout.contains(token.as_str().unwrap()));
    }
    let empty = run(&["apps", "list", "--database-url", &TestDb::sqlite().url]).await;
    assert_eq!(printed(&empty), Value::Array(vec![]));
}

#[tokio::test]
async fn tokens_create_issues_another_working_token() {
    let db = TestDb::sqlite();
    let app = printed(
        &run(&[
            "apps",
            "create",
            "--name",
            "demo",
            "--database-url",
            &db.url,
        ])
        .await,
    );
    let uuid = app["uuid"].as_str().unwrap();

    let out = run(&["tokens", "create", "--app", uuid, "--database-url", &db.url]).await;

    let issued = printed(&out);
    assert_eq!(object_keys(&issued), ["token"]);
    let token = issued["token"].as_str().unwrap();
    assert_ne!(Some(token), app["token"].as_str());
    let server = TestAppBuilder::new().start(&db).await;
    let list = send(server.layer(Method::GET, &format!("/apps/{uuid}/webhooks"), token)).await;
    assert_eq!(list.status, 200, "{}", list.text);
    server.stop().await;
    for app in ["0b9c1a2e-5f4d-4c3b-8a79-6e5d4c3b2a19", "not-a-uuid"] {
        let refused = run(&["tokens", "create", "--app", app, "--database-url", &db.url]).await;
        assert_eq!(
            (refused.code, refused.stdout.as_str()),
            (Some(1), ""),
            "{}",
            refused.stderr
        );
        assert_eq!(refused.stderr.lines().count(), 1, "{}", refused.stderr);
    }
}

#[tokio::test]
async fn help_names_every_setting_with_its_env_var_and_default() {
    for args in [&["--help"][..], &["serve", "--help"]] {
        let out = run(args).await;

        assert_eq!(out.code, Some(0), "{}", out.stderr);
        // One entry per flag: the text from one `--flag` to the next, whitespace collapsed.
        let help = out.stdout.split_whitespace().collect::<Vec<_>>().join(" ");
        for (env, default) in SETTINGS {
            // `[env: NAME=value]`, or `[env: NAME]` where the value is hidden (admin token).
            let named = |e: &&str| {
                e.contains(&format!("[env: {env}=")) || e.contains(&format!("[env: {env}]"))
            };
            let entry = help
                .split(" --")
                .find(named)
                .unwrap_or_else(|| panic!("{args:?}: no entry for {env}: {help}"));
            assert!(
                entry.contains(&format!("[default: {default}]")),
                "{args:?}: {env} without its default {default}: {entry}"
            );
        }
        if args.len() == 1 {
            for command in ["serve", "migrate", "apps", "tokens"] {
                assert!(help.contains(&format!(" {command} ")), "{command}: {help}");
            }
        }
    }
}

#[tokio::test]
async fn an_unparsable_retry_schedule_exits_2_naming_its_env_var() {
    let out = run_with_env(&["serve"], &[("HOOKLAYER_RETRY_SCHEDULE", "abc")]).await;

    assert_refused(&out, "HOOKLAYER_RETRY_SCHEDULE");
    assert!(
        out.stderr.contains("\"abc\" is not a duration"),
        "{}",
        out.stderr
    );
    let flag = run_with_env(&["serve", "--delivery-timeout", "soon"], &[]).await;
    assert_refused(&flag, "HOOKLAYER_DELIVERY_TIMEOUT");
}

#[tokio::test]
async fn every_unusable_setting_exits_2_naming_its_env_var() {
    let cases = [
        ("HOOKLAYER_LISTEN", "nope"),
        ("HOOKLAYER_PUBLIC_URL", "not a url"),
        ("HOOKLAYER_PUBLIC_URL", "ftp://hooks.example.com"),
        ("HOOKLAYER_ALLOW_TARGETS", "10.0.0.0/33"),
        ("HOOKLAYER_ALLOW_HTTP_TARGETS", "maybe"),
        ("HOOKLAYER_DELIVERY_TIMEOUT", "0s"),
        ("HOOKLAYER_RETRY_SCHEDULE", "10s,soon"),
        ("HOOKLAYER_MAX_PAYLOAD", "lots"),
        ("HOOKLAYER_RETENTION", "forever"),
        ("HOOKLAYER_MAX_IN_FLIGHT_PER_WEBHOOK", "0"),
        ("HOOKLAYER_ROLE", "boss"),
        ("HOOKLAYER_RATE_LIMIT", "-1"),
        ("HOOKLAYER_LEASE", "0s"),
        ("HOOKLAYER_LEASE", "1s"),
        ("HOOKLAYER_SQLITE_SYNC", "off"),
        ("HOOKLAYER_LOG", "info,hooklayer=loudest"),
        ("HOOKLAYER_LOG_FORMAT", "xml"),
        ("HOOKLAYER_DATABASE_URL", "mysql://localhost/hooks"),
    ];
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("h.db").display());

    for (env, value) in cases {
        let out = run_with_env(&["serve"], &[("HOOKLAYER_DATABASE_URL", &db), (env, value)]).await;

        assert_refused(&out, env);
    }
}

#[tokio::test]
async fn a_database_that_cannot_be_opened_exits_2_naming_the_database_url() {
    let dir = tempfile::tempdir().unwrap();
    let missing = format!(
        "sqlite://{}",
        dir.path().join("no/such/folder/hooklayer.db").display()
    );

    let serve = run_with_env(&["serve"], &[("HOOKLAYER_DATABASE_URL", &missing)]).await;
    let create = run_with_env(
        &[
            "apps",
            "create",
            "--name",
            "demo",
            "--database-url",
            &missing,
        ],
        &[],
    )
    .await;

    assert_refused(&serve, "HOOKLAYER_DATABASE_URL");
    assert_refused(&create, "HOOKLAYER_DATABASE_URL");
    assert!(!dir.path().join("no").exists(), "no folder was created");
}

#[tokio::test]
async fn a_postgres_server_that_does_not_answer_exits_2_naming_the_database_url() {
    // Nothing listens on port 1 of the loopback. (The store retries for its 30 s acquire
    // timeout before it gives up, so this test is slow.)
    let url = "postgres://postgres@127.0.0.1:1/nothing";

    let out = run_with_env(&["serve"], &[("HOOKLAYER_DATABASE_URL", url)]).await;

    assert_refused(&out, "HOOKLAYER_DATABASE_URL");
}

#[tokio::test]
async fn an_unknown_key_in_the_config_file_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hooklayer.toml");
    std::fs::write(&file, "listen = \"127.0.0.1:0\"\nretry_shedule = \"1s\"\n").unwrap();

    let out = run_with_env(&["serve", "--config", file.to_str().unwrap()], &[]).await;

    assert_refused(&out, "HOOKLAYER_CONFIG");
    assert!(out.stderr.contains("retry_shedule"), "{}", out.stderr);
}

#[tokio::test]
async fn a_missing_ca_file_exits_2_naming_trusted_ca() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("h.db").display());
    let ca = dir.path().join("missing-ca.pem");

    let out = run_with_env(
        &["serve"],
        &[
            ("HOOKLAYER_TRUSTED_CA", ca.to_str().unwrap()),
            ("HOOKLAYER_DATABASE_URL", &db),
        ],
    )
    .await;

    assert_refused(&out, "HOOKLAYER_TRUSTED_CA");
}

#[tokio::test]
async fn a_flag_beats_the_env_which_beats_the_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let url = |name: &str| format!("sqlite://{}", dir.path().join(name).display());
    let exists = |name: &str| Path::new(&dir.path().join(name)).exists();
    let file = dir.path().join("hooklayer.toml");
    std::fs::write(&file, format!("database_url = \"{}\"\n", url("file.db"))).unwrap();
    let config = file.to_str().unwrap();
    let env = url("env.db");

    let flag_env_file = run_with_env(
        &[
            "apps",
            "create",
            "--name",
            "a",
            "--config",
            config,
            "--database-url",
            &url("flag.db"),
        ],
        &[("HOOKLAYER_DATABASE_URL", &env)],
    )
    .await;
    let env_file = run_with_env(
        &["apps", "create", "--name", "b", "--config", config],
        &[("HOOKLAYER_DATABASE_URL", &env)],
    )
    .await;
    let file_only = run_with_env(&["apps", "create", "--name", "c", "--config", config], &[]).await;

    for out in [&flag_env_file, &env_file, &file_only] {
        printed(out);
    }
    assert!(exists("flag.db") && exists("env.db") && exists("file.db"));
    for (db, name) in [("flag.db", "a"), ("env.db", "b"), ("file.db", "c")] {
        let apps = printed(&run(&["apps", "list", "--database-url", &url(db)]).await);
        let names: Vec<&Value> = apps
            .as_array()
            .unwrap()
            .iter()
            .map(|a| &a["name"])
            .collect();
        assert_eq!(names, [name], "{db}");
    }
}
