//! A webhook's settings on its page (SPEC §13 with §11 and §12): change the target, events,
//! config and delivery settings; rotate the secret; the change history. Every change goes
//! through the application layer's change ([`service::changes`]), the one `PATCH` uses, so
//! its checks and messages, the new target's verification and the secret's overlap window
//! are the API's own; an error is shown next to the field that caused it.

use super::error::UiError;
use super::form::Form;
use super::layout::{csrf_field, time};
use super::register::{described_by, events_fieldset, field_error, Draft, SHORT_SECRET};
use super::session::{Session, Write};
use super::webhooks::{open_webhook, show_page, webhook_path};
use crate::service::{self, ServiceError};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use hooklayer_core::delivery_settings::{MAX_IN_FLIGHT, RATE_LIMIT};
use hooklayer_core::validation::PropertyError;
use hooklayer_core::webhook::Webhook;
use hooklayer_store::WebhookChangeRecord;
use maud::{html, Markup};
use serde_json::{Map, Value};
use std::sync::Arc;
use std::time::Duration;

/// The settings form's values, and the error to show next to a field (the secret form's
/// error too: its field is `secret`).
pub struct SettingsDraft {
    /// `target_url`, `events`, `config` and the error; never a secret.
    pub fields: Draft,
    pub rate_limit: String,
    pub max_in_flight: String,
    pub ordered: bool,
}

impl SettingsDraft {
    /// The form filled with the webhook's current settings.
    pub fn current(w: &Webhook) -> Self {
        let number = |n: Option<u32>| n.map(|n| n.to_string()).unwrap_or_default();
        Self {
            fields: Draft {
                target_url: w.target_url.as_str().to_owned(),
                events: w.events.iter().map(|e| e.as_str().to_owned()).collect(),
                config: Value::Object(w.config.clone()).to_string(),
                ..Draft::default()
            },
            rate_limit: number(w.delivery.rate_limit),
            max_in_flight: number(w.delivery.max_in_flight),
            ordered: w.delivery.ordered,
        }
    }

    fn from_form(form: &Form) -> Self {
        let text = |name| form.get(name).unwrap_or("").trim().to_owned();
        let mut fields = Draft::from_form(form);
        // This form changes neither; a field smuggled in is ignored rather than applied.
        fields.version.clear();
        fields.secret.clear();
        Self {
            fields,
            rate_limit: text("rate_limit"),
            max_in_flight: text("max_in_flight"),
            ordered: form.get("ordered").is_some(),
        }
    }

    /// The `PATCH` body: every key of the form, since a key set to its current value is no
    /// change. No event checked is an empty list (which the API refuses, in its words), an
    /// empty config is `{}`, an empty rate limit is no limit, and an empty in-flight cap
    /// leaves the cap as it is (the API has no way back to the process default either).
    fn to_body(&self) -> Result<Map<String, Value>, PropertyError> {
        let mut body = self.fields.to_body()?;
        let events = self.fields.events.iter().cloned().map(Value::String);
        body.insert("target_url".into(), self.fields.target_url.clone().into());
        body.insert("events".into(), Value::Array(events.collect()));
        body.entry("config")
            .or_insert_with(|| Value::Object(Map::new()));
        let mut delivery = Map::new();
        let rate_limit = match self.rate_limit.as_str() {
            "" => Value::Null,
            text => number_or_text(text),
        };
        delivery.insert("rate_limit".into(), rate_limit);
        if !self.max_in_flight.is_empty() {
            delivery.insert("max_in_flight".into(), number_or_text(&self.max_in_flight));
        }
        delivery.insert("ordered".into(), Value::Bool(self.ordered));
        body.insert("delivery".into(), Value::Object(delivery));
        Ok(body)
    }
}

/// A number field's text as JSON: a number when it reads as one, else the text itself, so
/// the API's own check answers (e.g. "must be an integer").
fn number_or_text(text: &str) -> Value {
    serde_json::from_str::<Value>(text)
        .ok()
        .filter(Value::is_number)
        .unwrap_or_else(|| Value::String(text.to_owned()))
}

