//! The application layer: what hooklayer does for a caller, whatever the surface. The JSON
//! API, the dashboard and the CLI all call these functions, so a rule (validation, limits,
//! waking the workers, stopping deliveries) lives in one place.
//!
//! The layer depends on the state, the store and the domain only, never on a surface: its
//! errors are [`ServiceError`], which each surface renders in its own way (a Layer error body
//! for the API, a message next to the field for the dashboard).

pub mod apps;
pub mod changes;
pub mod deliveries;
pub mod error;
pub mod tokens;
pub mod webhooks;

pub use error::ServiceError;
