//! A webhook's delivery log (filter by status, page through), a delivery with every attempt
//! and its Retry button, and "Replay since …", which shows what it will queue and asks first
//! when that is more than [`CONFIRM_ABOVE`] deliveries.

use super::error::UiError;
use super::layout::{badge, csrf_field, page, time};
use super::session::{Session, Write};
use super::webhooks::{open_webhook, webhook_path};
use crate::deliveries::wire::{parse_list_query, parse_scope};
use crate::service;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use hooklayer_core::time::Timestamp;
use hooklayer_core::webhook::Webhook;
use hooklayer_store::{DeliveryStatus, ReplayScope};
use maud::{html, Markup};
use std::sync::Arc;

/// A replay that would queue more than this many deliveries asks for confirmation first.
pub const CONFIRM_ABOVE: u64 = 100;

/// The log's own query parameters (`status`, `cursor`), empty ones dropped ("All").
fn log_params(query: Option<&str>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .into_owned()
        .filter(|(k, v)| (k == "status" || k == "cursor") && !v.is_empty())
        .collect()
}

/// The delivery log of `w` for the page's query: filter, table, "Older" link.
pub async fn log_section(
    state: &AppState,
    w: &Webhook,
    query: Option<&str>,
) -> Result<Markup, UiError> {
    let params = log_params(query);
    let encoded = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&params)
        .finish();
    let query = parse_list_query(Some(&encoded)).map_err(|e| UiError::bad_request(e.message))?;
    let logs = service::deliveries::list(state, w, &query).await?;
    let here = webhook_path(w);
    let status = query.status.map(DeliveryStatus::as_str).unwrap_or("");
    let next = logs.next.map(|c| {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        if !status.is_empty() {
            q.append_pair("status", status);
        }
        q.append_pair("cursor", &c.encode());
        format!("{here}?{}#log", q.finish())
    });
    Ok(html! {
        h2 #log-title { "Deliveries" }
        form.inline method="get" action=(format!("{here}#log")) {
            label for="status-filter" { "Status"
                select #status-filter name="status" {
                    option value="" selected[status.is_empty()] { "All" }
                    @for s in DeliveryStatus::ALL { option value=(s.as_str()) selected[s.as_str() == status] { (s.as_str()) } }
                } }
            button.secondary type="submit" { "Filter" }
        }
        div #log data-refresh {
            @if logs.items.is_empty() {
                div.card {
                    @if status.is_empty() {
                        p { "No delivery yet. Deliveries appear here when your app publishes an event this webhook subscribes to, for example:" }
                        pre { (publish_example(&state.config.public_url, w)) }
                    } @else { p { "No " (status) " delivery." } }
                }
            } @else {
                div.table-wrap { table.cards {
                    thead { tr { th { "Created" } th { "Event" } th { "Status" } th { "Attempts" } } }
                    tbody { @for d in &logs.items { tr {
                        td data-label="Created" { a href=(format!("{here}/deliveries/{}", d.request_id)) { (time(d.created_at)) } }
                        td data-label="Event" { (d.event_type.as_str()) br; code.muted.wide-only { (d.event_id) } }
                        td data-label="Status" { (badge(d.status.as_str())) }
                        td data-label="Attempts" { (d.attempts.len()) }
                    } } }
                } }
                @if let Some(next) = &next { p { a href=(next) { "Older deliveries →" } } }
            }
        }
    })
}

fn publish_example(public_url: &str, w: &Webhook) -> String {
    let event = w
        .events
        .first()
        .map(|e| e.as_str())
        .unwrap_or("message.sent");
    format!(
        "curl -X POST {public_url}/apps/{}/events \\\n  -H \"Authorization: Bearer $HOOKLAYER_APP_TOKEN\" \\\n  -H \"Content-Type: application/json\" \\\n  -d '{{\"type\": \"{event}\", \"data\": {{}}}}'",
        w.app
    )
}

/// The "Replay since …" form.
pub fn replay_form(session: &Session, w: &Webhook) -> Markup {
    let hour_ago = Timestamp::now().plus_millis(-3_600_000).to_rfc3339();
    let default_since = hour_ago.get(..19).unwrap_or(&hour_ago).to_owned();
    html! {
        h2 { "Replay" }
        form.inline method="post" action=(format!("{}/replay", webhook_path(w))) {
            (csrf_field(session))
            label for="since" { "Since (UTC)"
                input #since type="datetime-local" step="1" name="since" value=(default_since) required; }
            label for="replay-status" { "Deliveries"
                select #replay-status name="status" {
                    option value="failed" { "failed" } option value="succeeded" { "succeeded" } option value="all" { "all finished" }
                } }
            button type="submit" { "Replay…" }
        }
    }
}

/// A `since` from the form: RFC 3339, or a `datetime-local` value read as UTC.
fn parse_since(text: &str) -> Option<Timestamp> {
    Timestamp::parse_rfc3339(text).or_else(|| {
        let with_seconds = if text.len() == 16 {
            format!("{text}:00")
        } else {
            text.to_owned()
        };
        Timestamp::parse_rfc3339(&format!("{with_seconds}Z"))
    })
}

