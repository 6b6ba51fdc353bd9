//! The PostgreSQL store (being written).
use crate::StoreResult;

/// The PostgreSQL implementation of [`crate::Store`].
pub struct PgStore;

impl PgStore {
    pub async fn open(_url: &str) -> StoreResult<std::sync::Arc<dyn crate::Store>> {
        Err(crate::StoreError::UnsupportedUrl)
    }
}
