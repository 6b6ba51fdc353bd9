//! What can go wrong in the application layer, split into the caller's fault (every variant
//! but `Store`) and ours (`Store`).

use hooklayer_core::validation::PropertyError;
use hooklayer_store::StoreError;

/// The error of every application function.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The named thing (`"webhook"`, `"delivery"`, `"app"`) does not exist for this caller.
    #[error("unknown {0}")]
    NotFound(&'static str),
    /// The request is well formed but not allowed in the current state; a sentence for people.
    #[error("{0}")]
    InvalidOperation(String),
    /// A property of the request is missing or wrong.
    #[error(transparent)]
    Property(#[from] PropertyError),
    /// Our fault: the database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}
