//! The delivery log's wire format: the JSON shapes it answers (SPEC §7) and the parsers of
//! what it is asked (query parameters, the replay body). The CLI prints and parses the same
//! shapes through these functions, so `hooklayer deliveries list` and the API never drift.

use hooklayer_core::time::Timestamp;
use hooklayer_core::validation::PropertyError;
use hooklayer_store::{
    Attempt, Cursor, Delivery, DeliveryPage, DeliveryQuery, DeliveryStatus, ReplayScope,
};
use serde::Serialize;
use serde_json::{Map, Value};

/// Page size when `limit` is absent.
pub const DEFAULT_LIMIT: u32 = 50;
/// Largest page.
pub const MAX_LIMIT: u32 = 250;

/// One delivery with its attempts, keys in SPEC §7's order.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Delivery)]
pub struct DeliveryOut<'a> {
    request_id: String,
    event_id: String,
    #[schema(value_type = crate::ops::openapi::EventTypeName)]
    event_type: &'static str,
    #[schema(value_type = crate::ops::openapi::DeliveryStatusName)]
    status: &'static str,
    created_at: String,
    /// `null` once the delivery is finished (the store already hides stale values).
    next_attempt_at: Option<String>,
    attempts: Vec<AttemptOut<'a>>,
}

/// One attempt. `response_body` is a hooklayer addition: at most 1 KiB of what the target
/// answered (lossy UTF-8), `null` when it answered nothing or never answered.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Attempt)]
pub struct AttemptOut<'a> {
    at: String,
    duration_ms: u32,
    status_code: Option<u16>,
    error: Option<&'a str>,
    response_body: Option<&'a str>,
}

impl<'a> From<&'a Attempt> for AttemptOut<'a> {
    fn from(a: &'a Attempt) -> Self {
        Self {
            at: a.at.to_rfc3339(),
            duration_ms: a.duration_ms,
            status_code: a.status_code,
            error: a.error.as_deref(),
            response_body: a.response_body.as_deref(),
        }
    }
}

impl<'a> From<&'a Delivery> for DeliveryOut<'a> {
    fn from(d: &'a Delivery) -> Self {
        Self {
            request_id: d.request_id.to_string(),
            event_id: d.event_id.to_string(),
            event_type: d.event_type.as_str(),
            status: d.status.as_str(),
            created_at: d.created_at.to_rfc3339(),
            next_attempt_at: d.next_attempt_at.map(|t| t.to_rfc3339()),
            attempts: d.attempts.iter().map(AttemptOut::from).collect(),
        }
    }
}

/// A page of the log: `{"data": [...], "next_cursor": "…"|null}`.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = DeliveryPage)]
pub struct PageOut<'a> {
    data: Vec<DeliveryOut<'a>>,
    next_cursor: Option<String>,
}

impl<'a> From<&'a DeliveryPage> for PageOut<'a> {
    fn from(p: &'a DeliveryPage) -> Self {
        Self {
            data: p.items.iter().map(DeliveryOut::from).collect(),
            next_cursor: p.next.map(|c| c.encode()),
        }
    }
}

/// The answer to a replay.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Replayed)]
pub struct ReplayOut {
    pub queued: u64,
}

/// `status`: `pending`, `succeeded` or `failed`.
pub fn parse_status(s: &str) -> Result<DeliveryStatus, PropertyError> {
    s.parse().map_err(|()| {
        PropertyError::invalid(
            "status",
            "The status parameter must be pending, succeeded or failed.",
        )
    })
}

/// `limit`: a whole number from 1 to 250.
pub fn parse_limit(s: &str) -> Result<u32, PropertyError> {
    s.parse::<u32>()
        .ok()
        .filter(|n| (1..=MAX_LIMIT).contains(n))
        .ok_or_else(|| {
            PropertyError::invalid(
                "limit",
                "The limit parameter must be a whole number from 1 to 250.",
            )
        })
}

/// `cursor`: a `next_cursor` this API returned.
pub fn parse_cursor(s: &str) -> Result<Cursor, PropertyError> {
    Cursor::decode(s).ok_or_else(|| {
        PropertyError::invalid(
            "cursor",
            "The cursor parameter must be a next_cursor value returned by this API.",
        )
    })
}

/// The list route's query string (`status`, `limit`, `cursor`; others are ignored). A
/// parameter given twice takes its first value; a present but empty one is invalid.
pub fn parse_list_query(raw: Option<&str>) -> Result<DeliveryQuery, PropertyError> {
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(raw.unwrap_or("").as_bytes())
        .into_owned()
        .collect();
    let first = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    Ok(DeliveryQuery {
        status: first("status").map(parse_status).transpose()?,
        limit: first("limit")
            .map(parse_limit)
            .transpose()?
            .unwrap_or(DEFAULT_LIMIT),
        after: first("cursor").map(parse_cursor).transpose()?,
    })
}

fn bad_scope() -> PropertyError {
    PropertyError::invalid(
        "status",
        "The status property must be failed, succeeded or all.",
    )
}

