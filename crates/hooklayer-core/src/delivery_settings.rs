//! Per-webhook delivery settings (SPEC §12): rate limit, in-flight cap, ordered delivery, and
//! the parser of the `delivery` object shared by registration and `PATCH`.

use crate::validation::PropertyError;
use serde_json::Value;

/// Range of `rate_limit` (attempts started per second).
pub const RATE_LIMIT: std::ops::RangeInclusive<u64> = 1..=100_000;
/// Range of `max_in_flight` (concurrent attempts).
pub const MAX_IN_FLIGHT: std::ops::RangeInclusive<u64> = 1..=256;

/// A webhook's delivery settings; `Default` is no limit, the process default cap, unordered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeliverySettings {
    /// Most attempts started per second, across every process.
    pub rate_limit: Option<u32>,
    /// Most concurrent attempts, across every process; `None` is the per-process default
    /// (`HOOKLAYER_MAX_IN_FLIGHT_PER_WEBHOOK`).
    pub max_in_flight: Option<u32>,
    /// First-in, first-out, one attempt at a time.
    pub ordered: bool,
}

impl DeliverySettings {
    /// Whether any setting needs the shaped claim (anything but the defaults).
    pub fn is_shaped(&self) -> bool {
        self.rate_limit.is_some() || self.max_in_flight.is_some() || self.ordered
    }

    /// Validates a registration's `delivery` object: absent keys take their defaults.
    pub fn parse(value: &Value) -> Result<Self, PropertyError> {
        Ok(DeliveryChange::parse(value)?.apply(Self::default()))
    }
}

/// The keys a `delivery` object sets; absent keys keep their current value (merge semantics,
/// as `PATCH` does for the webhook's own keys).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeliveryChange {
    /// `Some(None)`: `"rate_limit": null`, no limit.
    pub rate_limit: Option<Option<u32>>,
    pub max_in_flight: Option<u32>,
    pub ordered: Option<bool>,
}

impl DeliveryChange {
    /// Validates a `delivery` object; each key in the table's order, then unknown keys.
    pub fn parse(value: &Value) -> Result<Self, PropertyError> {
        let Value::Object(map) = value else {
            return Err(PropertyError::invalid(
                "delivery",
                "The delivery property must be a JSON object.",
            ));
        };
        let rate_limit = match map.get("rate_limit") {
            None => None,
            Some(Value::Null) => Some(None),
            Some(v) => Some(Some(ranged(v, "rate_limit", RATE_LIMIT)?)),
        };
        let max_in_flight = match map.get("max_in_flight") {
            None => None,
            Some(v) => Some(ranged(v, "max_in_flight", MAX_IN_FLIGHT)?),
        };
        let ordered = match map.get("ordered") {
            None => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(_) => {
                return Err(PropertyError::invalid(
                    "delivery.ordered",
                    "The delivery.ordered property must be true or false.",
                ))
            }
        };
        if let Some(unknown) = map
            .keys()
            .find(|k| !matches!(k.as_str(), "rate_limit" | "max_in_flight" | "ordered"))
        {
            let shown: String = unknown.chars().take(64).collect();
            return Err(PropertyError::invalid(
                &format!("delivery.{shown}"),
                format!("The delivery property has no key {shown:?}."),
            ));
        }
        Ok(Self {
            rate_limit,
            max_in_flight,
            ordered,
        })
    }

    /// `current` with this change applied.
    pub fn apply(self, current: DeliverySettings) -> DeliverySettings {
        DeliverySettings {
            rate_limit: self.rate_limit.unwrap_or(current.rate_limit),
            max_in_flight: self.max_in_flight.or(current.max_in_flight),
            ordered: self.ordered.unwrap_or(current.ordered),
        }
    }
}

/// An integer in `range` at `delivery.<key>`.
fn ranged(
    value: &Value,
    key: &str,
    range: std::ops::RangeInclusive<u64>,
) -> Result<u32, PropertyError> {
    // A whole number written with a fraction or an exponent (`5.0`, `1e2`) is an integer,
    // as JSON Schema counts them.
    let whole =
        |f: f64| (f.fract() == 0.0 && f >= 0.0 && f <= f64::from(u32::MAX)).then_some(f as u64);
    value
        .as_u64()
        .or_else(|| value.as_f64().and_then(whole))
        .filter(|n| range.contains(n))
        .and_then(|n| u32::try_from(n).ok())
        .ok_or_else(|| {
            PropertyError::invalid(
                &format!("delivery.{key}"),
                format!(
                    "The delivery.{key} property must be an integer from {} to {}.",
                    range.start(),
                    range.end()
                ),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn absent_keys_keep_their_value_and_null_lifts_the_rate_limit() {
        let current = DeliverySettings {
            rate_limit: Some(5),
            max_in_flight: Some(2),
            ordered: true,
        };
        let change = DeliveryChange::parse(&json!({"rate_limit": null})).unwrap();
        let after = change.apply(current);
        assert_eq!(after.rate_limit, None);
        assert_eq!((after.max_in_flight, after.ordered), (Some(2), true));
        assert_eq!(
            DeliverySettings::parse(&json!({})).unwrap(),
            DeliverySettings::default()
        );
        let whole =
            DeliverySettings::parse(&json!({"rate_limit": 5.0, "max_in_flight": 1e2})).unwrap();
        assert_eq!(
            (whole.rate_limit, whole.max_in_flight),
            (Some(5), Some(100))
        );
    }

    #[test]
    fn each_bad_value_names_its_path() {
        let cases = [
            (json!([]), "delivery"),
            (json!({"rate_limit": 0}), "delivery.rate_limit"),
            (json!({"rate_limit": 100_001}), "delivery.rate_limit"),
            (json!({"rate_limit": 1.5}), "delivery.rate_limit"),
            (json!({"max_in_flight": 257}), "delivery.max_in_flight"),
            (json!({"max_in_flight": null}), "delivery.max_in_flight"),
            (json!({"ordered": "yes"}), "delivery.ordered"),
            (json!({"burst": 3}), "delivery.burst"),
        ];
        for (value, path) in cases {
            let err = DeliveryChange::parse(&value).unwrap_err();
            assert_eq!(err.property, path, "{value}");
        }
    }
}
