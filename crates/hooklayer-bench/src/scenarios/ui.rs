//! Dashboard page time: every page of `/ui/` on a large log, `--ui-requests` times each, signed
//! in with a session cookie, timed on the client over loopback (request sent → whole body read).
//!
//! 1. `serve` on a fresh database, with an admin token; one app (CLI) with `--ui-webhooks`
//!    webhooks, verified by the bench's receiver.
//! 2. `serve --role api` (no worker, so nothing is delivered) takes `--ui-deliveries` ÷ webhooks
//!    events in batches of 100 through the API: hooklayer's own ingest writes every event and
//!    delivery row.
//! 3. With hooklayer stopped, [`super::ui_seed`] gives that log a day of history in the
//!    database: see there.
//! 4. `serve` again (role `all`) on that database; each page is requested in turn, sequentially.
//!
//! Reported per page: p50 / p99 / max, against SPEC §13's budget (≤ 100 ms server time; a
//! client-side time on loopback includes the server's and is the stricter figure).

use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context as _, Result};

use super::{ui_seed, Bench};
use crate::api::Api;
use crate::database::Backend;
use crate::hooklayer::{self, Hooklayer};
use crate::publish;
use crate::report::{human, Figure};

/// The admin token the bench's `serve` runs with in this scenario.
const ADMIN_TOKEN: &str = "bench-admin-token-0123456789abcdef";
/// SPEC §13's page budget.
const BUDGET_MS: f64 = 100.0;

pub async fn run(bench: &mut Bench, backend: &Backend) -> Result<()> {
    let settings = bench.settings.clone();
    let webhooks = settings.ui_webhooks.max(1);
    let events = settings.ui_deliveries.div_ceil(webhooks).max(1);
    let bin = bench.bin.clone().context("no hooklayer binary")?;
    let db = bench.databases.fresh(backend, &bench.dir, "ui").await?;
    let launch = |phase: &str, role: Option<&'static str>| {
        let mut launch = bench.launch_settings(&bin, &db.url, backend, &format!("ui-{phase}"));
        launch.role = role;
        launch.admin_token = Some(ADMIN_TOKEN);
        launch
    };

    // 1. The app and its webhooks.
    let first = Hooklayer::start(&launch("register", None), &bench.http).await?;
    let app = hooklayer::create_app(&bin, &db.url).await?;
    let api = Api::new(bench.http.clone(), &first.base_url, &app);
    let urls: Vec<String> = (0..webhooks)
        .map(|h| bench.receiver.hook_url(h as u32))
        .collect();
    api.add_webhooks(&urls)
        .await
        .map_err(|e| e.context(first.log()))?;
    first.stop().await;

    // 2. The log, through hooklayer's ingest.
    let started = Instant::now();
    let ingest = Hooklayer::start(&launch("ingest", Some("api")), &bench.http).await?;
    let api = Api::new(bench.http.clone(), &ingest.base_url, &app);
    let published = publish::closed_loop(
        &api,
        events,
        super::ingest::BATCH,
        settings.batch_publishers,
        settings.drain_limit(),
    )
    .await?;
    ensure!(
        published.accepted == events,
        "publish: {} of {events} accepted ({:?})",
        published.accepted,
        published.first_error
    );
    ingest.stop().await;
    let ingest_secs = started.elapsed().as_secs_f64();

    // 3. A day of history.
    let started = Instant::now();
    let seeded = ui_seed::history(&db.url).await?;
    let seed_secs = started.elapsed().as_secs_f64();
    eprintln!(
        "  {webhooks} webhooks, {} deliveries ingested in {ingest_secs:.1} s, history in {seed_secs:.1} s",
        human(seeded.deliveries as f64)
    );

    // 4. The pages.
    let server = Hooklayer::start(&launch("pages", None), &bench.http).await?;
    let admin = sign_in(&server.base_url, ADMIN_TOKEN).await?;
    let owner = sign_in(&server.base_url, &app.token).await?;
    let hook = format!("/ui/apps/{}/webhooks/{}", app.uuid, seeded.failed_webhook);
    let pages: Vec<(&str, &str, String)> = vec![
        ("apps (admin)", &admin, "/ui/apps".to_owned()),
        ("system (admin)", &admin, "/ui/system".to_owned()),
        (
            "an app's webhooks, 1 h",
            &owner,
            format!("/ui/apps/{}", app.uuid),
        ),
        (
            "an app's webhooks, 24 h",
            &owner,
            format!("/ui/apps/{}?window=24h", app.uuid),
        ),
        ("a webhook, 1 h", &owner, hook.clone()),
        ("a webhook, 24 h", &owner, format!("{hook}?window=24h")),
        (
            "a webhook, log of failed",
            &owner,
            format!("{hook}?status=failed"),
        ),
        (
            "a delivery",
            &owner,
            format!("{hook}/deliveries/{}", seeded.failed_delivery),
        ),
    ];
    let label = format!(
        "ui ({webhooks} webhooks, {} deliveries)",
        human(seeded.deliveries as f64)
    );
    let mut details = Vec::new();
    for (name, cookie, path) in &pages {
        let times = time_page(
            &bench.http,
            &server.base_url,
            cookie,
            path,
            settings.ui_requests,
        )
        .await
        .map_err(|e| e.context(server.log()))?;
        let (p50, p99, max) = (pct(&times, 0.5), pct(&times, 0.99), pct(&times, 1.0));
        eprintln!("  {name}: p50 {p50:.1} ms, p99 {p99:.1} ms, max {max:.1} ms");
        bench.report.push(
            Figure::new(&label, backend.name(), name, p99, "ms p99")
                .shown(format!("{p50:.1} / {p99:.1} / {max:.1} ms"))
                .target("p99 <= 100 ms", p99 <= BUDGET_MS),
        );
        details.push(serde_json::json!({
            "page": name, "path": path, "p50_ms": p50, "p99_ms": p99, "max_ms": max,
        }));
    }
    server.stop().await;
    bench.databases.release(db).await;
    bench.report.detail(
        "ui",
        backend.name(),
        serde_json::json!({
            "webhooks": webhooks, "deliveries": seeded.deliveries, "requests_per_page": settings.ui_requests,
            "ingest_secs": ingest_secs, "history_secs": seed_secs, "pages": details,
        }),
    );
    Ok(())
}

