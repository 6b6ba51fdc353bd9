//! The page shell and the small pieces every page uses. Pages link one stylesheet and one
//! script, both served by hooklayer (`/ui/assets/…`); nothing inline, nothing from elsewhere.

use super::session::Session;
use axum::response::{Html, IntoResponse, Response};
use hooklayer_core::time::Timestamp;
use maud::{html, Markup, DOCTYPE};

fn shell(title: &str, header: Markup, body: Markup) -> Response {
    Html(
        html! {
            (DOCTYPE)
            html lang="en" {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    title { (title) " · hooklayer" }
                    link rel="stylesheet" href=(super::assets::CSS_PATH);
                    link rel="icon" href=(super::assets::ICON_PATH) type="image/svg+xml";
                    script src=(super::assets::JS_PATH) defer {}
                }
                body {
                    a.skip href="#main" { "Skip to content" }
                    (header)
                    main #main { (body) }
                }
            }
        }
        .into_string(),
    )
    .into_response()
}

/// A page without navigation (sign-in, errors).
pub fn bare_page(title: &str, body: Markup) -> Response {
    shell(
        title,
        html! { header.top { span.brand { "hooklayer" } } },
        body,
    )
}

/// A page of a signed-in session: navigation and the sign-out button.
pub fn page(session: &Session, title: &str, body: Markup) -> Response {
    let header = html! {
        header.top {
            a.brand href="/ui/" { "hooklayer" }
            nav aria-label="Main" {
                @if session.is_admin() {
                    a href="/ui/apps" { "Apps" }
                    a href="/ui/system" { "System" }
                } @else if let Some(app) = session.app {
                    a href=(format!("/ui/apps/{app}")) { "Webhooks" }
                }
            }
            form.signout method="post" action="/ui/signout" {
                (csrf_field(session))
                button type="submit" { "Sign out" }
            }
        }
    };
    shell(title, header, body)
}

/// The hidden CSRF field every form of a session carries.
pub fn csrf_field(session: &Session) -> Markup {
    html! { input type="hidden" name="csrf" value=(session.csrf); }
}

/// A timestamp as people read it (UTC, to the second), with the exact value for machines.
pub fn time(at: Timestamp) -> Markup {
    let exact = at.to_rfc3339();
    let shown = exact.get(..19).unwrap_or(&exact).replace('T', " ");
    html! { time datetime=(exact) { (shown) " UTC" } }
}

/// A status as a coloured label (colour is never the only cue: the word is always there).
pub fn badge(status: &str) -> Markup {
    html! { span class=(format!("badge badge-{status}")) { (status) } }
}
