//! Apps and their tokens (SPEC §2), for the admin API, the dashboard and the CLI.

use super::tokens::{hash_token, new_token};
use hooklayer_core::ids::AppId;
use hooklayer_core::time::Timestamp;
use hooklayer_core::validation::PropertyError;
use hooklayer_store::{App, Store, StoreError};
use serde_json::Value;

/// Longest app name, in characters.
pub const MAX_APP_NAME: usize = 128;

/// A new app with its first token, which is shown this once and never stored in clear.
pub struct NewApp {
    pub app: App,
    pub token: String,
}

/// Validates an app name: a string of 1 to 128 characters.
pub fn parse_app_name(value: Option<&Value>) -> Result<String, PropertyError> {
    match value {
        None | Some(Value::Null) => Err(PropertyError::missing("name")),
        Some(Value::String(s))
            if (1..=MAX_APP_NAME).contains(&s.chars().count()) && !s.chars().any(char::is_control) =>
        {
            Ok(s.clone())
        }
        Some(_) => Err(PropertyError::invalid(
            "name",
            "The name property must be a string of 1 to 128 characters, without control characters.",
        )),
    }
}

/// Creates an app and its first token.
pub async fn create(store: &dyn Store, name: String) -> Result<NewApp, StoreError> {
    let app = App {
        id: AppId::new(),
        name,
        created_at: Timestamp::now(),
    };
    let token = new_token();
    store.create_app(&app, &hash_token(&token)).await?;
    Ok(NewApp { app, token })
}

/// Issues another token for an app; `None` if the app is unknown.
pub async fn create_token(store: &dyn Store, app: AppId) -> Result<Option<String>, StoreError> {
    let token = new_token();
    let added = store
        .add_token(app, &hash_token(&token), Timestamp::now())
        .await?;
    Ok(added.then_some(token))
}
