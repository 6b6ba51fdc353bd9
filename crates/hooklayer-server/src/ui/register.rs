//! The registration form: what the person typed (a [`Draft`]), turned into the same JSON body
//! the API takes, so validation and its messages are the API's own (SPEC §3).

use super::form::Form;
use super::layout::csrf_field;
use super::session::Session;
use hooklayer_core::event_type::EventType;
use hooklayer_core::ids::AppId;
use hooklayer_core::validation::PropertyError;
use maud::{html, Markup};
use serde_json::{Map, Value};

/// Below this many characters a secret earns a warning (SPEC §3: no minimum is enforced).
pub const SHORT_SECRET: usize = 16;

/// The registration form's values, and the error to show next to a field.
#[derive(Default)]
pub struct Draft {
    pub version: String,
    pub target_url: String,
    pub events: Vec<String>,
    /// SECURITY: kept to register, never written back into a page.
    pub secret: String,
    pub config: String,
    pub error: Option<PropertyError>,
}

impl Draft {
    pub fn from_form(form: &Form) -> Self {
        let text = |name| form.get(name).unwrap_or("").trim().to_owned();
        Self {
            version: text("version"),
            target_url: text("target_url"),
            events: form.all("events").into_iter().map(str::to_owned).collect(),
            secret: form.get("secret").unwrap_or("").to_owned(),
            config: text("config"),
            error: None,
        }
    }

    /// The registration body. Empty fields are left out, so they are reported as missing,
    /// exactly as the API would.
    pub fn to_body(&self) -> Result<Map<String, Value>, PropertyError> {
        let mut body = Map::new();
        let mut put = |key: &str, value: &str| {
            if !value.is_empty() {
                body.insert(key.into(), Value::String(value.into()));
            }
        };
        put("version", &self.version);
        put("target_url", &self.target_url);
        put("secret", &self.secret);
        if !self.events.is_empty() {
            body.insert(
                "events".into(),
                Value::Array(self.events.iter().cloned().map(Value::String).collect()),
            );
        }
        if !self.config.is_empty() {
            let config: Value = serde_json::from_str(&self.config).map_err(|_| {
                PropertyError::invalid("config", "The config property must be a JSON object.")
            })?;
            body.insert("config".into(), config);
        }
        Ok(body)
    }

    /// The message of the error to show next to `field`, if it is that field's.
    pub(super) fn error_for(&self, field: &str) -> Option<&str> {
        self.error
            .as_ref()
            .filter(|e| e.property == field)
            .map(|e| e.message.as_str())
    }
}

/// The error paragraph of a field, if it has one.
pub(super) fn field_error(draft: &Draft, field: &str) -> Markup {
    html! {
        @if let Some(message) = draft.error_for(field) {
            span.error id=(format!("{field}-error")) role="alert" { (message) }
        }
    }
}

/// The `aria-describedby` of a field: its hint and its error, when it has them.
pub(super) fn described_by(draft: &Draft, field: &str, hint: Option<&str>) -> Option<String> {
    let error = draft.error_for(field).map(|_| format!("{field}-error"));
    let parts: Vec<String> = hint.map(str::to_owned).into_iter().chain(error).collect();
    (!parts.is_empty()).then(|| parts.join(" "))
}

/// The event checkboxes, those of `draft` checked (registration and the settings form).
pub(super) fn events_fieldset(draft: &Draft) -> Markup {
    html! {
        fieldset aria-describedby=[described_by(draft, "events", None)] {
            legend { "Events" }
            @for event in EventType::ALL {
                label { input type="checkbox" name="events" value=(event.as_str())
                    checked[draft.events.iter().any(|e| e == event.as_str())];
                    (event.as_str()) }
            }
            (field_error(draft, "events"))
        }
    }
}

/// The registration form of `app`.
pub fn form(session: &Session, app: AppId, draft: &Draft) -> Markup {
    let version = if draft.version.is_empty() {
        "2.0"
    } else {
        draft.version.as_str()
    };
    html! {
        form.stack method="post" action=(format!("/ui/apps/{app}/webhooks")) {
            (csrf_field(session))
            label for="target_url" { "Target URL"
                input #target_url type="url" name="target_url" value=(draft.target_url)
                    placeholder="https://example.com/webhooks" maxlength="2048"
                    aria-invalid=[draft.error_for("target_url").map(|_| "true")]
                    aria-describedby=[described_by(draft, "target_url", None)];
                (field_error(draft, "target_url")) }
            (events_fieldset(draft))
            label for="secret" { "Secret"
                input #secret type="password" name="secret" autocomplete="new-password" maxlength="512"
                    aria-invalid=[draft.error_for("secret").map(|_| "true")]
                    aria-describedby=[described_by(draft, "secret", Some("secret-hint"))];
                span.muted #secret-hint { "Signs every delivery. Use at least 16 random characters; shorter secrets are accepted but can be guessed." }
                (field_error(draft, "secret")) }
            label for="version" { "Protocol version"
                select #version name="version" aria-describedby=[described_by(draft, "version", None)] {
                    @for v in ["2.0", "1.0"] { option value=(v) selected[v == version] { (v) } }
                }
                (field_error(draft, "version")) }
            label for="config" { "Config (optional JSON object, echoed in every delivery)"
                textarea #config name="config" placeholder="{\"key\": \"value\"}"
                    aria-invalid=[draft.error_for("config").map(|_| "true")]
                    aria-describedby=[described_by(draft, "config", None)] { (draft.config) }
                (field_error(draft, "config")) }
            div { button type="submit" { "Register webhook" } }
        }
    }
}

/// The `curl` that registers a webhook through the API, for the empty state.
pub fn curl_example(public_url: &str, app: AppId) -> String {
    format!(
        "curl -X POST {public_url}/apps/{app}/webhooks \\\n  -H \"Authorization: Bearer $HOOKLAYER_APP_TOKEN\" \\\n  -H \"Accept: application/vnd.layer.webhooks+json; version=2.0\" \\\n  -d '{{\"version\": \"2.0\", \"target_url\": \"https://example.com/webhooks\",\n       \"events\": [\"message.sent\"], \"secret\": \"a-long-random-secret\"}}'"
    )
}
