//! The real `hooklayer` binary as a child process, for tests that crash or signal it
//! (`kill -9`, SIGTERM) and for tests of its command line and logs.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use tokio::process::{Child, Command};

/// The binary under test.
pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_hooklayer")
}

/// A free port on 127.0.0.1 (bound and released; the child binds it right after).
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind probe");
    l.local_addr().expect("probe addr").port()
}

/// A running `hooklayer serve`.
pub struct ServerProcess {
    pub child: Child,
    pub base: String,
}

impl ServerProcess {
    /// Starts `hooklayer serve` with `env` (plus a free `HOOKLAYER_LISTEN`) and waits until
    /// `/healthz` answers. Output goes to `log_file`.
    pub async fn start(env: &[(&str, String)], log_file: &Path) -> Self {
        let port = free_port();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log_file)
            .expect("log file");
        let mut cmd = Command::new(binary());
        cmd.arg("serve")
            .env("HOOKLAYER_LISTEN", format!("127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone().expect("log clone")))
            .stderr(Stdio::from(log))
            .kill_on_drop(true);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("spawn hooklayer");
        let base = format!("http://127.0.0.1:{port}");
        let http = super::app::plain_http_client();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(r) = http.get(format!("{base}/healthz")).send().await {
                if r.status() == 200 {
                    break;
                }
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "hooklayer did not become healthy"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Self { child, base }
    }

    /// `kill -9`.
    pub async fn kill9(mut self) {
        self.child.start_kill().expect("kill -9");
        let _ = self.child.wait().await;
    }

    /// Sends SIGTERM and waits for the exit status (panics after `within`).
    pub async fn sigterm(mut self, within: Duration) -> std::process::ExitStatus {
        let pid = self.child.id().expect("child pid");
        let sent = std::process::Command::new("kill")
            .arg("-TERM")
            .arg(pid.to_string())
            .status()
            .expect("kill -TERM");
        assert!(sent.success());
        tokio::time::timeout(within, self.child.wait())
            .await
            .expect("hooklayer did not exit in time after SIGTERM")
            .expect("wait")
    }
}
