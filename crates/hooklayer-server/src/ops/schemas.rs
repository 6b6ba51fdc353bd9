//! OpenAPI pieces the handlers' `#[utoipa::path]` attributes share: request-body schemas,
//! path/header/query parameters, and the error responses of each family of routes.
//!
//! Why request bodies are documentation-only types here: the handlers parse bodies by hand
//! from a JSON map, because the Layer contract fixes which error (missing vs invalid, which
//! property, in which order) each malformation gets; a serde struct could not report that.
//! The response types, on the other hand, are the handlers' own `Serialize` types.

use hooklayer_core::event_type::EventType;
use hooklayer_core::webhook::WebhookStatus;
use hooklayer_store::DeliveryStatus;
use serde::Serialize;
use serde_json::{json, Value};
use std::borrow::Cow;
use std::collections::BTreeMap;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::{Content, Ref, RefOr, Required, Response, ResponseBuilder, Schema};
use utoipa::{IntoParams, IntoResponses, PartialSchema, ToSchema};

/// The Layer media type the webhooks API requires in `Accept`.
pub const LAYER_ACCEPT: &str = "application/vnd.layer.webhooks+json; version=2.0";

// ---- value schemas built from the domain catalogs -----------------------------------------

/// One of the 8 Layer event types (from the core catalog).
pub struct EventTypeName;

impl PartialSchema for EventTypeName {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(EventType::ALL.map(EventType::as_str)))
            .description(Some("A Layer event type."))
            .into()
    }
}
impl ToSchema for EventTypeName {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("EventType")
    }
}

/// A webhook status (from the core state machine).
pub struct WebhookStatusName;

impl PartialSchema for WebhookStatusName {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(WebhookStatus::ALL.map(WebhookStatus::as_str)))
            .into()
    }
}
impl ToSchema for WebhookStatusName {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("WebhookStatus")
    }
}

/// A delivery's state (from the store's model).
pub struct DeliveryStatusName;

impl PartialSchema for DeliveryStatusName {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(DeliveryStatus::ALL.map(DeliveryStatus::as_str)))
            .into()
    }
}
impl ToSchema for DeliveryStatusName {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("DeliveryStatus")
    }
}

// ---- request bodies ----------------------------------------------------------------------

/// `POST /admin/apps`.
#[derive(Serialize, ToSchema)]
pub struct NewApp {
    /// 1 to 128 characters, none of them a control character (Unicode `Cc`).
    #[schema(
        min_length = 1,
        max_length = 128,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$"
    )]
    pub name: String,
}

/// The Layer webhooks protocol version of a webhook.
#[derive(Serialize, ToSchema)]
pub enum LayerVersion {
    #[serde(rename = "1.0")]
    V1,
    #[serde(rename = "2.0")]
    V2,
}

/// `POST /apps/{app_uuid}/webhooks`: checked in this order, the first failure answers.
#[derive(Serialize, ToSchema)]
pub struct Registration {
    pub version: LayerVersion,
    /// Absolute `https://` URL, no userinfo, at most 2048 characters, no control character,
    /// its host a DNS name (or a literal IP, judged like the address it names: blocked ones
    /// are refused).
    ///
    /// The pattern leaves literal IPs out (the last label of the host starts with a letter),
    /// since whether one is accepted depends on `HOOKLAYER_ALLOW_TARGETS`.
    #[schema(
        max_length = 2048,
        pattern = r"^https://([A-Za-z0-9-]+\.)*[A-Za-z][A-Za-z0-9-]*\.?(:([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?([/?#\\][^\u0000-\u001F\u007F-\u009F]*)?$",
        example = "https://example.com/hooks/layer"
    )]
    pub target_url: String,
    /// Non-empty, no duplicates.
    #[schema(schema_with = event_type_list)]
    pub events: Vec<String>,
    /// Signs every delivery; never shown again. Any text without NUL; `whsec_<base64>` keys
    /// Standard Webhooks signatures with the decoded bytes.
    #[schema(min_length = 1, max_length = 512, pattern = r"^[^\u0000]*$")]
    pub secret: String,
    /// Echoed in every delivery body; at most 16 KiB serialized. `{}` when absent or `null`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>, nullable)]
    pub config: Option<Value>,
    /// Rate limit, in-flight cap and order (SPEC §12); defaults when absent or `null`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable)]
    pub delivery: Option<DeliveryIn>,
}

