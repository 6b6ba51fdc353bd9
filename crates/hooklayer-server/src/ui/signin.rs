//! Signing in and out. The token travels once, in the body of a POST; it is never put in a
//! page, a URL, a log line or the cookie.

use super::error::UiError;
use super::form::Form;
use super::layout::bare_page;
use super::session::{self, check_origin, Write};
use crate::state::AppState;
use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::{header, Extensions, HeaderMap};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

/// `/ui/`: the signed-in session's start page, or the sign-in form.
pub async fn home(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Response, UiError> {
    Ok(match session::current(&state, &headers).await? {
        Some(s) => match s.app {
            Some(app) => Redirect::to(&format!("/ui/apps/{app}")).into_response(),
            None => Redirect::to("/ui/apps").into_response(),
        },
        None => sign_in_page(None),
    })
}

fn sign_in_page(error: Option<&str>) -> Response {
    bare_page(
        "Sign in",
        html! {
            h1 { "Sign in" }
            div.card {
                form.stack method="post" action="/ui/signin" {
                    label for="token" {
                        "API token"
                        span.muted { " — an app's token opens that app; the admin token opens every app." }
                    }
                    input #token type="password" name="token" autocomplete="off" required
                        autofocus aria-describedby=[error.map(|_| "token-error")];
                    @if let Some(error) = error {
                        p #token-error .error role="alert" { (error) }
                    }
                    div { button type="submit" { "Sign in" } }
                }
            }
            p.muted { "Create an app and its token with " code { "hooklayer apps create --name NAME" } "." }
        },
    )
}

/// The client address, for throttling (the peer of the TCP connection).
fn client_ip(extensions: &Extensions) -> IpAddr {
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
}

/// `POST /ui/signin` with `token`.
pub async fn sign_in(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    extensions: Extensions,
    body: Body,
) -> Result<Response, UiError> {
    // There is no session yet, so no CSRF token: the Origin check and SameSite=Strict stop a
    // foreign site from signing a visitor in to an account of its choosing.
    check_origin(&state, &headers)?;
    let ip = client_ip(&extensions);
    state
        .sign_in_throttle
        .check(ip)
        .map_err(UiError::Throttled)?;
    let form = Form::read(body, state.config.max_payload).await?;
    let Some(who) = session::who_is(&state, form.get("token").unwrap_or("")).await? else {
        state.sign_in_throttle.failed(ip);
        tracing::warn!(client.ip = %ip, "dashboard sign-in with an unknown token");
        return Ok(sign_in_page(Some(
            "That token is not valid. Check it and try again.",
        )));
    };
    let cookie = session::start(&state, who).await?;
    tracing::info!(app.id = ?who, "dashboard sign-in");
    Ok(([(header::SET_COOKIE, cookie)], Redirect::to("/ui/")).into_response())
}

/// `POST /ui/signout`: ends the session, server side.
pub async fn sign_out(
    State(state): State<Arc<AppState>>,
    Write { session, .. }: Write,
) -> Result<Response, UiError> {
    let cookie = session::end(&state, &session).await?;
    Ok(([(header::SET_COOKIE, cookie)], Redirect::to("/ui/")).into_response())
}
