//! The request bodies the bench sends: published events, batches, and (for the raw-capacity
//! client) a body shaped and sized like the one hooklayer delivers.
//!
//! Every event carries an id we generate (so arrivals can be matched to publishes) and a
//! `message.sent_at_ns` stamp from [`crate::clock`] (so the receiver can compute latency without a
//! lookup table). The `parts[0].body` padding brings a published event to ~500 bytes.

use std::fmt::Write as _;

use bytes::Bytes;
use uuid::Uuid;

/// Bytes of padding in `message.parts[0].body`: brings a single event to ~500 bytes.
const PADDING: &str = concat!(
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ",
    "ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ",
    "ullamco laboris nisi ut aliquip ex ea commodo consequat. Duis aute irure dolor in ",
    "reprehenderit in voluptate velit esse."
);

/// The `message` object shared by published events and raw-capacity bodies.
fn write_message(out: &mut String, seq: u64, sent_ns: u64) {
    // Writing into a String cannot fail.
    let _ = write!(
        out,
        r#"{{"id":"layer:///messages/{seq}","sent_at_ns":{sent_ns},"parts":[{{"mime_type":"text/plain","body":"{PADDING}"}}]}}"#
    );
}

/// Appends one `message.sent` event (as published to `POST /apps/:uuid/events`) to `out`.
pub fn write_event(out: &mut String, id: Uuid, seq: u64, sent_ns: u64) {
    out.push_str(r#"{"type":"message.sent","actor":{"user_id":"u1"},"message":"#);
    write_message(out, seq, sent_ns);
    let _ = write!(out, r#","id":"{id}"}}"#);
}

/// One event as a request body.
pub fn single(id: Uuid, seq: u64, sent_ns: u64) -> Bytes {
    let mut out = String::with_capacity(560);
    write_event(&mut out, id, seq, sent_ns);
    Bytes::from(out)
}

/// A JSON array of events, one per id, all stamped `sent_ns`; `first_seq` numbers the messages.
pub fn batch(ids: &[Uuid], first_seq: u64, sent_ns: u64) -> Bytes {
    let mut out = String::with_capacity(ids.len() * 560 + 2);
    out.push('[');
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_event(&mut out, *id, first_seq + i as u64, sent_ns);
    }
    out.push(']');
    Bytes::from(out)
}

/// A body with the shape and size of what hooklayer delivers for [`write_event`]'s event
/// (`{"event": {...}, "message": {...}}`), for the raw-capacity client.
pub fn delivered_like(id: Uuid, seq: u64, sent_ns: u64) -> Bytes {
    let mut out = String::with_capacity(600);
    let _ = write!(
        out,
        r#"{{"event":{{"created_at":"2026-11-30T07:00:00.123Z","type":"message.sent","id":"{id}","actor":{{"user_id":"u1"}}}},"message":"#
    );
    write_message(&mut out, seq, sent_ns);
    out.push('}');
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_is_about_500_bytes_of_valid_json() {
        let body = single(Uuid::new_v4(), 12_345, 98_765_432_100);
        assert!((450..=550).contains(&body.len()), "{} bytes", body.len());
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["type"], "message.sent");
        assert_eq!(v["message"]["sent_at_ns"], 98_765_432_100_u64);
    }

    #[test]
    fn a_batch_is_a_json_array_of_events() {
        let ids = [Uuid::new_v4(), Uuid::new_v4()];
        let v: serde_json::Value = serde_json::from_slice(&batch(&ids, 0, 1)).unwrap();
        assert_eq!(v.as_array().unwrap().len(), 2);
        assert_eq!(v[1]["id"], ids[1].to_string());
    }

    #[test]
    fn the_raw_body_parses_like_a_delivery() {
        let id = Uuid::new_v4();
        let v: serde_json::Value = serde_json::from_slice(&delivered_like(id, 1, 2)).unwrap();
        assert_eq!(v["event"]["id"], id.to_string());
    }
}
