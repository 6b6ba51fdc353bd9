//! # hooklayer-server
//!
//! The hooklayer service: the Layer-compatible webhooks API, the event ingest API, the
//! delivery and verification workers, and the CLI around them.
//!
//! ## Layout
//! - [`config`]: settings from flags, `HOOKLAYER_*` env vars and an optional TOML file.
//! - [`outbound`]: the one HTTP client that talks to targets (SSRF guard, TLS, timeouts).
//! - [`app`]: `App::build(config)` and `App::run(listener, shutdown)`.

pub mod outbound;
