//! Webhooks: status, protocol version, secret, and the registration body parser (SPEC §3).

use crate::delivery_settings::DeliverySettings;
use crate::event_type::EventType;
use crate::ids::{AppId, WebhookId};
use crate::target_url::{TargetRules, TargetUrl};
use crate::time::Timestamp;
use crate::validation::PropertyError;
use serde_json::{Map, Value};
use std::fmt;
use std::str::FromStr;

/// Largest `config`, serialized, in bytes.
pub const MAX_CONFIG_BYTES: usize = 16 * 1024;
/// Secret length bounds, in characters: Layer set no minimum (its own examples register
/// `"my secret"`), so any non-empty string up to 512 characters is accepted.
pub const SECRET_LEN: std::ops::RangeInclusive<usize> = 1..=512;

/// The three Layer webhook states.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WebhookStatus {
    /// Registered or re-activated; waiting for the verification handshake.
    Unverified,
    /// Verified; receives events.
    Active,
    /// Failed verification, exhausted a delivery, or deactivated by its user.
    Inactive,
}

impl WebhookStatus {
    pub const ALL: [WebhookStatus; 3] = [
        WebhookStatus::Unverified,
        WebhookStatus::Active,
        WebhookStatus::Inactive,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            WebhookStatus::Unverified => "unverified",
            WebhookStatus::Active => "active",
            WebhookStatus::Inactive => "inactive",
        }
    }

    /// Parses a stored status.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

/// The `status_reason` set by `deactivate`.
pub const DEACTIVATED_BY_USER: &str = "Deactivated by User";

/// Protocol version chosen at registration; fixes the delivery `content-type` and `user-agent`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WebhookVersion {
    V1,
    V2,
}

impl WebhookVersion {
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookVersion::V1 => "1.0",
            WebhookVersion::V2 => "2.0",
        }
    }

    /// `layer-webhooks/<version>`
    pub fn user_agent(self) -> String {
        format!("layer-webhooks/{}", self.as_str())
    }

    /// `application/vnd.layer.webhooks+json; version=<version>`
    pub fn content_type(self) -> String {
        format!(
            "application/vnd.layer.webhooks+json; version={}",
            self.as_str()
        )
    }
}

impl FromStr for WebhookVersion {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "1.0" => Ok(WebhookVersion::V1),
            "2.0" => Ok(WebhookVersion::V2),
            _ => Err(()),
        }
    }
}

/// A signing secret. `Debug` never shows it; only signing code calls [`Secret::expose`].
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

/// The refusal of a secret that is not a string of the right length.
const SECRET_LEN_MESSAGE: &str =
    "The secret property must be a non-empty string of at most 512 characters.";

impl Secret {
    /// Parses a secret given by a user: non-empty, at most 512 characters, no NUL.
    pub fn parse(s: &str) -> Result<Self, PropertyError> {
        if !SECRET_LEN.contains(&s.chars().count()) {
            return Err(PropertyError::invalid("secret", SECRET_LEN_MESSAGE));
        }
        // NUL cannot be stored by every backend (PostgreSQL text) and has no place in a key.
        if s.contains('\0') {
            return Err(PropertyError::invalid(
                "secret",
                "The secret property must not contain a NUL character.",
            ));
        }
        Ok(Self(s.to_owned()))
    }

    /// Wraps a stored secret.
    pub fn from_stored(s: String) -> Self {
        Self(s)
    }
    /// The secret's text, for signing and storage only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// A webhook as stored.
#[derive(Clone, Debug)]
pub struct Webhook {
    pub id: WebhookId,
    pub app: AppId,
    pub version: WebhookVersion,
    pub target_url: TargetUrl,
    pub events: Vec<EventType>,
    pub secret: Secret,
    /// Echoed in every delivery body when non-empty.
    pub config: Map<String, Value>,
    pub status: WebhookStatus,
    pub status_reason: Option<String>,
    pub created_at: Timestamp,
    /// Rate limit, in-flight cap, order (SPEC §12).
    pub delivery: DeliverySettings,
}

/// A validated registration body.
#[derive(Clone, Debug)]
pub struct Registration {
    pub version: WebhookVersion,
    pub target_url: TargetUrl,
    pub events: Vec<EventType>,
    pub secret: Secret,
    pub config: Map<String, Value>,
    pub delivery: DeliverySettings,
}

impl Registration {
    /// Validates a registration body in the SPEC's order: version, target_url, events, secret,
    /// config. The first failure answers. Unknown keys are ignored.
    pub fn parse(body: &Map<String, Value>, rules: &TargetRules) -> Result<Self, PropertyError> {
        let version = match required(body, "version")? {
            Value::String(s) => s.parse().ok(),
            _ => None,
        }
        .ok_or_else(|| {
            PropertyError::invalid(
                "version",
                "The version property must be \"1.0\" or \"2.0\".",
            )
        })?;

        let target_url = parse_target_url(required(body, "target_url")?, rules)?;
        let events = parse_events(required(body, "events")?)?;
        let secret = parse_secret(required(body, "secret")?)?;
        let config = match body.get("config") {
            None | Some(Value::Null) => Map::new(),
            Some(value) => parse_config(value)?,
        };
        let delivery = match body.get("delivery") {
            None | Some(Value::Null) => DeliverySettings::default(),
            Some(value) => DeliverySettings::parse(value)?,
        };

        Ok(Self {
            version,
            target_url,
            events,
            secret,
            config,
            delivery,
        })
    }
}

/// A `target_url` value (registration and change).
pub(crate) fn parse_target_url(
    value: &Value,
    rules: &TargetRules,
) -> Result<TargetUrl, PropertyError> {
    match value {
        Value::String(s) => TargetUrl::parse(s, rules),
        _ => Err(PropertyError::invalid(
            "target_url",
            "The target_url property must be an https URL.",
        )),
    }
}

/// A `secret` value (registration and change).
pub(crate) fn parse_secret(value: &Value) -> Result<Secret, PropertyError> {
    match value {
        Value::String(s) => Secret::parse(s),
        _ => Err(PropertyError::invalid("secret", SECRET_LEN_MESSAGE)),
    }
}

/// A present, non-null `config` value (registration and change).
pub(crate) fn parse_config(value: &Value) -> Result<Map<String, Value>, PropertyError> {
    let Value::Object(map) = value else {
        return Err(PropertyError::invalid(
            "config",
            "The config property must be a JSON object.",
        ));
    };
    let size = serde_json::to_vec(map)
        .map(|v| v.len())
        .unwrap_or(usize::MAX);
    if size > MAX_CONFIG_BYTES {
        return Err(PropertyError::invalid(
            "config",
            "The config property must be at most 16 KiB.",
        ));
    }
    Ok(map.clone())
}

/// The value of a required key: absent or `null` is `missing_property`.
fn required<'a>(body: &'a Map<String, Value>, key: &str) -> Result<&'a Value, PropertyError> {
    match body.get(key) {
        None | Some(Value::Null) => Err(PropertyError::missing(key)),
        Some(v) => Ok(v),
    }
}

