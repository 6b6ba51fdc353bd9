//! The real `hooklayer` binary for tests of its command line, responses and logs: one-shot
//! commands ([`finish`]) and `hooklayer serve` on a random port with its output captured
//! ([`ServeProcess`]).

use serde_json::Value;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// How long a command of the real binary may take before the test gives up on it.
const PROCESS_WAIT: Duration = Duration::from_secs(60);

/// The `hooklayer` binary, with no `HOOKLAYER_*` setting inherited from the test's environment.
pub fn hooklayer_command() -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_hooklayer"));
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("HOOKLAYER_") {
            cmd.env_remove(key);
        }
    }
    cmd.stdin(std::process::Stdio::null()).kill_on_drop(true);
    cmd
}

/// What a finished command printed, and its exit code.
pub struct Finished {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `cmd` to completion (bounded).
pub async fn finish(mut cmd: tokio::process::Command) -> Finished {
    let output = tokio::time::timeout(PROCESS_WAIT, cmd.output())
        .await
        .expect("command finished in time")
        .expect("command ran");
    Finished {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// `hooklayer serve` as a child process on 127.0.0.1:<random port>, its output captured.
pub struct ServeProcess {
    child: tokio::process::Child,
    pub base: String,
    stdout: JoinHandle<String>,
    stderr: JoinHandle<String>,
}

impl ServeProcess {
    /// Starts `cmd serve` and waits (bounded) for the `hooklayer serving` log line, which
    /// names the address it bound.
    pub async fn start(mut cmd: tokio::process::Command) -> Self {
        use tokio::io::AsyncBufReadExt;
        cmd.arg("serve").env("HOOKLAYER_LISTEN", "127.0.0.1:0");
        cmd.stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = cmd.spawn().expect("spawn hooklayer serve");
        let (found, listening) = oneshot::channel::<String>();
        let mut lines = tokio::io::BufReader::new(child.stderr.take().expect("stderr")).lines();
        let stderr = tokio::spawn(async move {
            let mut all = String::new();
            let mut found = Some(found);
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(addr) = line
                    .contains("hooklayer serving")
                    .then(|| listen_address(&line))
                    .flatten()
                {
                    if let Some(found) = found.take() {
                        let _ = found.send(addr);
                    }
                }
                all.push_str(&line);
                all.push('\n');
            }
            all
        });
        let mut out = child.stdout.take().expect("stdout");
        let stdout = tokio::spawn(async move {
            let mut all = String::new();
            let _ = tokio::io::AsyncReadExt::read_to_string(&mut out, &mut all).await;
            all
        });
        let addr = match tokio::time::timeout(PROCESS_WAIT, listening).await {
            Ok(Ok(addr)) => addr,
            _ => {
                let _ = child.start_kill();
                panic!(
                    "hooklayer serve did not start: {}",
                    stderr.await.unwrap_or_default()
                );
            }
        };
        Self {
            child,
            base: format!("http://{addr}"),
            stdout,
            stderr,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends SIGTERM, waits (bounded) for the exit, and returns (exit code, stdout, stderr).
    pub async fn stop(mut self) -> Finished {
        let pid = self.child.id().expect("running child").to_string();
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status();
        let status = match tokio::time::timeout(PROCESS_WAIT, self.child.wait()).await {
            Ok(status) => status.expect("wait for hooklayer"),
            Err(_) => {
                let _ = self.child.start_kill();
                panic!("hooklayer serve did not stop on SIGTERM");
            }
        };
        Finished {
            code: status.code(),
            stdout: self.stdout.await.unwrap_or_default(),
            stderr: self.stderr.await.unwrap_or_default(),
        }
    }
}

/// The `listen` field of the start log line, text (`listen=127.0.0.1:1234`) or JSON.
fn listen_address(line: &str) -> Option<String> {
    if let Ok(json) = serde_json::from_str::<Value>(line) {
        return json
            .get("listen")
            .or_else(|| json.get("fields").and_then(|f| f.get("listen")))
            .and_then(Value::as_str)
            .map(str::to_owned);
    }
    let rest = &line[line.find("listen=")? + "listen=".len()..];
    Some(rest.split_whitespace().next()?.trim_matches('"').to_owned())
}
