//! The operator's pages (admin session): every app with its counts, creating apps and
//! tokens (each token shown once, on the page that answers the POST, never in a URL), and the
//! system view with the queue depth.

use super::charts::Window;
use super::error::UiError;
use super::layout::{csrf_field, page, time};
use super::queue_chart;
use super::session::{Session, Write};
use crate::service::{self, apps::parse_app_name};
use crate::state::AppState;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use hooklayer_core::ids::AppId;
use hooklayer_core::time::Timestamp;
use hooklayer_store::App;
use maud::{html, Markup};
use serde_json::Value;
use std::sync::Arc;

/// Counts on list pages stop here ("1000+"): a page never counts more than it can show.
pub const COUNT_CAP: u32 = 1000;

/// Only the admin sees the operator's pages; to anyone else they do not exist.
fn require_admin(session: &Session) -> Result<(), UiError> {
    if session.is_admin() {
        Ok(())
    } else {
        Err(UiError::NotFound("page"))
    }
}

/// The app named in a path, if this session may open it and it exists.
pub async fn open_app(state: &AppState, session: &Session, app: &str) -> Result<App, UiError> {
    let id: AppId = app.parse().map_err(|_| UiError::NotFound("app"))?;
    if !session.may_open(id) {
        return Err(UiError::NotFound("app"));
    }
    state
        .store
        .list_apps()
        .await?
        .into_iter()
        .find(|a| a.id == id)
        .ok_or(UiError::NotFound("app"))
}

/// The system page counts the whole queue up to here ("10000+"); its chart shows the exact
/// depth sampled once a minute.
pub const QUEUE_CAP: u32 = 10_000;

/// A bounded count as text: "1000+" past the cap.
pub fn count_text(n: u64) -> String {
    capped_text(n, COUNT_CAP)
}

/// A count made with `cap` as text: "{cap}+" when it reached the cap.
pub fn capped_text(n: u64, cap: u32) -> String {
    if n >= u64::from(cap) {
        format!("{cap}+")
    } else {
        n.to_string()
    }
}

