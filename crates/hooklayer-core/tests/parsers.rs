//! Property tests of the parsers at hooklayer's boundary: whatever a user sends, they never
//! panic, and what they accept survives a round trip (parsed again from its own rendering, it
//! is the same).

use hooklayer_core::event::{render_body, NewEvent};
use hooklayer_core::ids::EventId;
use hooklayer_core::raw_json;
use hooklayer_core::retry::parse_retry_after;
use hooklayer_core::target_url::{TargetRules, TargetUrl};
use hooklayer_core::time::Timestamp;
use hooklayer_core::webhook::Registration;
use proptest::prelude::*;
use serde_json::{json, Map, Value};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Any JSON value, a few levels deep.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        "[ -~é☃\u{0}\n\"\\\\/]{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec(("[a-z_]{0,6}", inner), 0..4)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// URL-ish text: schemes, user info, hosts (names and literal IPs in odd spellings), ports,
/// paths.
fn target_url_text() -> impl Strategy<Value = String> {
    let scheme = prop::sample::select(vec![
        "https://", "http://", "ftp://", "https:", "HTTPS://", "",
    ]);
    let host = prop_oneof![
        "[a-z0-9*_-]{1,10}(\\.[a-z0-9-]{0,10}){0,3}".boxed(),
        any::<u32>()
            .prop_map(|n| Ipv4Addr::from(n).to_string())
            .boxed(),
        any::<u32>().prop_map(|n| n.to_string()).boxed(),
        any::<u32>().prop_map(|n| format!("0x{n:x}")).boxed(),
        any::<u128>()
            .prop_map(|n| format!("[{}]", Ipv6Addr::from(n)))
            .boxed(),
        "[ -~]{0,12}".boxed(),
    ];
    let port =
        prop::option::of(0u32..70_000).prop_map(|p| p.map(|p| format!(":{p}")).unwrap_or_default());
    (
        scheme,
        "([a-z]{1,4}(:[a-z]{0,4})?@)?",
        host,
        port,
        "(/[ -~]{0,12}){0,2}",
    )
        .prop_map(|(s, user, h, p, path)| format!("{s}{user}{h}{p}{path}"))
}

/// A registration body: each key absent, plausible, or any JSON value.
fn registration_body() -> impl Strategy<Value = Map<String, Value>> {
    let version = prop_oneof![Just(json!("2.0")), Just(json!("1.0")), json_value()];
    let target = prop_oneof![target_url_text().prop_map(Value::String), json_value()];
    let names = vec![
        "message.sent",
        "message.read",
        "conversation.created",
        "user.created",
    ];
    let events = prop_oneof![
        prop::collection::vec(prop::sample::select(names), 0..4).prop_map(|v| json!(v)),
        json_value(),
    ];
    let secret = prop_oneof!["[ -~\u{0}é]{0,20}".prop_map(Value::String), json_value()];
    (
        prop::option::of(version),
        prop::option::of(target),
        prop::option::of(events),
        prop::option::of(secret),
        prop::option::of(json_value()),
    )
        .prop_map(|(v, t, e, s, c)| {
            let pairs = [
                ("version", v),
                ("target_url", t),
                ("events", e),
                ("secret", s),
                ("config", c),
            ];
            pairs
                .into_iter()
                .filter_map(|(key, value)| Some((key.to_owned(), value?)))
                .collect()
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn registration_never_panics_and_what_it_accepts_round_trips(body in registration_body()) {
        if let Ok(reg) = Registration::parse(&body, &TargetRules::default()) {
            let again = json!({
                "version": reg.version.as_str(),
                "target_url": reg.target_url.as_str(),
                "events": reg.events.iter().map(|e| e.as_str()).collect::<Vec<_>>(),
                "secret": reg.secret.expose(),
                "config": reg.config,
            });
            let reparsed = Registration::parse(again.as_object().unwrap(), &TargetRules::default())
                .expect("an accepted registration parses again");
            prop_assert_eq!(reparsed.target_url, reg.target_url);
            prop_assert_eq!(reparsed.events, reg.events);
            prop_assert_eq!(reparsed.secret, reg.secret);
            prop_assert_eq!(reparsed.config, reg.config);
        }
    }

    #[test]
    fn target_urls_never_panic_and_accepted_ones_parse_again(text in target_url_text()) {
        let rules = TargetRules::default();
        if let Ok(url) = TargetUrl::parse(&text, &rules) {
            prop_assert_eq!(url.as_str(), text.as_str());
            let again = TargetUrl::parse(url.url().as_str(), &rules)
                .expect("its normal form is accepted too");
            prop_assert_eq!(again.url(), url.url());
        }
    }

    #[test]
    fn a_literal_ip_is_accepted_exactly_when_the_policy_allows_it(
        n in any::<u32>(), v6 in any::<u128>(), six in any::<bool>()
    ) {
        let rules = TargetRules::default();
        let ip: IpAddr = if six { Ipv6Addr::from(v6).into() } else { Ipv4Addr::from(n).into() };
        let host = match ip {
            IpAddr::V6(v6) => format!("[{v6}]"),
            IpAddr::V4(v4) => v4.to_string(),
        };
        let accepted = TargetUrl::parse(&format!("https://{host}/hook"), &rules).is_ok();
        prop_assert_eq!(accepted, rules.addresses.check(ip).is_ok(), "{}", ip);
    }

    #[test]
    fn events_never_panic_and_render_valid_json(
        body in json_value(),
        ty in prop::sample::select(vec!["message.sent", "conversation.deleted", "x"]),
        entity in json_value(),
    ) {
        let mut event = match body {
            Value::Object(map) => map,
            other => Map::from_iter([("x".to_owned(), other)]),
        };
        event.insert("type".into(), json!(ty));
        let key = if ty.starts_with("message") { "message" } else { "conversation" };
        event.insert(key.into(), entity);
        let raw = Value::Object(event.clone()).to_string();
        let now = Timestamp::from_millis(1_700_000_000_000);
        if let Ok(parsed) = NewEvent::parse(&event, &raw, EventId::new(), now) {
            let body: Value = serde_json::from_str(&render_body(&parsed.payload_prefix, "{}"))
                .expect("the delivery body is JSON");
            prop_assert_eq!(&body[key], &event[key]);
            prop_assert_eq!(body["event"]["type"].as_str(), Some(ty));
        }
    }

    #[test]
    fn compacting_json_text_keeps_its_value(value in json_value()) {
        let pretty = serde_json::to_string_pretty(&value).unwrap();
        prop_assert_eq!(raw_json::compact(&pretty), value.to_string());
    }

    #[test]
    fn times_and_retry_after_never_panic_and_times_round_trip(
        text in "[ -~]{0,40}",
        ms in -62_000_000_000_000i64..250_000_000_000_000i64,
    ) {
        let _ = parse_retry_after(&text, 1_700_000_000_000);
        let _ = Timestamp::parse_rfc3339(&text);
        let t = Timestamp::from_millis(ms);
        let again = Timestamp::parse_rfc3339(&t.to_rfc3339()).expect("a rendered time parses");
        prop_assert_eq!(again, t);
    }
}