/// `PATCH /apps/{app_uuid}/webhooks/{webhook_uuid}`: any subset of these keys, each checked
/// as at registration in this order; `null` is `invalid_property`; other keys are ignored.
#[derive(Serialize, ToSchema)]
pub struct WebhookPatch {
    /// As at registration. A different URL makes the webhook `unverified` and verifies it
    /// again.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(
        nullable = false,
        max_length = 2048,
        pattern = r"^https://([A-Za-z0-9-]+\.)*[A-Za-z][A-Za-z0-9-]*\.?(:([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?([/?#\\][^\u0000-\u001F\u007F-\u009F]*)?$"
    )]
    pub target_url: Option<String>,
    /// Non-empty, no duplicates.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = event_type_list)]
    pub events: Option<Vec<String>>,
    /// Rotates the secret: the replaced one keeps signing for `HOOKLAYER_SECRET_OVERLAP`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(
        nullable = false,
        min_length = 1,
        max_length = 512,
        pattern = r"^[^\u0000]*$"
    )]
    pub secret: Option<String>,
    /// At most 16 KiB serialized.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Object)]
    pub config: Option<Value>,
    /// Only the keys given change.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub delivery: Option<DeliveryIn>,
}

/// The `delivery` object of registration and `PATCH` (SPEC §12); unknown keys are refused.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = DeliverySettingsIn)]
pub struct DeliveryIn {
    /// 1 to 100000 attempts started per second, or `null` for no limit (default).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable, minimum = 1, maximum = 100000)]
    pub rate_limit: Option<u32>,
    /// 1 to 256 concurrent attempts (default `HOOKLAYER_MAX_IN_FLIGHT_PER_WEBHOOK`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, minimum = 1, maximum = 256)]
    pub max_in_flight: Option<u32>,
    /// First-in, first-out delivery (default `false`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub ordered: Option<bool>,
}

/// `events` of a registration: at least one event type, none twice.
fn event_type_list() -> RefOr<Schema> {
    from_json(json!({
        "type": "array",
        "items": {"$ref": "#/components/schemas/EventType"},
        "minItems": 1,
        "uniqueItems": true,
    }))
}

/// A schema written as JSON (for what utoipa's derive cannot say: `oneOf` of inline objects,
/// type unions). The input is a constant of this module, so a failure is a bug found by the
/// unit tests.
pub(crate) fn from_json(value: Value) -> RefOr<Schema> {
    serde_json::from_value(value).expect("a valid schema constant")
}

/// Which deliveries a replay queues again.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ReplayStatus {
    Failed,
    Succeeded,
    All,
}

/// `POST …/replay`.
#[derive(Serialize, ToSchema)]
pub struct Replay {
    /// Inclusive, on each delivery's `created_at`.
    #[schema(format = DateTime)]
    pub since: String,
    /// Defaults to `failed` (also when `null`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable)]
    pub status: Option<ReplayStatus>,
}

// ---- parameters ------------------------------------------------------------------------

fn param(name: &str, at: ParameterIn, description: &str, format: Option<&str>) -> Parameter {
    let mut schema = ObjectBuilder::new().schema_type(Type::String);
    if let Some(format) = format {
        schema = schema.format(Some(SchemaFormat::Custom(format.to_owned())));
    }
    let required = if at == ParameterIn::Path {
        Required::True
    } else {
        Required::False
    };
    ParameterBuilder::new()
        .name(name)
        .parameter_in(at)
        .required(required)
        .description(Some(description))
        .schema(Some(schema))
        .build()
}

fn app_uuid() -> Parameter {
    param(
        "app_uuid",
        ParameterIn::Path,
        "The app's UUID.",
        Some("uuid"),
    )
}
fn webhook_uuid() -> Parameter {
    param(
        "webhook_uuid",
        ParameterIn::Path,
        "The webhook's UUID.",
        Some("uuid"),
    )
}
/// The `Accept` values a route takes, exactly as the server compares them (media type and
/// `version` case-insensitive, spaces ignored): the document lists their canonical spelling.
fn accept(also_json: bool) -> Parameter {
    let mut values = vec![
        "application/vnd.layer.webhooks+json; version=1.0",
        "application/vnd.layer.webhooks+json; version=2.0",
    ];
    if also_json {
        values.push("application/json");
    }
    let schema = ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values));
    ParameterBuilder::new()
        .name("Accept")
        .parameter_in(ParameterIn::Header)
        .required(Required::True)
        .description(Some("The Layer media type (version 1.0 or 2.0); anything else, or none, is 406 invalid_header."))
        .schema(Some(schema))
        .build()
}

