//! Published events: the publish body parser (SPEC §5) and the delivery body renderer (§6).
//!
//! The payload is rendered once at ingest into a *prefix*, `{"event":{…},"<entity>":{…}`
//! without its closing brace; each delivery appends the webhook's `config` (when non-empty)
//! and the brace. That keeps the per-attempt work to one concatenation. The entity and the
//! `actor` are rendered from their published text (see [`crate::raw_json`]), so their numbers
//! arrive exactly as written.

use crate::event_type::EventType;
use crate::ids::EventId;
use crate::raw_json;
use crate::time::Timestamp;
use crate::validation::PropertyError;
use serde_json::{Map, Value};

/// Most events in one publish request.
pub const MAX_BATCH: usize = 1000;

/// A validated event, ready to store.
#[derive(Clone, Debug)]
pub struct NewEvent {
    pub id: EventId,
    pub event_type: EventType,
    pub created_at: Timestamp,
    /// The payload prefix (see the module docs).
    pub payload_prefix: String,
}

impl NewEvent {
    /// Validates one event object: `body` is its parsed form, `raw` the published text it was
    /// parsed from. `default_id` is used when the body has no `id`; `now` when it has no
    /// `created_at`.
    pub fn parse(
        body: &Map<String, Value>,
        raw: &str,
        default_id: EventId,
        now: Timestamp,
    ) -> Result<Self, PropertyError> {
        let event_type: EventType = match body.get("type") {
            None | Some(Value::Null) => return Err(PropertyError::missing("type")),
            Some(Value::String(s)) => s.parse().ok(),
            Some(_) => None,
        }
        .ok_or_else(|| {
            PropertyError::invalid(
                "type",
                "The type property must be one of the Layer event types.",
            )
        })?;

        let key = event_type.family().entity_key();
        let entity = match body.get(key) {
            None | Some(Value::Null) => return Err(PropertyError::missing(key)),
            Some(Value::Object(entity)) => entity,
            Some(_) => {
                return Err(PropertyError::invalid(
                    key,
                    format!("The {key} property must be a JSON object."),
                ))
            }
        };
        if !matches!(entity.get("id"), Some(Value::String(_))) {
            let path = format!("{key}.id");
            return Err(PropertyError::invalid(
                &path,
                format!("The {path} property must be a string."),
            ));
        }

        let actor = match body.get("actor") {
            None | Some(Value::Null) => None,
            Some(Value::Object(actor)) => Some(actor),
            Some(_) => {
                return Err(PropertyError::invalid(
                    "actor",
                    "The actor property must be a JSON object.",
                ))
            }
        };

        let id = match body.get("id") {
            None | Some(Value::Null) => default_id,
            Some(Value::String(s)) => s
                .parse()
                .map_err(|_| PropertyError::invalid("id", "The id property must be a UUID."))?,
            Some(_) => {
                return Err(PropertyError::invalid(
                    "id",
                    "The id property must be a UUID.",
                ))
            }
        };

        let created_at = match body.get("created_at") {
            None | Some(Value::Null) => now,
            Some(Value::String(s)) => Timestamp::parse_rfc3339(s).ok_or_else(|| {
                PropertyError::invalid(
                    "created_at",
                    "The created_at property must be an RFC 3339 time.",
                )
            })?,
            Some(_) => {
                return Err(PropertyError::invalid(
                    "created_at",
                    "The created_at property must be an RFC 3339 time.",
                ))
            }
        };

        let published = raw_json::members(raw).unwrap_or_default();
        let text_of = |key: &str, parsed: &Map<String, Value>| match published.get(key) {
            Some(raw) => raw_json::compact(raw.get()),
            // Only when `raw` is not the text of `body`: render the parsed form.
            None => Value::Object(parsed.clone()).to_string(),
        };
        let actor = actor.map(|actor| text_of("actor", actor));
        let payload_prefix = render_prefix(
            id,
            event_type,
            created_at,
            actor.as_deref(),
            key,
            &text_of(key, entity),
        );
        Ok(Self {
            id,
            event_type,
            created_at,
            payload_prefix,
        })
    }
}

/// `{"event":{"created_at","type","id","actor"?},"<entity>":{…}` (no closing brace); `actor`
/// and `entity` are compact JSON text.
fn render_prefix(
    id: EventId,
    event_type: EventType,
    created_at: Timestamp,
    actor: Option<&str>,
    entity_key: &str,
    entity: &str,
) -> String {
    let mut event = Map::new();
    event.insert("created_at".into(), Value::String(created_at.to_rfc3339()));
    event.insert("type".into(), Value::String(event_type.as_str().into()));
    event.insert("id".into(), Value::String(id.to_string()));
    let mut event = Value::Object(event).to_string();
    if let Some(actor) = actor {
        event.pop(); // the closing brace
        event.push_str(",\"actor\":");
        event.push_str(actor);
        event.push('}');
    }
    let mut out = String::with_capacity(event.len() + entity.len() + 32);
    out.push_str("{\"event\":");
    out.push_str(&event);
    out.push_str(",\"");
    out.push_str(entity_key);
    out.push_str("\":");
    out.push_str(entity);
    out
}

