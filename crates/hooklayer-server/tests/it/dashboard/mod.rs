//! The dashboard (SPEC §13) over HTTP: a real server, a client that keeps its session cookie
//! and posts forms the way a browser does, both backends.
//!
//! - `security`: cookie flags, CSRF and `Origin` refusals, CSP, sign-in throttling, sessions
//!   that end (sign-out, deleted app) and survive restarts, `HOOKLAYER_UI=false`.
//! - `pages`: what the operator and an app's owner can do: create apps and tokens, register
//!   (errors next to the field), deactivate, delete, retry, replay with its count; and that no
//!   token appears in a page or a URL.
//! - `settings`: a webhook's changes (target, events, config, delivery settings), secret
//!   rotation with its warning and overlap window, and the change history, as `PATCH` does.

mod browser;
mod pages;
mod security;
mod settings;

use crate::support::app::{plain_http_client, TestApp};

/// A browser-like client of the dashboard: no redirect following, one session cookie.
pub struct UiClient {
    http: reqwest::Client,
    base: String,
    /// `name=value` of the session cookie, once signed in.
    pub cookie: Option<String>,
    /// The `Set-Cookie` header that started the session.
    pub set_cookie: String,
    /// The CSRF token found in the last page that had one.
    pub csrf: String,
}

/// A page as the client saw it.
pub struct Page {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Page {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
    /// Where a redirect goes.
    pub fn location(&self) -> &str {
        self.header("location")
    }
}

impl UiClient {
    pub fn new(app: &TestApp) -> Self {
        let _ = plain_http_client();
        Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            base: app.base.clone(),
            cookie: None,
            set_cookie: String::new(),
            csrf: String::new(),
        }
    }

    /// Signs in with `token`; returns the answer (303 on success).
    pub async fn sign_in(&mut self, token: &str) -> Page {
        let page = self.post_form("/ui/signin", &[("token", token)]).await;
        if let Some(set) = page.headers.get("set-cookie") {
            let set = set.to_str().expect("cookie text").to_owned();
            self.cookie = set.split(';').next().map(str::to_owned);
            self.set_cookie = set;
        }
        page
    }

    /// Signs in and loads the start page (which holds the CSRF token); panics if refused.
    pub async fn signed_in(app: &TestApp, token: &str) -> Self {
        let mut client = Self::new(app);
        let answer = client.sign_in(token).await;
        assert_eq!(answer.status, 303, "sign-in refused: {}", answer.body);
        let home = client.get("/ui/").await;
        assert_eq!(home.status, 303, "a session goes to its start page");
        let start = client.get(home.location()).await;
        assert_eq!(start.status, 200, "{}", start.body);
        client
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let mut request = self.http.get(format!("{}{path}", self.base));
        if let Some(cookie) = &self.cookie {
            request = request.header("cookie", cookie);
        }
        self.read(request).await
    }

    /// Posts a form as a same-origin browser would, with the session's CSRF token.
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let csrf = self.csrf.clone();
        let mut all: Vec<(&str, &str)> = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        self.post_form(path, &all).await
    }

    /// Posts exactly `fields`, with this site's `Origin`.
    pub async fn post_form(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let origin = self.base.clone();
        self.post_raw(path, fields, Some(&origin)).await
    }

    /// Posts `fields` with the given `Origin` header (or none).
    pub async fn post_raw(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        origin: Option<&str>,
    ) -> Page {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        let mut request = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        if let Some(cookie) = &self.cookie {
            request = request.header("cookie", cookie);
        }
        self.read(request).await
    }

    async fn read(&mut self, request: reqwest::RequestBuilder) -> Page {
        let response = request.send().await.expect("dashboard request");
        let page = Page {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            body: response.text().await.expect("body"),
        };
        if let Some(csrf) = csrf_in(&page.body) {
            self.csrf = csrf;
        }
        page
    }
}

/// The CSRF token a page embeds in its forms.
fn csrf_in(html: &str) -> Option<String> {
    let start = html.find("name=\"csrf\" value=\"")? + "name=\"csrf\" value=\"".len();
    let end = html[start..].find('"')?;
    Some(html[start..start + end].to_owned())
}
