//! OpenAPI descriptions of the delivery-log routes (SPEC §7), written against SPEC §7 rather
//! than generated from the handlers: these functions are never routed, they only carry the
//! `#[utoipa::path]` attributes. Response schemas mirror `crate::deliveries::wire`.

#![allow(dead_code)]

use super::schemas::{
    DeliveryListQuery, DeliveryParams, EventTypeName, LogErrors, LogParams, Replay, ReplayErrors,
};
use serde::Serialize;
use utoipa::ToSchema;

/// A delivery's state.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    Pending,
    Succeeded,
    Failed,
}

/// One attempt of a delivery.
#[derive(Serialize, ToSchema)]
pub struct Attempt {
    #[schema(format = DateTime)]
    pub at: String,
    pub duration_ms: u32,
    /// The target's status, `null` when it never answered.
    pub status_code: Option<u16>,
    /// Why the attempt failed, `null` on success.
    pub error: Option<String>,
    /// At most 1 KiB of what the target answered (lossy UTF-8), `null` when nothing.
    pub response_body: Option<String>,
}

/// One delivery of one event to one webhook, with its attempts (oldest first).
#[derive(Serialize, ToSchema)]
pub struct Delivery {
    /// The `layer-webhook-request-id`, the same on every retry.
    #[schema(format = "uuid")]
    pub request_id: String,
    #[schema(format = "uuid")]
    pub event_id: String,
    #[schema(value_type = EventTypeName)]
    pub event_type: String,
    pub status: DeliveryStatus,
    #[schema(format = DateTime)]
    pub created_at: String,
    /// `null` once the delivery succeeded or failed.
    #[schema(format = DateTime)]
    pub next_attempt_at: Option<String>,
    pub attempts: Vec<Attempt>,
}

/// A page of the log, newest first.
#[derive(Serialize, ToSchema)]
pub struct DeliveryPage {
    pub data: Vec<Delivery>,
    /// Pass as `cursor` for the next page; `null` on the last.
    pub next_cursor: Option<String>,
}

/// The answer to a replay.
#[derive(Serialize, ToSchema)]
pub struct Replayed {
    pub queued: u64,
}

/// Lists a webhook's deliveries, newest first.
#[utoipa::path(get, path = "/apps/{app_uuid}/webhooks/{webhook_uuid}/deliveries", tag = "deliveries",
    params(LogParams, DeliveryListQuery),
    responses((status = 200, description = "A page of deliveries.", body = DeliveryPage), LogErrors))]
pub async fn list_deliveries() {}

/// One delivery with its attempts.
#[utoipa::path(get, path = "/apps/{app_uuid}/webhooks/{webhook_uuid}/deliveries/{request_id}", tag = "deliveries",
    params(DeliveryParams),
    responses((status = 200, description = "The delivery.", body = Delivery), LogErrors))]
pub async fn get_delivery() {}

/// Queues a delivery again now (same request id, fresh attempt budget), whatever its status.
#[utoipa::path(post, path = "/apps/{app_uuid}/webhooks/{webhook_uuid}/deliveries/{request_id}/retry", tag = "deliveries",
    params(DeliveryParams),
    responses((status = 202, description = "Queued; the delivery, `pending`.", body = Delivery), LogErrors))]
pub async fn retry_delivery() {}

/// Queues again every delivery of the webhook created since `since` with the given status.
#[utoipa::path(post, path = "/apps/{app_uuid}/webhooks/{webhook_uuid}/replay", tag = "deliveries",
    params(LogParams), request_body = Replay,
    responses((status = 202, description = "How many deliveries were queued.", body = Replayed), ReplayErrors))]
pub async fn replay() {}