pub(crate) fn parse_events(value: &Value) -> Result<Vec<EventType>, PropertyError> {
    let invalid = |msg: String| PropertyError::invalid("events", msg);
    let Value::Array(items) = value else {
        return Err(invalid(
            "The events property must be an array of event types.".into(),
        ));
    };
    if items.is_empty() {
        return Err(invalid(
            "The events property must name at least one event type.".into(),
        ));
    }
    let mut events = Vec::with_capacity(items.len());
    for item in items {
        let Value::String(name) = item else {
            return Err(invalid(
                "The events property must be an array of event types.".into(),
            ));
        };
        let ty: EventType = name.parse().map_err(|_| {
            invalid(format!(
                "The events property names an unknown event type: {}.",
                truncate(name, 64)
            ))
        })?;
        if events.contains(&ty) {
            return Err(invalid(format!("The events property names {ty} twice.")));
        }
        events.push(ty);
    }
    Ok(events)
}

/// At most `max` characters of user input, for quoting it in a message.
fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validation::PropertyErrorKind::{Invalid, Missing};
    use serde_json::json;

    fn parse(v: Value) -> Result<Registration, PropertyError> {
        Registration::parse(v.as_object().unwrap(), &TargetRules::default())
    }

    fn seed() -> Value {
        json!({"version": "2.0", "target_url": "https://mydomain.com/my-webhook-endpoint",
               "events": ["conversation.created", "message.sent"],
               "secret": "1697f925ec7b1697f925ec7b", "config": {"key1": "value1", "key2": "value2"}})
    }

    #[test]
    fn the_seed_example_is_valid() {
        let r = parse(seed()).unwrap();
        assert_eq!(r.version, WebhookVersion::V2);
        assert_eq!(
            r.events,
            vec![EventType::ConversationCreated, EventType::MessageSent]
        );
        assert_eq!(r.config.keys().collect::<Vec<_>>(), ["key1", "key2"]);
    }

    #[test]
    fn each_rule_names_its_property() {
        let cases: Vec<(&str, Value, crate::validation::PropertyErrorKind)> = vec![
            ("version", Value::Null, Missing),
            ("version", json!("3.0"), Invalid),
            ("target_url", json!(7), Invalid),
            ("events", json!([]), Invalid),
            ("events", json!(["message.sent", "message.sent"]), Invalid),
            ("events", json!(["user.created"]), Invalid),
            ("events", json!("message.sent"), Invalid),
            ("secret", json!(""), Invalid),
            ("secret", json!("x".repeat(513)), Invalid),
            ("secret", json!(12345678901234567i64), Invalid),
            ("secret", json!("my secret\u{0}"), Invalid),
            ("config", json!([1]), Invalid),
            ("config", json!({"big": "x".repeat(17 * 1024)}), Invalid),
        ];
        for (key, value, kind) in cases {
            let mut body = seed();
            body[key] = value;
            let err = parse(body).unwrap_err();
            assert_eq!(
                (err.property.as_str(), err.kind),
                (key, kind),
                "{}",
                err.message
            );
        }
    }

    #[test]
    fn layer_example_secrets_are_accepted_and_nul_is_named() {
        for secret in ["my secret", "Frodo is a Dodo", "x"] {
            let mut body = seed();
            body["secret"] = json!(secret);
            assert_eq!(parse(body).unwrap().secret.expose(), secret);
        }
        let mut body = seed();
        body["secret"] = json!("my\u{0}secret");
        let err = parse(body).unwrap_err();
        assert!(err.message.contains("NUL"), "{}", err.message);
    }

    #[test]
    fn checks_run_in_order() {
        let err = parse(json!({})).unwrap_err();
        assert_eq!(err.property, "version");
        let err = parse(json!({"version": "2.0", "events": "x"})).unwrap_err();
        assert_eq!(err.property, "target_url");
        assert_eq!(err.kind, Missing);
    }

    #[test]
    fn config_is_optional_and_secret_is_redacted() {
        let mut body = seed();
        body.as_object_mut().unwrap().remove("config");
        let r = parse(body).unwrap();
        assert!(r.config.is_empty());
        assert_eq!(format!("{:?}", r.secret), "Secret(<redacted>)");
    }
}
