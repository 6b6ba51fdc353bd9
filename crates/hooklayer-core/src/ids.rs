//! Typed ids. Each is a UUID newtype so an app id can never be passed where a webhook id is
//! expected; the `layer:///` rendering lives here and nowhere else.

use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Uuid);

        impl $name {
            /// A fresh id. Version 7 UUIDs sort by creation time, which keeps listings stable.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
            /// Wraps an existing UUID.
            pub fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }
            /// The UUID inside.
            pub fn uuid(&self) -> Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

uuid_id!(
    /// An app (tenant).
    AppId
);
uuid_id!(
    /// A webhook registered by an app.
    WebhookId
);
uuid_id!(
    /// An event published by an app; unique within the app (the idempotency key).
    EventId
);
uuid_id!(
    /// One delivery of one event to one webhook; the `layer-webhook-request-id`, kept across retries.
    RequestId
);

impl AppId {
    /// `layer:///apps/<uuid>`
    pub fn layer_uri(&self) -> String {
        format!("layer:///apps/{self}")
    }
}

/// `layer:///apps/<app>/webhooks/<webhook>`: the webhook's `id` field and `layer-webhook-id` header.
pub fn webhook_uri(app: AppId, webhook: WebhookId) -> String {
    format!("layer:///apps/{app}/webhooks/{webhook}")
}

/// `<public_url>/apps/<app>/webhooks/<webhook>`: the webhook's `url` field.
pub fn webhook_url(public_url: &str, app: AppId, webhook: WebhookId) -> String {
    format!(
        "{}/apps/{app}/webhooks/{webhook}",
        public_url.trim_end_matches('/')
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_ids_render_as_layer_uris() {
        let app: AppId = "082d4684-0992-11e5-a6c0-1697f925ec7b".parse().unwrap();
        let hook: WebhookId = "f5ef2b54-0991-11e5-a6c0-1697f925ec7b".parse().unwrap();
        assert_eq!(
            webhook_uri(app, hook),
            "layer:///apps/082d4684-0992-11e5-a6c0-1697f925ec7b/webhooks/f5ef2b54-0991-11e5-a6c0-1697f925ec7b"
        );
        assert_eq!(
            webhook_url("https://api.example.com/", app, hook),
            "https://api.example.com/apps/082d4684-0992-11e5-a6c0-1697f925ec7b/webhooks/f5ef2b54-0991-11e5-a6c0-1697f925ec7b"
        );
        assert_eq!(
            app.layer_uri(),
            "layer:///apps/082d4684-0992-11e5-a6c0-1697f925ec7b"
        );
    }

    #[test]
    fn new_ids_sort_by_creation() {
        let a = WebhookId::new();
        let b = WebhookId::new();
        assert!(a < b);
    }
}
