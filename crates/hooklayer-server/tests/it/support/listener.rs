//! Listener streams from the outside: `hooklayer listen` as a child process with its output
//! read line by line, and a plain-HTTP sink that records what `--forward-to` posts.

use super::binary::hooklayer_command;
use axum::body::Bytes;
use axum::http::HeaderMap;
use std::time::Duration;
use tokio::io::AsyncBufReadExt;
use tokio::sync::mpsc;

/// How long a test waits for the next line or request before failing.
const WAIT: Duration = Duration::from_secs(20);

/// A running `hooklayer listen`.
pub struct ListenProcess {
    child: tokio::process::Child,
    lines: mpsc::UnboundedReceiver<String>,
    stderr: tokio::task::JoinHandle<String>,
}

impl ListenProcess {
    /// Starts `hooklayer listen --server base --app app --token token` plus `extra` flags.
    pub fn start(base: &str, app: &str, token: &str, extra: &[&str]) -> Self {
        let mut cmd = hooklayer_command();
        cmd.args(["listen", "--server", base, "--app", app, "--token", token])
            .args(extra)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = cmd.spawn().expect("spawn hooklayer listen");
        let (tx, lines) = mpsc::unbounded_channel();
        let mut out = tokio::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
        tokio::spawn(async move {
            while let Ok(Some(line)) = out.next_line().await {
                let _ = tx.send(line);
            }
        });
        let mut err = child.stderr.take().expect("stderr");
        let stderr = tokio::spawn(async move {
            let mut all = String::new();
            let _ = tokio::io::AsyncReadExt::read_to_string(&mut err, &mut all).await;
            all
        });
        Self {
            child,
            lines,
            stderr,
        }
    }

    /// The next line of output (bounded wait).
    pub async fn next_line(&mut self) -> String {
        match tokio::time::timeout(WAIT, self.lines.recv()).await {
            Ok(Some(line)) => line,
            _ => panic!("hooklayer listen printed no further line"),
        }
    }

    /// Reads the first line, which must be the secret, and returns the secret; the stream
    /// is open on the server from then on.
    pub async fn secret(&mut self) -> String {
        let line = self.next_line().await;
        line.strip_prefix("secret: ")
            .unwrap_or_else(|| panic!("first line is not the secret: {line}"))
            .to_owned()
    }

    /// Waits (bounded) for the command to end after the server closed its stream (exit 1).
    pub async fn assert_closed_by_server(self) {
        let (code, stderr) = self.exit().await;
        assert_eq!(code, Some(1), "{stderr}");
        assert!(stderr.contains("the server closed the stream"), "{stderr}");
    }

    /// Waits (bounded) for the command to end; returns its exit code and stderr.
    pub async fn exit(mut self) -> (Option<i32>, String) {
        let status = tokio::time::timeout(WAIT, self.child.wait())
            .await
            .expect("hooklayer listen ended in time")
            .expect("wait");
        (status.code(), self.stderr.await.unwrap_or_default())
    }
}

/// One request the sink received.
pub struct Forwarded {
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// A plain-HTTP server on 127.0.0.1 that records every POST and answers 200.
pub struct ForwardSink {
    pub url: String,
    received: mpsc::UnboundedReceiver<Forwarded>,
}

impl ForwardSink {
    pub async fn start() -> Self {
        let (tx, received) = mpsc::unbounded_channel();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: Bytes| {
                let tx = tx.clone();
                async move {
                    let _ = tx.send(Forwarded { headers, body });
                    "ok"
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind sink");
        let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, received }
    }

    /// The next forwarded request (bounded wait).
    pub async fn next(&mut self) -> Forwarded {
        match tokio::time::timeout(WAIT, self.received.recv()).await {
            Ok(Some(f)) => f,
            _ => panic!("nothing was forwarded"),
        }
    }
}