/// `POST …/webhooks/:webhook/settings`: changes the target, events, config and delivery
/// settings, or shows the page again with the error next to its field.
pub async fn change(
    State(state): State<Arc<AppState>>,
    Path((app, webhook)): Path<(String, String)>,
    Write { session, form }: Write,
) -> Result<Response, UiError> {
    let (app, w) = open_webhook(&state, &session, &app, &webhook).await?;
    let mut draft = SettingsDraft::from_form(&form);
    let result = match draft.to_body() {
        Ok(body) => service::changes::change(&state, &w, &body).await,
        Err(e) => Err(e.into()),
    };
    match result {
        Ok(changed) => {
            Ok(Redirect::to(&format!("{}?saved=1", webhook_path(&changed))).into_response())
        }
        Err(ServiceError::Property(e)) => {
            draft.fields.error = Some(e);
            show_page(&state, &session, &app, &w, None, &draft).await
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST …/webhooks/:webhook/secret`: rotates the secret. The previous one keeps signing for
/// `HOOKLAYER_SECRET_OVERLAP`; a secret under 16 characters is accepted with a warning.
pub async fn rotate(
    State(state): State<Arc<AppState>>,
    Path((app, webhook)): Path<(String, String)>,
    Write { session, form }: Write,
) -> Result<Response, UiError> {
    let (app, w) = open_webhook(&state, &session, &app, &webhook).await?;
    // SECURITY: the new secret is used here and never written back into a page or a URL.
    let secret = form.get("secret").unwrap_or("");
    let mut body = Map::new();
    body.insert("secret".into(), Value::String(secret.to_owned()));
    match service::changes::change(&state, &w, &body).await {
        Ok(changed) => {
            let mut to = format!("{}?rotated=1", webhook_path(&changed));
            if secret.chars().count() < SHORT_SECRET {
                to.push_str("&short_secret=1");
            }
            Ok(Redirect::to(&to).into_response())
        }
        Err(ServiceError::Property(e)) => {
            let mut draft = SettingsDraft::current(&w);
            draft.fields.error = Some(e);
            show_page(&state, &session, &app, &w, None, &draft).await
        }
        Err(e) => Err(e.into()),
    }
}

/// The notice a page shows after a change made from it (`saved` or `rotated` in its query).
pub fn notice(state: &AppState, query: Option<&str>) -> Markup {
    let has = |flag: &str| query.is_some_and(|q| q.split('&').any(|p| p == flag));
    let overlap = duration_text(state.config.secret_overlap);
    html! {
        @if has("saved=1") {
            div.card role="status" { p { "Settings saved. A new target is verified again before deliveries to it resume." } }
        }
        @if has("rotated=1") {
            div.card role="status" { p { "Secret rotated. Deliveries are signed with the new secret, and for " (overlap) " with the previous one too, so receivers can switch without failing a check." } }
        }
    }
}

/// The settings form, the secret rotation form and the change history of `w`.
pub fn section(
    state: &AppState,
    session: &Session,
    w: &Webhook,
    draft: &SettingsDraft,
    history: &[WebhookChangeRecord],
) -> Markup {
    let here = webhook_path(w);
    let d = &draft.fields;
    let default_cap = state.config.max_in_flight_per_webhook;
    html! {
        h2 #change { "Change settings" }
        div.card {
            form.stack method="post" action=(format!("{here}/settings")) {
                (csrf_field(session))
                label for="target_url" { "Target URL"
                    input #target_url type="url" name="target_url" value=(d.target_url) maxlength="2048"
                        aria-invalid=[d.error_for("target_url").map(|_| "true")]
                        aria-describedby=[described_by(d, "target_url", Some("target_url-hint"))];
                    span.muted #target_url-hint { "A new target is verified again, as at registration." }
                    (field_error(d, "target_url")) }
                (events_fieldset(d))
                label for="config" { "Config (JSON object, echoed in every delivery)"
                    textarea #config name="config"
                        aria-invalid=[d.error_for("config").map(|_| "true")]
                        aria-describedby=[described_by(d, "config", None)] { (d.config) }
                    (field_error(d, "config")) }
                fieldset {
                    legend { "Delivery" }
                    label for="rate_limit" { "Rate limit (attempts per second; empty for none)"
                        input #rate_limit type="number" name="rate_limit" value=(draft.rate_limit)
                            min=(RATE_LIMIT.start()) max=(RATE_LIMIT.end()) step="1"
                            aria-invalid=[d.error_for("delivery.rate_limit").map(|_| "true")]
                            aria-describedby=[described_by(d, "delivery.rate_limit", None)];
                        (field_error(d, "delivery.rate_limit")) }
                    label for="max_in_flight" { "Most attempts at once, across every process (empty: " (default_cap) " per process, the default)"
                        input #max_in_flight type="number" name="max_in_flight" value=(draft.max_in_flight)
                            placeholder=(default_cap)
                            min=(MAX_IN_FLIGHT.start()) max=(MAX_IN_FLIGHT.end()) step="1"
                            aria-invalid=[d.error_for("delivery.max_in_flight").map(|_| "true")]
                            aria-describedby=[described_by(d, "delivery.max_in_flight", None)];
                        (field_error(d, "delivery.max_in_flight")) }
                    label { input #ordered type="checkbox" name="ordered" value="true" checked[draft.ordered];
                        "Ordered: first in, first out, one attempt at a time" }
                    (field_error(d, "delivery.ordered"))
                }
                div { button type="submit" { "Save changes" } }
            }
        }
        h2 #rotate { "Rotate the secret" }
        div.card {
            form.stack method="post" action=(format!("{here}/secret")) {
                (csrf_field(session))
                label for="secret" { "New secret"
                    input #secret type="password" name="secret" autocomplete="new-password" maxlength="512"
                        aria-invalid=[d.error_for("secret").map(|_| "true")]
                        aria-describedby=[described_by(d, "secret", Some("secret-hint"))];
                    span.muted #secret-hint { "The previous secret keeps signing for " (duration_text(state.config.secret_overlap)) ". Use at least 16 random characters; shorter secrets are accepted but can be guessed." }
                    (field_error(d, "secret")) }
                div { button type="submit" { "Rotate secret" } }
            }
        }
        h2 { "Change history" }
        div.card #changes data-refresh {
            @if history.is_empty() {
                p.muted { "No change since registration." }
            } @else {
                table {
                    thead { tr { th { "When" } th { "Changed" } } }
                    tbody {
                        @for change in history {
                            tr { td { (time(change.at)) } td { (change.keys.join(", ")) } }
                        }
                    }
                }
            }
        }
    }
}

/// A duration as people say it: `24 h`, `90 min`, `2 s`.
fn duration_text(d: Duration) -> String {
    let secs = d.as_secs();
    match secs {
        s if s >= 3600 && s % 3600 == 0 => format!("{} h", s / 3600),
        s if s >= 60 && s % 60 == 0 => format!("{} min", s / 60),
        s if s > 0 => format!("{s} s"),
        _ => format!("{} ms", d.as_millis()),
    }
}
