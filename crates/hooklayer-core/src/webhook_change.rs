//! A `PATCH` body (SPEC §11): any subset of `target_url`, `events`, `secret`, `config`,
//! `delivery`, each validated as at registration, in that order; `null` is a bad value since
//! nothing is required. Applying it to a webhook tells which keys actually changed.

use crate::delivery_settings::DeliveryChange;
use crate::event_type::EventType;
use crate::target_url::{TargetRules, TargetUrl};
use crate::validation::PropertyError;
use crate::webhook::{
    parse_config, parse_events, parse_secret, parse_target_url, Secret, Webhook, WebhookStatus,
};
use serde_json::{Map, Value};

/// A validated change; `None` keys are left as they are.
#[derive(Clone, Debug, Default)]
pub struct WebhookChange {
    pub target_url: Option<TargetUrl>,
    pub events: Option<Vec<EventType>>,
    pub secret: Option<Secret>,
    pub config: Option<Map<String, Value>>,
    pub delivery: Option<DeliveryChange>,
}

/// What applying a change did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applied {
    /// The keys whose value changed, in the body's key order (never their values).
    pub keys: Vec<&'static str>,
    /// The secret being replaced, when the secret changed.
    pub replaced_secret: Option<Secret>,
}

impl Applied {
    pub fn target_changed(&self) -> bool {
        self.keys.contains(&"target_url")
    }

    pub fn delivery_changed(&self) -> bool {
        self.keys.contains(&"delivery")
    }
}

impl WebhookChange {
    /// Validates a change body. Unknown keys are ignored.
    pub fn parse(body: &Map<String, Value>, rules: &TargetRules) -> Result<Self, PropertyError> {
        let present = |key: &str| -> Result<Option<&Value>, PropertyError> {
            match body.get(key) {
                None => Ok(None),
                Some(Value::Null) => Err(PropertyError::invalid(
                    key,
                    format!("The {key} property cannot be null."),
                )),
                Some(v) => Ok(Some(v)),
            }
        };
        Ok(Self {
            target_url: present("target_url")?
                .map(|v| parse_target_url(v, rules))
                .transpose()?,
            events: present("events")?.map(parse_events).transpose()?,
            secret: present("secret")?.map(parse_secret).transpose()?,
            config: present("config")?.map(parse_config).transpose()?,
            delivery: present("delivery")?
                .map(DeliveryChange::parse)
                .transpose()?,
        })
    }

    /// Applies the change to `w` and reports which keys changed. A key set to its current
    /// value is not a change (so a repeated request changes nothing the second time). A new
    /// target makes the webhook `unverified`, whatever its status: it is verified again.
    pub fn apply(self, w: &mut Webhook) -> Applied {
        let mut keys = Vec::new();
        let mut replaced_secret = None;
        if let Some(url) = self
            .target_url
            .filter(|u| u.as_str() != w.target_url.as_str())
        {
            w.target_url = url;
            w.status = WebhookStatus::Unverified;
            w.status_reason = None;
            keys.push("target_url");
        }
        if let Some(events) = self.events.filter(|e| *e != w.events) {
            w.events = events;
            keys.push("events");
        }
        if let Some(secret) = self.secret.filter(|s| *s != w.secret) {
            replaced_secret = Some(std::mem::replace(&mut w.secret, secret));
            keys.push("secret");
        }
        if let Some(config) = self.config.filter(|c| *c != w.config) {
            w.config = config;
            keys.push("config");
        }
        if let Some(delivery) = self.delivery {
            let after = delivery.apply(w.delivery);
            if after != w.delivery {
                w.delivery = after;
                keys.push("delivery");
            }
        }
        Applied {
            keys,
            replaced_secret,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validation::PropertyErrorKind::Invalid;
    use serde_json::json;

    fn parse(v: Value) -> Result<WebhookChange, PropertyError> {
        WebhookChange::parse(v.as_object().unwrap(), &TargetRules::default())
    }

    #[test]
    fn null_is_invalid_and_checks_run_in_order() {
        let err = parse(json!({"secret": null})).unwrap_err();
        assert_eq!((err.property.as_str(), err.kind), ("secret", Invalid));
        let err = parse(json!({"config": 1, "events": []})).unwrap_err();
        assert_eq!(err.property, "events");
        let err = parse(json!({"delivery": {"ordered": 1}, "config": []})).unwrap_err();
        assert_eq!(err.property, "config");
    }

    #[test]
    fn an_empty_body_is_no_change() {
        let c = parse(json!({"other": 1})).unwrap();
        assert!(c.target_url.is_none() && c.events.is_none() && c.secret.is_none());
        assert!(c.config.is_none() && c.delivery.is_none());
    }
}