/// `POST …/replay` with `since`, `status` and, after the question, `confirm=yes`.
pub async fn replay(
    State(state): State<Arc<AppState>>,
    Path((app, webhook)): Path<(String, String)>,
    Write { session, form }: Write,
) -> Result<Response, UiError> {
    let (_, w) = open_webhook(&state, &session, &app, &webhook).await?;
    let since_text = form.get("since").unwrap_or("").trim();
    let since = parse_since(since_text)
        .ok_or_else(|| UiError::bad_request("The since field must be a date and time."))?;
    let status_text = form.get("status").unwrap_or("failed");
    let scope: ReplayScope =
        parse_scope(status_text).map_err(|e| UiError::bad_request(e.message))?;
    let count = service::deliveries::replay_count(&state, &w, since, scope).await?;
    let here = webhook_path(&w);
    if count > CONFIRM_ABOVE && form.get("confirm") != Some("yes") {
        return Ok(page(
            &session,
            "Confirm replay",
            html! {
                h1 { "Replay " (count) " deliveries?" }
                div.card.alert {
                    p { "This queues " strong { (count) } " " (status_text) " deliveries of " (w.target_url.as_str()) " created since " (time(since)) " again, now." }
                    form.inline method="post" action=(format!("{here}/replay")) {
                        (csrf_field(&session))
                        input type="hidden" name="since" value=(since.to_rfc3339());
                        input type="hidden" name="status" value=(status_text);
                        input type="hidden" name="confirm" value="yes";
                        button type="submit" { "Replay " (count) " deliveries" }
                    }
                    a href=(here) { "Cancel" }
                }
            },
        ));
    }
    let queued = service::deliveries::replay(&state, &w, since, scope).await?;
    Ok(page(
        &session,
        "Replayed",
        html! {
            h1 { "Replay queued" }
            div.card.notice role="status" {
                p { (queued) " deliveries queued again." }
                p { a href=(format!("{here}#log")) { "Back to the webhook" } }
            }
        },
    ))
}

/// `GET …/deliveries/:request_id`: the delivery with every attempt.
pub async fn show(
    State(state): State<Arc<AppState>>,
    session: Session,
    Path((app, webhook, request_id)): Path<(String, String, String)>,
) -> Result<Response, UiError> {
    let (_, w) = open_webhook(&state, &session, &app, &webhook).await?;
    let d = service::deliveries::find(&state, &w, &request_id).await?;
    let here = format!("{}/deliveries/{}", webhook_path(&w), d.request_id);
    Ok(page(
        &session,
        "Delivery",
        html! {
            p { a href=(format!("{}#log", webhook_path(&w))) { "← Deliveries of " (w.target_url.as_str()) } }
            h1 { "Delivery " code { (d.request_id) } }
            div.card #delivery data-refresh {
                dl.facts {
                    dt { "Status" } dd { (badge(d.status.as_str())) }
                    dt { "Event" } dd { (d.event_type.as_str()) " " code { (d.event_id) } }
                    dt { "Created" } dd { (time(d.created_at)) }
                    @if let Some(next) = d.next_attempt_at { dt { "Next attempt" } dd { (time(next)) } }
                }
                h2 { "Attempts" }
                @if d.attempts.is_empty() { p { "No attempt yet." } } @else {
                    div.table-wrap { table.cards {
                        thead { tr { th { "Time" } th { "Duration" } th { "Status code" } th { "Error" } th { "Response body" } } }
                        tbody { @for a in &d.attempts { tr {
                            td data-label="Time" { (time(a.at)) }
                            td data-label="Duration" { (a.duration_ms) " ms" }
                            td data-label="Status code" { @if let Some(code) = a.status_code { (code) } @else { "—" } }
                            td data-label="Error" { @if let Some(e) = &a.error { (e) } @else { "—" } }
                            td data-label="Response body" { @if let Some(b) = &a.response_body { pre { (b) } } @else { "—" } }
                        } } }
                    } }
                }
            }
            form.inline method="post" action=(format!("{here}/retry")) {
                (csrf_field(&session))
                button type="submit" { "Retry" }
            }
        },
    ))
}

/// `POST …/deliveries/:request_id/retry`: queues the delivery again now.
pub async fn retry(
    State(state): State<Arc<AppState>>,
    Path((app, webhook, request_id)): Path<(String, String, String)>,
    Write { session, .. }: Write,
) -> Result<Response, UiError> {
    let (_, w) = open_webhook(&state, &session, &app, &webhook).await?;
    let d = service::deliveries::find(&state, &w, &request_id).await?;
    let queued = service::deliveries::retry(&state, &w, &d).await?;
    Ok(Redirect::to(&format!(
        "{}/deliveries/{}",
        webhook_path(&w),
        queued.request_id
    ))
    .into_response())
}