/// The `Accept` of a listener stream: `text/event-stream` (the Layer media types pass too).
fn listen_accept() -> Parameter {
    let mut p = accept(false);
    p.description =
        Some("`text/event-stream`; anything else, or none, is 406 invalid_header.".into());
    p.schema = Some(from_json(json!({"type": "string", "enum": [
        "text/event-stream",
        "application/vnd.layer.webhooks+json; version=1.0",
        "application/vnd.layer.webhooks+json; version=2.0",
    ]})));
    p
}

/// An optional query parameter with `schema`.
fn query(name: &str, description: &str, schema: RefOr<Schema>) -> Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Query)
        .required(Required::False)
        .description(Some(description))
        .schema(Some(schema))
        .build()
}

/// Declares a parameter set from a list of parameter constructors.
macro_rules! param_set {
    ($(#[$doc:meta])* $name:ident => [$($make:expr),+ $(,)?]) => {
        $(#[$doc])*
        pub struct $name;
        impl IntoParams for $name {
            fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
                vec![$($make),+]
            }
        }
    };
}

param_set!(
    /// `{app_uuid}` of an admin route.
    AdminAppParams => [app_uuid()]
);
param_set!(
    /// `{app_uuid}` and the Layer `Accept` header.
    AppParams => [app_uuid(), accept(false)]
);
param_set!(
    /// `{app_uuid}`, `{webhook_uuid}` and the Layer `Accept` header.
    WebhookParams => [app_uuid(), webhook_uuid(), accept(false)]
);
param_set!(
    /// `{app_uuid}` and the idempotency header of the publish API.
    PublishParams => [
        app_uuid(),
        param("If-None-Match", ParameterIn::Header, "The id of a single event (a UUID); a non-UUID value is 400 invalid_request_id.", Some("uuid")),
    ]
);
param_set!(
    /// `{app_uuid}`, `Accept: text/event-stream` and `events` of a listener stream.
    ListenParams => [
        app_uuid(),
        listen_accept(),
        query("events", "Comma-separated event types to receive (all when absent); an unknown type is 422 `invalid_property` `events`.",
            from_json(json!({"type": "string", "pattern": crate::ops::event_schemas::event_type_list_pattern()}))),
    ]
);
param_set!(
    /// `{app_uuid}`, `{webhook_uuid}`, `Accept` (Layer or JSON) of the delivery-log routes.
    LogParams => [app_uuid(), webhook_uuid(), accept(true)]
);
param_set!(
    /// [`LogParams`] plus `{request_id}`.
    DeliveryParams => [
        app_uuid(),
        webhook_uuid(),
        param("request_id", ParameterIn::Path, "The delivery's request id (`layer-webhook-request-id`).", Some("uuid")),
        accept(true),
    ]
);
param_set!(
    /// The query of the delivery list.
    DeliveryListQuery => [
        query("status", "Only deliveries in this state; all when absent.", DeliveryStatusName::schema()),
        query("limit", "Page size (default 50).", from_json(json!({"type": "integer", "minimum": 1, "maximum": crate::deliveries::wire::MAX_LIMIT}))),
        query("cursor", "The `next_cursor` of the previous page: `<milliseconds>_<request id>`.",
            from_json(json!({"type": "string", "pattern": CURSOR_PATTERN}))),
    ]
);

/// A `next_cursor`: the milliseconds and the request id of the last delivery of a page.
pub const CURSOR_PATTERN: &str =
    "^(0|[1-9][0-9]{0,14})_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$";

// ---- error responses -------------------------------------------------------------------

/// What each error status means on hooklayer's routes (SPEC §3 error table).
fn error_description(status: u16) -> &'static str {
    match status {
        400 => "`invalid_request` (10): the body is not JSON, not an object, or nests deeper than 64 levels; `invalid_request_id` (3): `If-None-Match` is not a UUID.",
        401 => "`authentication_required` (4): no or unknown bearer token.",
        403 => "`invalid_app_id` (2): the token belongs to another app.",
        404 => "`not_found` (102): no such app, webhook or delivery; `invalid_endpoint` (106) for the admin API when no admin token is configured.",
        406 => "`invalid_header` (107): the `Accept` header is missing or not accepted.",
        413 => "`request_too_large` (11): the body is over `HOOKLAYER_MAX_PAYLOAD`.",
        422 => "`missing_property` (104), `invalid_property` (105) or `invalid_operation` (9); `data.property` names the field (and `data.index` the batch element).",
        429 => "`rate_limit_exceeded` (7): the app is over `HOOKLAYER_RATE_LIMIT`; retry after `Retry-After` seconds.",
        503 => "`service_unavailable` (1): the database is out of reach or its disk is full (nothing was stored), or the server is shutting down; retry after `Retry-After` seconds.",
        _ => "`internal_server_error` (100): our fault; the cause is logged, never returned.",
    }
}