/// Signs in with `token` and returns the `Cookie` header of the session.
async fn sign_in(base_url: &str, token: &str) -> Result<String> {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()?;
    let response = client
        .post(format!("{base_url}/ui/signin"))
        .header(
            reqwest::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .body(
            url::form_urlencoded::Serializer::new(String::new())
                .append_pair("token", token)
                .finish(),
        )
        .send()
        .await
        .context("POST /ui/signin")?;
    let cookie = response
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("hooklayer_session="))
        .and_then(|v| v.split(';').next())
        .map(str::to_owned);
    match cookie {
        Some(cookie) => Ok(cookie),
        None => bail!("sign-in answered {} without a session", response.status()),
    }
}

/// Requests `path` `n` times, one after another; the time of each, in ms.
async fn time_page(
    http: &reqwest::Client,
    base_url: &str,
    cookie: &str,
    path: &str,
    n: u64,
) -> Result<Vec<f64>> {
    let url = format!("{base_url}{path}");
    let mut times = Vec::with_capacity(n as usize);
    for _ in 0..n.max(1) {
        let started = Instant::now();
        let response = http
            .get(&url)
            .header(reqwest::header::COOKIE, cookie)
            .send()
            .await
            .with_context(|| format!("GET {path}"))?;
        let status = response.status();
        let body = response.bytes().await?;
        let elapsed = started.elapsed();
        ensure!(status.is_success(), "GET {path}: {status}");
        ensure!(!body.is_empty(), "GET {path}: empty page");
        times.push(ms(elapsed));
    }
    times.sort_by(f64::total_cmp);
    Ok(times)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The `p` quantile of sorted `times` (nearest rank).
fn pct(times: &[f64], p: f64) -> f64 {
    if times.is_empty() {
        return f64::NAN;
    }
    let rank = ((p * times.len() as f64).ceil() as usize).clamp(1, times.len());
    times[rank - 1]
}
