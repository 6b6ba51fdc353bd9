//! # hooklayer-server
//!
//! The hooklayer service: the Layer-compatible webhooks API, the event ingest API, the
//! delivery and verification workers, and the CLI around them.
//!
//! ## Layout
//! - [`cli`]: the command line; [`settings`] and [`config`]: flags, env vars, TOML file.
//! - [`app`]: `App::build(config)` and `App::run(listener, shutdown)`.
//! - [`state`]: what handlers and workers share.
//! - [`routes`]: the routes of a process, assembled from the surfaces below.
//! - [`api`]: admin, webhooks and events routes, errors, auth; [`deliveries`]: the delivery
//!   log; [`ops`]: health, readiness, metrics, OpenAPI.
//! - [`ui`]: the dashboard at `/ui/`.
//! - [`service`]: the application layer the surfaces call (register, activate, retry, …).
//! - [`worker`]: delivery (claim → send → record), verification, retention.
//! - [`outbound`]: the one HTTP client that talks to targets (SSRF guard, TLS, timeouts).
//! - [`ingest`]: group commit of publish requests.
//! - [`listen`]: listener streams (`GET /apps/:app/listen`, `hooklayer listen`);
//!   [`verify_cli`]: `hooklayer verify`.
//! - [`metrics`], [`rate_limit`], [`telemetry`].

pub mod api;
pub mod app;
pub mod cli;
pub mod config;
pub mod deliveries;
pub mod ingest;
pub mod listen;
pub mod metrics;
pub mod ops;
pub mod outbound;
pub mod rate_limit;
pub mod routes;
pub mod service;
pub mod settings;
pub mod state;
pub mod telemetry;
pub mod ui;
pub mod verify_cli;
pub mod worker;
