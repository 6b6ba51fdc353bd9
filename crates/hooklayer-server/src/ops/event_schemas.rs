//! Events in the OpenAPI document. The publish API's request body (SPEC §5): an event is a
//! `message.*` event with a `message` object or a `conversation.*` event with a
//! `conversation` object, each with a string `id`; a batch holds 1 to 1000 of them. And the
//! events of a listener stream (SPEC §14). Written as JSON schema, since the derive cannot say
//! `oneOf` of inline objects or type unions.

use super::schemas::from_json;
use hooklayer_core::event_type::EventType;
use serde_json::{json, Value};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};

/// A UUID in its hyphenated form.
const UUID_PATTERN: &str =
    "^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$";

/// An RFC 3339 time. Days stop at 28, so that every date the pattern admits exists.
const RFC3339_PATTERN: &str = concat!(
    "^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])T",
    "([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]{1,9})?",
    "(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$"
);

/// One event to publish: a `message.*` event with a `message` object, or a
/// `conversation.*` event with a `conversation` object; either has a string `id`. Keys not
/// listed are ignored.
pub struct NewEvent;

/// The schema of one event of `family` (`message` or `conversation`).
fn event_schema(family: &str) -> Value {
    let types: Vec<&str> = EventType::ALL
        .iter()
        .filter(|t| t.family().entity_key() == family)
        .map(|t| t.as_str())
        .collect();
    let title = format!("{}{}Event", family[..1].to_uppercase(), &family[1..]);
    json!({
        "title": title,
        "type": "object",
        "required": ["type", family],
        "properties": {
            "type": {"type": "string", "enum": types},
            family: {
                "type": "object",
                "required": ["id"],
                "properties": {"id": {"type": "string"}},
                "description": format!("The Layer {family}, delivered as published (numbers keep their text)."),
            },
            "actor": {"type": ["object", "null"], "description": "The identity that caused the event."},
            "id": {"type": ["string", "null"], "pattern": UUID_PATTERN,
                   "description": "Idempotency key; a new UUIDv4 when absent. On a single event, equal to `If-None-Match` when both are given."},
            "created_at": {"type": ["string", "null"], "pattern": RFC3339_PATTERN, "description": "RFC 3339; now when absent."},
        },
    })
}

impl PartialSchema for NewEvent {
    fn schema() -> RefOr<Schema> {
        from_json(json!({"oneOf": [event_schema("message"), event_schema("conversation")]}))
    }
}
impl ToSchema for NewEvent {}

/// `POST /apps/{app_uuid}/events`: one event, or an array of 1 to 1000 (stored all or none).
pub struct Publish;

impl PartialSchema for Publish {
    fn schema() -> RefOr<Schema> {
        let event = json!({"$ref": "#/components/schemas/NewEvent"});
        from_json(json!({"oneOf": [
            event,
            {"type": "array", "items": event, "minItems": 1, "maxItems": hooklayer_core::event::MAX_BATCH},
        ]}))
    }
}
impl ToSchema for Publish {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((NewEvent::name().into_owned(), NewEvent::schema()));
    }
}

/// `events=` of a listener stream: event types separated by commas, or nothing.
pub fn event_type_list_pattern() -> String {
    let names: Vec<String> = EventType::ALL
        .iter()
        .map(|t| t.as_str().replace('.', "\\."))
        .collect();
    let one = format!("({})", names.join("|"));
    format!("^({one}(,{one})*)?$")
}

/// One event of a listener stream: `secret` first, then one `delivery` per matching event,
/// each with JSON text as its data.
pub struct ListenEvent;

impl PartialSchema for ListenEvent {
    fn schema() -> RefOr<Schema> {
        from_json(json!({
            "type": "object",
            "required": ["event", "data"],
            "properties": {
                "event": {"type": "string", "enum": ["secret", "delivery"]},
                "data": {"type": "string", "contentMediaType": "application/json"},
            },
        }))
    }
}
impl ToSchema for ListenEvent {}