fn error_response(status: u16) -> Response {
    let mut response = ResponseBuilder::new()
        .description(error_description(status))
        .content(
            "application/json",
            Content::new(Some(Ref::from_schema_name("LayerError"))),
        );
    match status {
        401 => {
            response = response.header(
                "WWW-Authenticate",
                HeaderBuilder::new()
                    .schema(Some(String::schema()))
                    .description(Some("`Bearer`"))
                    .build(),
            )
        }
        429 | 503 => {
            response = response.header(
                "Retry-After",
                HeaderBuilder::new()
                    .schema(Some(u64::schema()))
                    .description(Some("Seconds to wait before sending the request again."))
                    .build(),
            )
        }
        _ => {}
    }
    response.build()
}

/// The responses of these error statuses.
pub fn error_responses(statuses: &[u16]) -> BTreeMap<String, RefOr<Response>> {
    statuses
        .iter()
        .map(|s| (s.to_string(), RefOr::T(error_response(*s))))
        .collect()
}

/// Declares a set of error responses for a family of routes.
macro_rules! error_set {
    ($(#[$doc:meta])* $name:ident => [$($status:literal),+]) => {
        $(#[$doc])*
        pub struct $name;
        impl IntoResponses for $name {
            fn responses() -> BTreeMap<String, RefOr<Response>> {
                error_responses(&[$($status),+])
            }
        }
    };
}

error_set!(
    /// Admin routes without a body.
    AdminErrors => [401, 404, 500, 503]
);
error_set!(
    /// Admin routes with a body.
    AdminBodyErrors => [400, 401, 404, 413, 422, 500, 503]
);
error_set!(
    /// App routes on the app itself (list).
    AppErrors => [401, 403, 406, 429, 500, 503]
);
error_set!(
    /// Webhook registration.
    RegisterErrors => [400, 401, 403, 406, 413, 422, 429, 500, 503]
);
error_set!(
    /// Changing a webhook (a JSON body, checked like a registration).
    ChangeErrors => [400, 401, 403, 404, 406, 413, 422, 429, 500]
);
error_set!(
    /// Routes on one webhook without a body.
    WebhookErrors => [401, 403, 404, 406, 429, 500, 503]
);
error_set!(
    /// Routes on one webhook whose (ignored) body is size-limited.
    WebhookBodyErrors => [401, 403, 404, 406, 413, 429, 500, 503]
);
error_set!(
    /// The publish API (any `Accept`).
    PublishErrors => [400, 401, 403, 413, 422, 429, 500, 503]
);
error_set!(
    /// Delivery-log reads (422 for a bad query).
    LogErrors => [401, 403, 404, 406, 422, 429, 500, 503]
);
error_set!(
    /// A listener stream (429 also when the app has 10 streams open; 503 during shutdown).
    ListenErrors => [401, 403, 406, 422, 429, 500, 503]
);
error_set!(
    /// Retry: its body is ignored but must be a JSON object when present, within the size
    /// limit; 422 when the webhook is not active.
    RetryErrors => [400, 401, 403, 404, 406, 413, 422, 429, 500, 503]
);
error_set!(
    /// Replay (a JSON body).
    ReplayErrors => [400, 401, 403, 404, 406, 413, 422, 429, 500, 503]
);

/// The answer of the publish API: one object, or an array for a batch.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum Published {
    One(crate::api::events::Accepted),
    Batch(Vec<crate::api::events::Accepted>),
}
