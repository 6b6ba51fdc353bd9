//! `/openapi.json`: an OpenAPI 3.1 document listing every route of the SPEC, with its
//! parameters, its errors, and references that resolve.

use super::get;
use crate::support::app::TestAppBuilder;
use crate::support::db::TestDb;
use serde_json::Value;
use std::collections::BTreeSet;

/// Every (method, path) of SPEC §2, §3, §5, §7, §9, §11 and §14, path parameters in the
/// SPEC's names (the change history is the route chosen for §11's history).
const SPEC_ROUTES: [(&str, &str); 22] = [
    ("post", "/admin/apps"),
    ("get", "/admin/apps"),
    ("post", "/admin/apps/{app_uuid}/tokens"),
    ("delete", "/admin/apps/{app_uuid}"),
    ("post", "/apps/{app_uuid}/webhooks"),
    ("get", "/apps/{app_uuid}/webhooks"),
    ("get", "/apps/{app_uuid}/webhooks/{webhook_uuid}"),
    ("post", "/apps/{app_uuid}/webhooks/{webhook_uuid}/activate"),
    (
        "post",
        "/apps/{app_uuid}/webhooks/{webhook_uuid}/deactivate",
    ),
    ("delete", "/apps/{app_uuid}/webhooks/{webhook_uuid}"),
    ("patch", "/apps/{app_uuid}/webhooks/{webhook_uuid}"),
    ("get", "/apps/{app_uuid}/webhooks/{webhook_uuid}/changes"),
    ("post", "/apps/{app_uuid}/events"),
    ("get", "/apps/{app_uuid}/listen"),
    ("get", "/apps/{app_uuid}/webhooks/{webhook_uuid}/deliveries"),
    (
        "get",
        "/apps/{app_uuid}/webhooks/{webhook_uuid}/deliveries/{request_id}",
    ),
    (
        "post",
        "/apps/{app_uuid}/webhooks/{webhook_uuid}/deliveries/{request_id}/retry",
    ),
    ("post", "/apps/{app_uuid}/webhooks/{webhook_uuid}/replay"),
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),
    ("get", "/openapi.json"),
];

/// Every `$ref` string anywhere in `value`.
fn refs<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                out.push(r);
            }
            map.values().for_each(|v| refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_is_3_1_and_lists_every_route_with_its_errors() {
    let db = TestDb::sqlite();
    let app = TestAppBuilder::new().start(&db).await;
    let (status, text) = get(&app, "/openapi.json").await;
    assert_eq!(status, 200);
    let doc: Value = serde_json::from_str(&text).expect("the document is JSON");

    assert!(
        doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1")),
        "{}",
        doc["openapi"]
    );
    assert_eq!(doc["servers"][0]["url"], app.base);
    let paths = doc["paths"].as_object().expect("paths");
    let listed: BTreeSet<(String, String)> = paths
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .into_iter()
                .flat_map(|ops| ops.keys())
                .map(move |m| (m.clone(), path.clone()))
        })
        .collect();
    let wanted: BTreeSet<(String, String)> = SPEC_ROUTES
        .iter()
        .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    assert_eq!(
        listed, wanted,
        "the document lists exactly the SPEC's routes"
    );

    for (method, path) in &wanted {
        let op = &paths[path][method];
        let responses = op["responses"].as_object().expect("responses");
        assert!(
            responses.keys().any(|k| k.starts_with('2')),
            "{method} {path}: no success response"
        );
        // Path parameters are declared.
        for name in path
            .split('/')
            .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
        {
            let declared = op["parameters"]
                .as_array()
                .is_some_and(|ps| ps.iter().any(|p| p["name"] == name && p["in"] == "path"));
            assert!(declared, "{method} {path}: {name} is not declared");
        }
        // App and admin routes list their errors, with the Layer error body.
        if path.starts_with("/apps") || path.starts_with("/admin") {
            assert!(
                responses.contains_key("401") && responses.contains_key("500"),
                "{method} {path}"
            );
            assert_eq!(
                responses["401"]["content"]["application/json"]["schema"]["$ref"],
                "#/components/schemas/LayerError"
            );
        }
        if path.starts_with("/apps") {
            assert!(
                responses["429"]["headers"]["Retry-After"].is_object(),
                "{method} {path}: 429 with Retry-After"
            );
        }
    }
    // Every reference resolves.
    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(!all.is_empty());
    for r in all {
        let name = r
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("unexpected $ref {r}"));
        assert!(
            doc["components"]["schemas"][name].is_object(),
            "$ref {r} does not resolve"
        );
    }
    app.stop().await;
}
