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
use serde_json::Value;
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
    /// 1 to 128 characters.
    #[schema(min_length = 1, max_length = 128)]
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
    /// Absolute `https://` URL, no userinfo, at most 2048 characters, not a blocked address.
    #[schema(max_length = 2048, example = "https://example.com/hooks/layer")]
    pub target_url: String,
    /// Non-empty, no duplicates.
    #[schema(min_items = 1, value_type = Vec<EventTypeName>)]
    pub events: Vec<String>,
    /// Signs every delivery; never shown again. `whsec_<base64>` keys Standard Webhooks
    /// signatures with the decoded bytes.
    #[schema(min_length = 1, max_length = 512)]
    pub secret: String,
    /// Echoed in every delivery body; at most 16 KiB serialized. `{}` when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub config: Option<Value>,
}

/// One event to publish. The entity key is `message` for `message.*` types and
/// `conversation` for `conversation.*` types: an object with a string `id`.
#[derive(Serialize, ToSchema)]
pub struct NewEvent {
    #[serde(rename = "type")]
    #[schema(value_type = EventTypeName)]
    pub event_type: String,
    /// The identity that caused the event.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub actor: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub message: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub conversation: Option<Value>,
    /// Idempotency key (UUID); a new UUIDv4 when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = "uuid")]
    pub id: Option<String>,
    /// RFC 3339; now when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime)]
    pub created_at: Option<String>,
}

/// `POST /apps/{app_uuid}/events`: one event, or an array of 1 to 1000.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum Publish {
    One(Box<NewEvent>),
    /// 1 to 1000 events, stored all or none.
    Batch(Vec<NewEvent>),
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
    /// Defaults to `failed`.
    #[serde(skip_serializing_if = "Option::is_none")]
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
fn accept(also_json: bool) -> Parameter {
    let text = if also_json {
        "`application/vnd.layer.webhooks+json; version=1.0|2.0` or `application/json`; anything else is 406."
    } else {
        "`application/vnd.layer.webhooks+json; version=1.0` or `version=2.0`; anything else is 406."
    };
    let mut p = param("Accept", ParameterIn::Header, text, None);
    p.required = Required::True;
    p
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
        {
            let mut p = param("Accept", ParameterIn::Header, "`text/event-stream`; anything else is 406.", None);
            p.required = Required::True;
            p
        },
        param("events", ParameterIn::Query, "Comma-separated event types to receive (all when absent); an unknown type is 422 `invalid_property` `events`.", None),
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
        param("status", ParameterIn::Query, "`pending`, `succeeded` or `failed`; all when absent.", None),
        param("limit", ParameterIn::Query, "Page size, 1 to 250 (default 50).", None),
        param("cursor", ParameterIn::Query, "The `next_cursor` of the previous page.", None),
    ]
);

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
        503 => "`service_unavailable` (100): the server is shutting down.",
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
        429 => {
            response = response.header(
                "Retry-After",
                HeaderBuilder::new()
                    .schema(Some(u64::schema()))
                    .description(Some("Seconds until the app's bucket has a token again."))
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
    AdminErrors => [401, 404, 500]
);
error_set!(
    /// Admin routes with a body.
    AdminBodyErrors => [400, 401, 404, 413, 422, 500]
);
error_set!(
    /// App routes on the app itself (list).
    AppErrors => [401, 403, 406, 429, 500]
);
error_set!(
    /// Webhook registration.
    RegisterErrors => [400, 401, 403, 406, 413, 422, 429, 500]
);
error_set!(
    /// Routes on one webhook without a body.
    WebhookErrors => [401, 403, 404, 406, 429, 500]
);
error_set!(
    /// Routes on one webhook whose (ignored) body is size-limited.
    WebhookBodyErrors => [401, 403, 404, 406, 413, 429, 500]
);
error_set!(
    /// The publish API (any `Accept`).
    PublishErrors => [400, 401, 403, 413, 422, 429, 500]
);
error_set!(
    /// Delivery-log reads and retries (422 for a bad query or a webhook that is not active).
    LogErrors => [401, 403, 404, 406, 422, 429, 500]
);
error_set!(
    /// A listener stream (429 also when the app has 10 streams open; 503 during shutdown).
    ListenErrors => [401, 403, 406, 422, 429, 500, 503]
);
error_set!(
    /// Replay (a JSON body).
    ReplayErrors => [400, 401, 403, 404, 406, 413, 422, 429, 500]
);

/// The answer of the publish API: one object, or an array for a batch.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum Published {
    One(crate::api::events::Accepted),
    Batch(Vec<crate::api::events::Accepted>),
}
