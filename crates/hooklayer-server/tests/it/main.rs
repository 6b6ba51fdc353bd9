//! The integration suite: one test binary, real sockets, a real HTTPS receiver, real databases.

mod admin_api;
mod api_errors;
mod cli;
mod crash;
mod dashboard;
mod delivery;
mod delivery_log;
mod faults;
mod listen;
mod listen_postgres;
mod ops;
mod outbound;
mod scale_out;
mod secrets;
mod shutdown;
mod smoke;
mod support;
mod upgrade;
mod validation;
mod verification;
mod verify_cli;
mod webhook_changes;
mod webhook_status;
mod webhooks_api;
