//! A real headless Chromium driven over WebDriver (Debian's `chromium` and `chromium-driver`),
//! for the dashboard's browser tests. Without them the tests print `SKIPPED`, except under
//! `CI=true`, where they fail (like PostgreSQL).

use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::process::{Child, Command};

/// Flags that make Chromium run headless here and talk to nothing but the page under test.
const FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
];

/// How long a page may take to reach an expected state.
const WAIT: Duration = Duration::from_secs(20);

/// A running chromedriver with one browser session.
pub struct Browser {
    pub client: Client,
    _driver: Child,
    _profile: tempfile::TempDir,
}

fn find(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |n| dir.join(n)))
        .find(|p| p.is_file())
}

impl Browser {
    /// Starts chromedriver and a browser session; `None` (after printing `SKIPPED`) when the
    /// browser is not installed outside CI.
    pub async fn start(test: &str) -> Option<Self> {
        let found = find(&["chromedriver"]).zip(find(&["chromium", "chromium-browser"]));
        let Some((driver, chromium)) = found else {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("chromium and chromedriver are required under CI=true (apt-get install chromium chromium-driver)");
            }
            eprintln!("SKIPPED {test}: chromium/chromedriver not installed");
            return None;
        };
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").expect("free port");
            l.local_addr().expect("port").port()
        };
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start chromedriver");
        let profile = tempfile::tempdir().expect("profile dir");
        let mut args: Vec<String> = FLAGS.iter().map(|f| (*f).to_owned()).collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({"args": args, "binary": chromium}),
        );
        caps.insert("goog:loggingPrefs".into(), json!({"browser": "ALL"}));
        let url = format!("http://127.0.0.1:{port}");
        let deadline = tokio::time::Instant::now() + WAIT;
        let client = loop {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector)
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(client) => break client,
                Err(e) if tokio::time::Instant::now() < deadline => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("no WebDriver session: {e}"),
            }
        };
        Some(Self {
            client,
            _driver: child,
            _profile: profile,
        })
    }

    /// Waits until the element `css` exists and its text contains `text`; returns the text.
    pub async fn wait_for_text(&self, css: &str, text: &str) -> String {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if let Ok(el) = self.client.find(Locator::Css(css)).await {
                if let Ok(seen) = el.text().await {
                    if seen.contains(text) {
                        return seen;
                    }
                }
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{css} never showed {text:?} on {}",
                self.client
                    .current_url()
                    .await
                    .map(|u| u.to_string())
                    .unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Clicks the element `css`.
    pub async fn click(&self, css: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css}: {e}"))
            .click()
            .await
            .unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    /// Types `text` into the field `css`.
    pub async fn type_into(&self, css: &str, text: &str) {
        let field = self
            .client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css}: {e}"));
        field.clear().await.expect("clear");
        field.send_keys(text).await.expect("type");
    }

    /// Saves a screenshot of the viewport as `dir/name.png`.
    pub async fn screenshot(&self, dir: &Path, name: &str) {
        let png = self.client.screenshot().await.expect("screenshot");
        std::fs::create_dir_all(dir).expect("screenshot dir");
        std::fs::write(dir.join(format!("{name}.png")), png).expect("write screenshot");
    }

    /// The browser console's entries at level SEVERE since the last call.
    pub async fn console_errors(&self) -> Vec<String> {
        let log = self
            .client
            .issue_cmd(BrowserLog)
            .await
            .expect("browser log");
        log.as_array()
            .into_iter()
            .flatten()
            .filter(|e| e["level"] == "SEVERE")
            .map(|e| e["message"].as_str().unwrap_or("").to_owned())
            .collect()
    }

    /// Presses Tab until focus comes back around; returns a description of every element that
    /// took focus, in order.
    pub async fn tab_order(&self, max: usize) -> Vec<String> {
        let mut seen = Vec::new();
        for _ in 0..max {
            self.client
                .active_element()
                .await
                .expect("active element")
                .send_keys("\u{E004}")
                .await
                .expect("tab");
            let here = self
                .client
                .execute(
                    "const e = document.activeElement; return e === document.body ? '' : \
                     e.tagName + '|' + (e.id || e.getAttribute('name') || e.getAttribute('href') || e.textContent.trim()) + '|' + (e.getAttribute('value') || '');",
                    vec![],
                )
                .await
                .expect("focus");
            let here = here.as_str().unwrap_or("").to_owned();
            if seen.first() == Some(&here) {
                break;
            }
            seen.push(here);
        }
        seen
    }

    /// Every control of the page a keyboard should reach, described like [`Self::tab_order`].
    pub async fn controls(&self) -> Vec<String> {
        let all: Value = self
            .client
            .execute(
                "return [...document.querySelectorAll('a[href],button,input:not([type=hidden]),select,textarea')]\
                 .map(e => e.tagName + '|' + (e.id || e.getAttribute('name') || e.getAttribute('href') || e.textContent.trim()) + '|' + (e.getAttribute('value') || ''));",
                vec![],
            )
            .await
            .expect("controls");
        serde_json::from_value(all).expect("strings")
    }
}

/// chromedriver's `POST /session/:id/se/log {"type": "browser"}`.
#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!("session/{}/se/log", session_id.unwrap_or("")))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(r#"{"type":"browser"}"#.to_owned()))
    }
}