/// The delivery body: the prefix, `"config"` when the webhook has one, and the closing brace.
/// `config_json` is the webhook's config serialized compactly (`{}` counts as none).
pub fn render_body(payload_prefix: &str, config_json: &str) -> String {
    let mut body = String::with_capacity(payload_prefix.len() + config_json.len() + 12);
    body.push_str(payload_prefix);
    if !config_json.is_empty() && config_json != "{}" {
        body.push_str(",\"config\":");
        body.push_str(config_json);
    }
    body.push('}');
    body
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: Value) -> Result<NewEvent, PropertyError> {
        NewEvent::parse(
            v.as_object().unwrap(),
            &v.to_string(),
            EventId::new(),
            Timestamp::from_millis(0),
        )
    }

    #[test]
    fn the_body_has_the_layer_envelope_in_order() {
        let e = parse(json!({"type": "message.sent", "actor": {"user_id": "1234"},
            "message": {"id": "layer:///messages/9", "parts": [{"body": "héllo / ☃"}]},
            "id": "c12f340d-3b62-4cf1-9b93-ef4d754cfe69", "created_at": "2015-09-17T20:46:47.561Z"}))
        .unwrap();
        assert_eq!(
            render_body(&e.payload_prefix, r#"{"key1":"value1"}"#),
            r#"{"event":{"created_at":"2015-09-17T20:46:47.561Z","type":"message.sent","id":"c12f340d-3b62-4cf1-9b93-ef4d754cfe69","actor":{"user_id":"1234"}},"message":{"id":"layer:///messages/9","parts":[{"body":"héllo / ☃"}]},"config":{"key1":"value1"}}"#
        );
        assert!(render_body(&e.payload_prefix, "{}").ends_with("]}}"));
    }

    #[test]
    fn the_entity_and_actor_keep_their_published_text() {
        let raw = r#"{"type": "message.sent", "actor": {"n": 1E2}, "message": {"id": "m", "n": [1e2, -0, 1.0]}, "message": {"id": "m2", "n": 18446744073709551616}}"#;
        let body: Value = serde_json::from_str(raw).unwrap();
        let e = NewEvent::parse(
            body.as_object().unwrap(),
            raw,
            EventId::new(),
            Timestamp::from_millis(0),
        )
        .unwrap();
        assert!(
            e.payload_prefix
                .ends_with(r#","actor":{"n":1E2}},"message":{"id":"m2","n":18446744073709551616}"#),
            "{}",
            e.payload_prefix
        );
    }

    #[test]
    fn each_rule_names_its_property() {
        let cases = [
            (json!({"message": {"id": "m"}}), "type"),
            (
                json!({"type": "message.exploded", "message": {"id": "m"}}),
                "type",
            ),
            (
                json!({"type": "message.sent", "conversation": {"id": "c"}}),
                "message",
            ),
            (
                json!({"type": "conversation.created", "conversation": "c"}),
                "conversation",
            ),
            (
                json!({"type": "message.sent", "message": {"id": 7}}),
                "message.id",
            ),
            (
                json!({"type": "message.sent", "message": {"id": "m"}, "actor": "bob"}),
                "actor",
            ),
            (
                json!({"type": "message.sent", "message": {"id": "m"}, "id": "nope"}),
                "id",
            ),
            (
                json!({"type": "message.sent", "message": {"id": "m"}, "created_at": "soon"}),
                "created_at",
            ),
        ];
        for (body, property) in cases {
            assert_eq!(
                parse(body.clone()).unwrap_err().property,
                property,
                "{body}"
            );
        }
    }

    #[test]
    fn defaults_fill_id_and_created_at() {
        let id = EventId::new();
        let body = json!({"type": "conversation.deleted", "conversation": {"id": "c"}});
        let e = NewEvent::parse(
            body.as_object().unwrap(),
            &body.to_string(),
            id,
            Timestamp::from_millis(1_000),
        )
        .unwrap();
        assert_eq!(e.id, id);
        assert_eq!(e.created_at, Timestamp::from_millis(1_000));
        assert!(!e.payload_prefix.contains("actor"));
    }
}