fn bad_since() -> PropertyError {
    PropertyError::invalid(
        "since",
        "The since property must be an RFC 3339 time, e.g. 2026-11-30T07:00:00Z.",
    )
}

/// `status` of a replay: `failed` (the default), `succeeded` or `all`.
pub fn parse_scope(s: &str) -> Result<ReplayScope, PropertyError> {
    match s {
        "failed" => Ok(ReplayScope::Failed),
        "succeeded" => Ok(ReplayScope::Succeeded),
        "all" => Ok(ReplayScope::All),
        _ => Err(bad_scope()),
    }
}

/// `since`: an RFC 3339 time (any offset).
pub fn parse_since(s: &str) -> Result<Timestamp, PropertyError> {
    Timestamp::parse_rfc3339(s).ok_or_else(bad_since)
}

/// A replay request: `since` (required), `status` (`failed` when absent or `null`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReplayRequest {
    pub since: Timestamp,
    pub scope: ReplayScope,
}

impl ReplayRequest {
    /// Checks `since`, then `status`; the first failure answers. Unknown keys are ignored.
    pub fn parse(body: &Map<String, Value>) -> Result<Self, PropertyError> {
        let since = match body.get("since") {
            None | Some(Value::Null) => return Err(PropertyError::missing("since")),
            Some(Value::String(s)) => parse_since(s)?,
            Some(_) => return Err(bad_since()),
        };
        let scope = match body.get("status") {
            None | Some(Value::Null) => ReplayScope::Failed,
            Some(Value::String(s)) => parse_scope(s)?,
            Some(_) => return Err(bad_scope()),
        };
        Ok(Self { since, scope })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hooklayer_core::validation::PropertyErrorKind;
    use serde_json::json;

    fn bad_property(r: Result<DeliveryQuery, PropertyError>) -> String {
        r.expect_err("should be refused").property
    }

    #[test]
    fn an_empty_query_is_the_first_page_of_fifty() {
        let q = parse_list_query(None).expect("valid");
        assert_eq!((q.status, q.limit, q.after), (None, 50, None));
        let q = parse_list_query(Some("status=failed&limit=250&other=x")).expect("valid");
        assert_eq!((q.status, q.limit), (Some(DeliveryStatus::Failed), 250));
    }

    #[test]
    fn bad_parameters_name_themselves() {
        assert_eq!(
            bad_property(parse_list_query(Some("status=done"))),
            "status"
        );
        assert_eq!(bad_property(parse_list_query(Some("status="))), "status");
        for limit in ["0", "251", "-1", "ten", ""] {
            let q = format!("limit={limit}");
            assert_eq!(bad_property(parse_list_query(Some(&q))), "limit", "{limit}");
        }
        for cursor in [
            "abc",
            "",
            "12_not-a-uuid",
            "x_0190b5b0-7a5e-7cc4-a3a5-2a5f3f0b1c9e",
        ] {
            let q = format!("cursor={cursor}");
            assert_eq!(
                bad_property(parse_list_query(Some(&q))),
                "cursor",
                "{cursor}"
            );
        }
    }

    #[test]
    fn a_returned_cursor_parses_back() {
        let c = Cursor {
            created_at: Timestamp::from_millis(1_700_000_000_123),
            request_id: hooklayer_core::ids::RequestId::new(),
        };
        let q = parse_list_query(Some(&format!("cursor={}", c.encode()))).expect("valid");
        assert_eq!(q.after, Some(c));
    }

    #[test]
    fn replay_needs_since_and_defaults_to_failed() {
        let body = |v: Value| v.as_object().cloned().expect("object");
        let r = ReplayRequest::parse(&body(json!({"since": "2026-01-01T00:00:00+01:00"})));
        assert_eq!(
            r.expect("valid"),
            ReplayRequest {
                since: Timestamp::parse_rfc3339("2025-12-31T23:00:00Z").expect("time"),
                scope: ReplayScope::Failed
            }
        );
        let missing = ReplayRequest::parse(&body(json!({"status": "all"}))).unwrap_err();
        assert_eq!(
            (missing.kind, missing.property.as_str()),
            (PropertyErrorKind::Missing, "since")
        );
        for since in [json!("yesterday"), json!(12), json!("2026-01-01")] {
            let e = ReplayRequest::parse(&body(json!({ "since": since }))).unwrap_err();
            assert_eq!(
                (e.kind, e.property.as_str()),
                (PropertyErrorKind::Invalid, "since")
            );
        }
        let e = ReplayRequest::parse(&body(
            json!({"since": "2026-01-01T00:00:00Z", "status": "pending"}),
        ))
        .unwrap_err();
        assert_eq!(e.property, "status");
        let all = ReplayRequest::parse(&body(
            json!({"since": "2026-01-01T00:00:00Z", "status": "all"}),
        ));
        assert_eq!(all.expect("valid").scope, ReplayScope::All);
    }
}
