//! The dashboard's assets, compiled into the binary: a stylesheet, a small script (live
//! refresh of the parts of a page marked `data-refresh`) and an icon. `no-cache`: the browser
//! revalidates, so a new release's assets are picked up at once.

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};

const CSS: &str = include_str!("assets/app.css");
const JS: &str = include_str!("assets/app.js");
const ICON: &str = include_str!("assets/favicon.svg");
/// Where pages link the stylesheet.
pub const CSS_PATH: &str = "/ui/assets/app.css";
/// Where pages load the script.
pub const JS_PATH: &str = "/ui/assets/app.js";
/// The icon (served, so the browser does not ask for `/favicon.ico` and log a 404).
pub const ICON_PATH: &str = "/ui/assets/favicon.svg";

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        body,
    )
        .into_response()
}

pub async fn css() -> Response {
    asset("text/css; charset=utf-8", CSS)
}

pub async fn js() -> Response {
    asset("text/javascript; charset=utf-8", JS)
}

pub async fn icon() -> Response {
    asset("image/svg+xml", ICON)
}
