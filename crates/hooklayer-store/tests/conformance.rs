//! The store conformance suite: every test is written once against `Arc<dyn Store>` and runs
//! on both backends (`<area>::sqlite::<test>`, `<area>::postgres::<test>`), so SQLite and
//! PostgreSQL keep exactly the same contract. See `support` for the per-test databases. The
//! modules live in `tests/conformance/`.

#[path = "fixtures/old_database.rs"]
mod old_database;
#[path = "conformance/support.rs"]
mod support;

#[path = "conformance/apps.rs"]
mod apps;
#[path = "conformance/attempts.rs"]
mod attempts;
#[path = "conformance/claims.rs"]
mod claims;
#[path = "conformance/concurrency.rs"]
mod concurrency;
#[path = "conformance/handoff.rs"]
mod handoff;
#[path = "conformance/ingest.rs"]
mod ingest;
#[path = "conformance/log.rs"]
mod log;
#[path = "conformance/purge.rs"]
mod purge;
#[path = "conformance/rollups.rs"]
mod rollups;
#[path = "conformance/sessions.rs"]
mod sessions;
#[path = "conformance/shaping.rs"]
mod shaping;
#[path = "conformance/stats.rs"]
mod stats;
#[path = "conformance/upgrade.rs"]
mod upgrade;
#[path = "conformance/verification.rs"]
mod verification;
#[path = "conformance/webhooks.rs"]
mod webhooks;