fn create_form(session: &Session, error: Option<&str>) -> Markup {
    html! {
        form.inline method="post" action="/ui/apps" {
            (csrf_field(session))
            label for="app-name" { "New app's name"
                input #app-name name="name" required maxlength="128"
                    aria-describedby=[error.map(|_| "app-name-error")]; }
            button type="submit" { "Create app" }
            @if let Some(error) = error { p #app-name-error .error role="alert" { (error) } }
        }
    }
}

/// `GET /ui/apps`: every app, oldest first, with its webhook, pending and failed counts.
pub async fn list(
    State(state): State<Arc<AppState>>,
    session: Session,
) -> Result<Response, UiError> {
    require_admin(&session)?;
    apps_page(&state, &session, None).await
}

async fn apps_page(
    state: &AppState,
    session: &Session,
    error: Option<&str>,
) -> Result<Response, UiError> {
    let apps = state.store.list_apps().await?;
    let mut rows = Vec::with_capacity(apps.len());
    for app in &apps {
        // One row per webhook: their number, and their counts summed (each capped, so an
        // app's total shows "1000+" as soon as any of its webhooks reaches the cap).
        let counts = state.store.open_counts(app.id, COUNT_CAP).await?;
        let pending = counts.iter().map(|(_, p, _)| p).sum::<u64>();
        let failed = counts.iter().map(|(_, _, f)| f).sum::<u64>();
        rows.push((app, counts.len(), pending, failed));
    }
    Ok(page(
        session,
        "Apps",
        html! {
            h1 { "Apps" }
            (create_form(session, error))
            @if apps.is_empty() {
                div.card { p { "No app yet. Create one above, or with " code { "hooklayer apps create --name NAME" } "." } }
            } @else {
                div.table-wrap #apps data-refresh {
                    table.cards {
                        thead { tr { th { "App" } th { "Webhooks" } th { "Pending" } th { "Failed" } th.wide-only { "Created" } th { "Token" } } }
                        tbody {
                            @for (app, hooks, pending, failed) in &rows {
                                tr {
                                    td data-label="App" { a href=(format!("/ui/apps/{}", app.id)) { (app.name) } br; code.muted { (app.id) } }
                                    td data-label="Webhooks" { (hooks) }
                                    td data-label="Pending" { (count_text(*pending)) }
                                    td data-label="Failed" { (count_text(*failed)) }
                                    td.wide-only data-label="Created" { (time(app.created_at)) }
                                    td data-label="Token" {
                                        form method="post" action=(format!("/ui/apps/{}/tokens", app.id)) {
                                            (csrf_field(session))
                                            button.secondary type="submit" aria-label=(format!("Create a token for {}", app.name)) { "New token" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        },
    ))
}

/// The page that shows a new token, once.
fn token_page(session: &Session, title: &str, app: &App, token: &str) -> Response {
    page(
        session,
        title,
        html! {
            h1 { (title) }
            div.card.notice {
                p { "The API token of " strong { (app.name) } ". Copy it now: it is shown only this once, and hooklayer keeps only its hash." }
                p { label for="new-token" { "Token" } }
                p.secret #new-token tabindex="0" { (token) }
                p { a href=(format!("/ui/apps/{}", app.id)) { "Open the app" } " · " a href="/ui/apps" { "All apps" } }
            }
        },
    )
}

/// `POST /ui/apps` with `name`: creates an app and shows its token once.
pub async fn create(
    State(state): State<Arc<AppState>>,
    Write { session, form }: Write,
) -> Result<Response, UiError> {
    require_admin(&session)?;
    let name = form.get("name").map(|n| Value::String(n.trim().to_owned()));
    let name = match parse_app_name(name.as_ref()) {
        Ok(name) => name,
        Err(e) => {
            return apps_page(&state, &session, Some(&e.message)).await;
        }
    };
    let new = service::apps::create(state.store.as_ref(), name).await?;
    tracing::info!(app.id = %new.app.id, "app created in the dashboard");
    Ok(token_page(&session, "App created", &new.app, &new.token))
}

/// `POST /ui/apps/:app/tokens`: issues another token and shows it once.
pub async fn create_token(
    State(state): State<Arc<AppState>>,
    Path(app): Path<String>,
    Write { session, .. }: Write,
) -> Result<Response, UiError> {
    require_admin(&session)?;
    let app = open_app(&state, &session, &app).await?;
    let token = service::apps::create_token(state.store.as_ref(), app.id)
        .await?
        .ok_or(UiError::NotFound("app"))?;
    Ok(token_page(&session, "Token created", &app, &token))
}

/// `GET /ui/system`: queue depth (counted up to [`QUEUE_CAP`], and charted from the
/// samples), webhooks by status.
pub async fn system(
    State(state): State<Arc<AppState>>,
    session: Session,
    RawQuery(query): RawQuery,
) -> Result<Response, UiError> {
    require_admin(&session)?;
    let depth = state
        .store
        .queue_counts(Timestamp::now(), QUEUE_CAP)
        .await?;
    let by_status = state.store.count_webhooks().await?;
    let chart = queue_chart::section(&state, Window::from_query(query.as_deref())).await?;
    let n = |v: u64| capped_text(v, QUEUE_CAP);
    Ok(page(
        &session,
        "System",
        html! {
            h1 { "System" }
            div.grid #system data-refresh {
                div.card {
                    h2 { "Queue" }
                    dl.facts {
                        dt { "Pending" } dd { (n(depth.pending)) }
                        dt { "Due now" } dd { (n(depth.due)) }
                        dt { "Failed (kept, replayable)" } dd { (n(depth.failed)) }
                    }
                }
                div.card {
                    h2 { "Webhooks" }
                    @if by_status.is_empty() {
                        p.muted { "No webhook is registered yet." }
                    } @else {
                        dl.facts {
                            @for (status, n) in &by_status { dt { (status.as_str()) } dd { (n) } }
                        }
                    }
                }
            }
            (chart)
        },
    ))
}
