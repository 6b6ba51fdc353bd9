//! An app's webhooks: the list with status, reason, target, events and counts; registration
//! (errors next to the field, in the API's words); a webhook's page with its settings, its
//! actions (activate, deactivate, delete after confirmation), the forms that change it
//! ([`super::settings`]) and its delivery log.

use super::apps::{count_text, open_app, COUNT_CAP};
use super::charts::{self, Window};
use super::error::UiError;
use super::layout::{badge, csrf_field, page, time};
use super::session::{Session, Write};
use super::settings::{self, SettingsDraft};
use super::{deliveries, register};
use crate::service;
use crate::state::AppState;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Redirect, Response};
use hooklayer_core::ids::{AppId, WebhookId};
use hooklayer_core::webhook::Webhook;
use hooklayer_store::App;
use maud::{html, Markup};
use std::collections::HashMap;
use std::sync::Arc;

/// The path of a webhook's page.
pub fn webhook_path(w: &Webhook) -> String {
    format!("/ui/apps/{}/webhooks/{}", w.app, w.id)
}

/// Opens the app and the webhook named in a path for this session.
pub async fn open_webhook(
    state: &AppState,
    session: &Session,
    app: &str,
    webhook: &str,
) -> Result<(App, Webhook), UiError> {
    let app = open_app(state, session, app).await?;
    let w = service::webhooks::find(state, app.id, webhook).await?;
    Ok((app, w))
}

/// `GET /ui/apps/:app`: the app's webhooks and the registration form.
pub async fn list(
    State(state): State<Arc<AppState>>,
    session: Session,
    Path(app): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, UiError> {
    let app = open_app(&state, &session, &app).await?;
    let window = Window::from_query(query.as_deref());
    list_page(&state, &session, &app, &register::Draft::default(), window).await
}

/// The list page, with a registration form holding `draft` (and its error, if any).
pub async fn list_page(
    state: &AppState,
    session: &Session,
    app: &App,
    draft: &register::Draft,
    window: Window,
) -> Result<Response, UiError> {
    let hooks = service::webhooks::list(state, app.id).await?;
    let rates = charts::success_rates_24h(state, app.id).await?;
    let counts: HashMap<WebhookId, (u64, u64)> = state
        .store
        .open_counts(app.id, COUNT_CAP)
        .await?
        .into_iter()
        .map(|(id, pending, failed)| (id, (pending, failed)))
        .collect();
    let rows: Vec<_> = hooks
        .iter()
        .map(|w| {
            let (pending, failed) = counts.get(&w.id).copied().unwrap_or_default();
            (w, pending, failed, rates.get(&w.id).copied())
        })
        .collect();
    let charts = if hooks.is_empty() {
        html! {}
    } else {
        charts::section(state, app.id, None, &app_path(app.id), window).await?
    };
    Ok(page(
        session,
        &app.name,
        html! {
            h1 { "Webhooks of " (app.name) }
            p.muted { "App " code { (app.id) } }
            @if hooks.is_empty() {
                div.card {
                    h2 { "No webhook yet" }
                    p { "A webhook sends the events your app publishes to a customer's HTTPS endpoint, signed. Register one with the form below, or with the API:" }
                    pre { (register::curl_example(&state.config.public_url, app.id)) }
                }
            } @else {
                div.table-wrap #webhooks data-refresh {
                    table.cards {
                        thead { tr { th { "Target" } th { "Status" } th { "Events" } th { "Pending" } th { "Failed" } th { "Success, 24 h" } } }
                        tbody {
                            @for (w, pending, failed, rate) in &rows {
                                tr {
                                    td data-label="Target" { a href=(webhook_path(w)) { (w.target_url.as_str()) } }
                                    td data-label="Status" { (badge(w.status.as_str()))
                                        @if let Some(reason) = &w.status_reason { br; span.muted { (reason) } } }
                                    td data-label="Events" { (w.events.iter().map(|e| e.as_str()).collect::<Vec<_>>().join(", ")) }
                                    td data-label="Pending" { (count_text(*pending)) }
                                    td data-label="Failed" { (count_text(*failed)) }
                                    td data-label="Success, 24 h" { @if let Some(rate) = rate { (format!("{rate:.1} %")) } @else { "—" } }
                                }
                            }
                        }
                    }
                }
            }
            (charts)
            h2 #register { "Register a webhook" }
            div.card { (register::form(session, app.id, draft)) }
        },
    ))
}

/// `POST /ui/apps/:app/webhooks`: registers a webhook, or shows the form again with the error
/// next to its field.
pub async fn register(
    State(state): State<Arc<AppState>>,
    Path(app): Path<String>,
    Write { session, form }: Write,
) -> Result<Response, UiError> {
    let app = open_app(&state, &session, &app).await?;
    let mut draft = register::Draft::from_form(&form);
    let result = match draft.to_body() {
        Ok(body) => service::webhooks::register(&state, app.id, &body).await,
        Err(e) => Err(e.into()),
    };
    match result {
        Ok(w) => {
            let short = if draft.secret.chars().count() < register::SHORT_SECRET {
                "?short_secret=1"
            } else {
                ""
            };
            Ok(Redirect::to(&format!("{}{short}", webhook_path(&w))).into_response())
        }
        Err(service::ServiceError::Property(e)) => {
            draft.error = Some(e);
            list_page(&state, &session, &app, &draft, Window::Hour).await
        }
        Err(e) => Err(e.into()),
    }
}

