//! # hooklayer-core
//!
//! The pure domain of hooklayer: no I/O, no async runtime, no database. Everything here is
//! parsed at the boundary and exists only valid, so the store and the server never handle a raw
//! URL, event name or secret.
//!
//! ## Layout
//! - [`ids`]: typed ids (`AppId`, `WebhookId`, `EventId`, `RequestId`) and their `layer:///` URIs.
//! - [`time`]: millisecond timestamps and their RFC 3339 rendering.
//! - [`event_type`]: the catalog of the eight Layer event types.
//! - [`address`]: the SSRF address classifier (which IPs hooklayer never connects to).
//! - [`target_url`]: a webhook's target URL, parsed and checked against the address policy.
//! - [`webhook`]: webhook status, version, secret and the registration body parser.
//! - [`webhook_change`]: the `PATCH` body parser and what applying it changes.
//! - [`delivery_settings`]: per-webhook rate limit, in-flight cap and order.
//! - [`event`]: the publish body parser and the delivery payload renderer.
//! - [`signing`]: Layer HMAC-SHA1 and Standard Webhooks HMAC-SHA256 signatures.
//! - [`retry`]: the retry schedule as data and the pure next-delay function.
//! - [`validation`]: the property error every parser returns.
//! - [`raw_json`]: compacting published JSON text without rewriting its numbers.
//! - [`json_depth`]: a nesting-depth check run before any JSON is parsed.

pub mod address;
pub mod delivery_settings;
pub mod event;
pub mod event_type;
pub mod ids;
pub mod json_depth;
pub mod raw_json;
pub mod retry;
pub mod signing;
pub mod target_url;
pub mod time;
pub mod validation;
pub mod webhook;
pub mod webhook_change;