/// `GET …/webhooks/:webhook`: settings, actions, delivery log, replay.
pub async fn show(
    State(state): State<Arc<AppState>>,
    session: Session,
    Path((app, webhook)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Result<Response, UiError> {
    let (app, w) = open_webhook(&state, &session, &app, &webhook).await?;
    let draft = SettingsDraft::current(&w);
    show_page(&state, &session, &app, &w, query.as_deref(), &draft).await
}

/// A webhook's page, its settings form holding `draft` (and its error, if any).
pub async fn show_page(
    state: &AppState,
    session: &Session,
    app: &App,
    w: &Webhook,
    query: Option<&str>,
    draft: &SettingsDraft,
) -> Result<Response, UiError> {
    let short_secret = query.is_some_and(|q| q.contains("short_secret=1"));
    let log = deliveries::log_section(state, w, query).await?;
    let here = webhook_path(w);
    let window = Window::from_query(query);
    let charts = charts::section(state, w.app, Some(w.id), &here, window).await?;
    let history = service::changes::history(state, w).await?;
    Ok(page(
        session,
        "Webhook",
        html! {
            p { a href=(format!("/ui/apps/{}", app.id)) { "← Webhooks of " (app.name) } }
            h1 { (w.target_url.as_str()) }
            (settings::notice(state, query))
            @if short_secret {
                div.card.alert role="status" { p.warning { "This webhook's secret is shorter than 16 characters. A short secret can be guessed, and whoever guesses it can forge deliveries. Prefer a long random secret." } }
            }
            div.grid {
                div.card #status data-refresh {
                    h2 { "Status" }
                    p { (badge(w.status.as_str())) }
                    @if let Some(reason) = &w.status_reason { p { (reason) } }
                    @if w.status.as_str() == "unverified" { p.muted { "Verification is running; this updates by itself." } }
                }
                div.card {
                    h2 { "Settings" }
                    dl.facts {
                        dt { "Id" } dd { code { (w.id) } }
                        dt { "Target" } dd { (w.target_url.as_str()) }
                        dt { "Events" } dd { (w.events.iter().map(|e| e.as_str()).collect::<Vec<_>>().join(", ")) }
                        dt { "Version" } dd { (w.version.as_str()) }
                        dt { "Config" } dd { code { (serde_json::Value::Object(w.config.clone())) } }
                        dt { "Delivery" } dd { (delivery_text(state, w)) }
                        dt { "Created" } dd { (time(w.created_at)) }
                    }
                }
            }
            h2 { "Actions" }
            div {
                (action_button(session, w, "activate", "Activate", ""))
                (action_button(session, w, "deactivate", "Deactivate", "secondary"))
                a href=(format!("{here}/delete")) { "Delete…" }
            }
            (charts)
            (log)
            (deliveries::replay_form(session, w))
            (settings::section(state, session, w, draft, &history))
        },
    ))
}

/// `POST …/webhooks/:webhook` with `action` = `activate`, `deactivate` or `delete` (the
/// last one from the confirmation page).
pub async fn act(
    State(state): State<Arc<AppState>>,
    Path((app, webhook)): Path<(String, String)>,
    Write { session, form }: Write,
) -> Result<Response, UiError> {
    let (app, w) = open_webhook(&state, &session, &app, &webhook).await?;
    let to = match form.get("action") {
        Some("activate") => webhook_path(&service::webhooks::activate(&state, &w).await?),
        Some("deactivate") => webhook_path(&service::webhooks::deactivate(&state, &w).await?),
        Some("delete") => {
            service::webhooks::delete(&state, &w).await?;
            app_path(app.id)
        }
        _ => return Err(UiError::bad_request("Unknown action.")),
    };
    Ok(Redirect::to(&to).into_response())
}

/// The delivery settings in words: the rate limit, the in-flight cap, the order.
fn delivery_text(state: &AppState, w: &Webhook) -> String {
    let d = &w.delivery;
    let rate = d.rate_limit.map_or("no rate limit".to_owned(), |r| {
        format!("at most {r} attempts per second")
    });
    let cap = d.max_in_flight.map_or(
        format!(
            "{} at once per process (default)",
            state.config.max_in_flight_per_webhook
        ),
        |n| format!("{n} at once"),
    );
    let order = if d.ordered { "ordered" } else { "unordered" };
    format!("{rate}; {cap}; {order}")
}

/// The form of one action button on a webhook.
fn action_button(session: &Session, w: &Webhook, action: &str, label: &str, class: &str) -> Markup {
    html! {
        form.inline method="post" action=(webhook_path(w)) {
            (csrf_field(session))
            input type="hidden" name="action" value=(action);
            button class=(class) type="submit" { (label) }
        }
    }
}

fn app_path(app: AppId) -> String {
    format!("/ui/apps/{app}")
}

/// `GET …/delete`: asks before deleting (works without the script).
pub async fn confirm_delete(
    State(state): State<Arc<AppState>>,
    session: Session,
    Path((app, webhook)): Path<(String, String)>,
) -> Result<Response, UiError> {
    let (_, w) = open_webhook(&state, &session, &app, &webhook).await?;
    let here = webhook_path(&w);
    Ok(page(
        &session,
        "Delete webhook",
        html! {
            h1 { "Delete this webhook?" }
            div.card.alert {
                p { "The webhook to " strong { (w.target_url.as_str()) } " and its delivery log will be deleted. No delivery to it starts afterwards. This cannot be undone." }
                (action_button(&session, &w, "delete", "Delete webhook", "danger"))
                a href=(here) { "Cancel" }
            }
        },
    ))
}
