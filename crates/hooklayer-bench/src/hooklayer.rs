//! The `hooklayer` subprocess: finding (or building) the binary, starting `serve` with the bench's
//! settings, waiting for `/healthz`, creating an app with the CLI, sampling memory, stopping.
//!
//! The child is spawned with `kill_on_drop`, so every error path that drops a [`Hooklayer`] kills
//! the process; inherited `HOOKLAYER_*` variables are removed so the user's shell cannot change
//! what is measured.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context as _, Result};
use serde::Deserialize;
use tokio::process::{Child, Command};
use tokio::task::JoinHandle;

/// How long `serve` may take to answer `/healthz` (migrations included).
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How often the resident set is sampled, as a fallback for kernels without `VmHWM`.
const RSS_SAMPLE_EVERY: Duration = Duration::from_millis(100);

/// Finds the `hooklayer` binary: the explicit path, else next to this executable (the same
/// `target/<profile>` directory), else `target/release`; builds it with
/// `cargo build --release -p hooklayer-server` when none exists.
pub fn locate(explicit: Option<&Path>) -> Result<PathBuf> {
    if let Some(path) = explicit {
        ensure!(
            path.is_file(),
            "--hooklayer-bin {}: no such file",
            path.display()
        );
        return Ok(path.to_path_buf());
    }
    let name = format!("hooklayer{}", std::env::consts::EXE_SUFFIX);
    let exe = std::env::current_exe().context("locating the bench executable")?;
    let dir = exe
        .parent()
        .context("the bench executable has no directory")?;
    let candidates = [dir.join(&name), dir.join("..").join("release").join(&name)];
    if let Some(found) = candidates.iter().find(|p| p.is_file()) {
        return Ok(found.clone());
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    eprintln!("hooklayer binary not found; running `cargo build --release -p hooklayer-server`");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = std::process::Command::new(cargo)
        .args(["build", "--release", "-p", "hooklayer-server"])
        .current_dir(&root)
        .status()
        .context("running cargo build")?;
    ensure!(
        status.success(),
        "cargo build --release -p hooklayer-server failed"
    );
    candidates
        .into_iter()
        .chain([root.join("target/release").join(&name)])
        .find(|p| p.is_file())
        .context("hooklayer was built but not found; pass --hooklayer-bin")
}

/// The first line of `hooklayer --version`, for the report (best effort).
pub async fn version(bin: &Path) -> Option<String> {
    let output = Command::new(bin).arg("--version").output().await.ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    text.lines().next().map(str::to_owned)
}

/// Settings of one `hooklayer serve`.
pub struct Launch<'a> {
    pub bin: &'a Path,
    pub database_url: &'a str,
    /// PEM file of the bench CA (`HOOKLAYER_TRUSTED_CA`).
    pub ca_file: &'a Path,
    /// Where the child's stderr goes; its tail is shown when something fails.
    pub log_file: PathBuf,
    /// `HOOKLAYER_SQLITE_SYNC` when the run asks for one (else hooklayer's default, `full`).
    pub sqlite_sync: Option<&'a str>,
    /// `HOOKLAYER_ROLE` (`api`, `worker`); `None`: hooklayer's default, `all`.
    pub role: Option<&'a str>,
    /// `HOOKLAYER_ADMIN_TOKEN`, when the scenario signs in as the operator.
    pub admin_token: Option<&'a str>,
    /// `HOOKLAYER_RETRY_SCHEDULE`; `None`: hooklayer's default.
    pub retry_schedule: Option<&'a str>,
}

/// What `hooklayer apps create` prints (the fields the bench uses).
#[derive(Debug, Clone, Deserialize)]
pub struct AppCredentials {
    pub uuid: String,
    pub token: String,
}

/// A running `hooklayer serve`.
pub struct Hooklayer {
    child: Child,
    pid: u32,
    /// `http://127.0.0.1:<port>`.
    pub base_url: String,
    log_file: PathBuf,
    /// Highest `VmRSS` sampled, in KiB.
    rss_max_kib: Arc<AtomicU64>,
    sampler: JoinHandle<()>,
}

/// Removes inherited `HOOKLAYER_*` settings so only the bench's own apply.
fn clean_env(cmd: &mut Command) {
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("HOOKLAYER_") {
            cmd.env_remove(key);
        }
    }
}

/// A port that was free a moment ago (hooklayer binds it right after).
fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}

/// A `/proc/<pid>/status` figure in KiB (`key` like `"VmHWM:"`), on Linux.
fn proc_status_kib(pid: u32, key: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|line| {
        line.strip_prefix(key)?
            .trim()
            .strip_suffix("kB")?
            .trim()
            .parse()
            .ok()
    })
}

/// The last lines of a log file, for error messages.
pub fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let tail = lines[lines.len().saturating_sub(20)..].join("\n");
    format!("--- last lines of {} ---\n{tail}", path.display())
}

impl Hooklayer {
    /// Starts `hooklayer serve` and waits (bounded) until `/healthz` answers `200`.
    pub async fn start(launch: &Launch<'_>, http: &reqwest::Client) -> Result<Self> {
        let port = free_port()?;
        let log = File::create(&launch.log_file)
            .with_context(|| format!("creating {}", launch.log_file.display()))?;
        let mut cmd = Command::new(launch.bin);
        clean_env(&mut cmd);
        cmd.arg("serve")
            .env("HOOKLAYER_LISTEN", format!("127.0.0.1:{port}"))
            .env("HOOKLAYER_DATABASE_URL", launch.database_url)
            .env("HOOKLAYER_TRUSTED_CA", launch.ca_file)
            // The receiver is on loopback, which the SSRF guard blocks unless allowed.
            .env("HOOKLAYER_ALLOW_TARGETS", "127.0.0.0/8,::1/128")
            // Measure the service, not the per-app limiter.
            .env("HOOKLAYER_RATE_LIMIT", "0")
            // HOOKLAYER_BENCH_LOG raises hooklayer's log level for profiling runs.
            .env(
                "HOOKLAYER_LOG",
                std::env::var("HOOKLAYER_BENCH_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .kill_on_drop(true);
        if let Some(sync) = launch.sqlite_sync {
            cmd.env("HOOKLAYER_SQLITE_SYNC", sync);
        }
        if let Some(role) = launch.role {
            cmd.env("HOOKLAYER_ROLE", role);
        }
        if let Some(token) = launch.admin_token {
            cmd.env("HOOKLAYER_ADMIN_TOKEN", token);
        }
        if let Some(schedule) = launch.retry_schedule {
            cmd.env("HOOKLAYER_RETRY_SCHEDULE", schedule);
        }
        let child = cmd
            .spawn()
            .with_context(|| format!("starting {} serve", launch.bin.display()))?;
        let pid = child.id().context("hooklayer exited at once")?;
        let rss_max_kib = Arc::new(AtomicU64::new(0));
        let sampler = tokio::spawn(sample_rss(pid, Arc::clone(&rss_max_kib)));
        let mut me = Self {
            child,
            pid,
            base_url: format!("http://127.0.0.1:{port}"),
            log_file: launch.log_file.clone(),
            rss_max_kib,
            sampler,
        };
        me.wait_healthy(http).await?;
        Ok(me)
    }

    async fn wait_healthy(&mut self, http: &reqwest::Client) -> Result<()> {
        let started = Instant::now();
        let url = format!("{}/healthz", self.base_url);
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "hooklayer serve exited ({status}) before answering /healthz\n{}",
                    log_tail(&self.log_file)
                );
            }
            let ok = http
                .get(&url)
                .timeout(Duration::from_secs(1))
                .send()
                .await
                .is_ok_and(|r| r.status() == reqwest::StatusCode::OK);
            if ok {
                return Ok(());
            }
            if started.elapsed() > START_TIMEOUT {
                bail!(
                    "hooklayer serve did not answer /healthz within {START_TIMEOUT:?}\n{}",
                    self.log()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The tail of this process's stderr.
    pub fn log(&self) -> String {
        log_tail(&self.log_file)
    }

    /// Peak resident set so far, in bytes: the kernel's high-water mark (`VmHWM`) or the highest
    /// sample, whichever is larger; `None` where `/proc` is unavailable.
    pub fn peak_rss_bytes(&self) -> Option<u64> {
        let hwm = proc_status_kib(self.pid, "VmHWM:").unwrap_or(0);
        let sampled = self.rss_max_kib.load(Ordering::Relaxed);
        let kib = hwm.max(sampled);
        (kib > 0).then_some(kib * 1024)
    }

    /// CPU time (user + system) the process has used so far, in seconds.
    pub fn cpu_secs(&self) -> Option<f64> {
        crate::cpu::process_cpu_secs(self.pid)
    }

    /// Reads the peak RSS, then kills the process and reaps it (bounded).
    pub async fn stop(mut self) -> Option<u64> {
        let peak = self.peak_rss_bytes();
        self.sampler.abort();
        let _ = self.child.start_kill();
        let _ = tokio::time::timeout(Duration::from_secs(5), self.child.wait()).await;
        peak
    }
}

impl Drop for Hooklayer {
    fn drop(&mut self) {
        self.sampler.abort();
    }
}

async fn sample_rss(pid: u32, max_kib: Arc<AtomicU64>) {
    let mut every = tokio::time::interval(RSS_SAMPLE_EVERY);
    loop {
        every.tick().await;
        match proc_status_kib(pid, "VmRSS:") {
            Some(kib) => {
                max_kib.fetch_max(kib, Ordering::Relaxed);
            }
            None => return,
        }
    }
}

/// Runs `hooklayer apps create --name hooklayer-bench --database-url URL` (bounded) and parses
/// the JSON it prints.
pub async fn create_app(bin: &Path, database_url: &str) -> Result<AppCredentials> {
    let mut cmd = Command::new(bin);
    clean_env(&mut cmd);
    cmd.args(["apps", "create", "--name", "hooklayer-bench"])
        .args(["--database-url", database_url])
        .env("HOOKLAYER_LOG", "warn")
        .stdin(Stdio::null())
        .kill_on_drop(true);
    let output = tokio::time::timeout(Duration::from_secs(30), cmd.output())
        .await
        .context("`hooklayer apps create` did not finish within 30s")?
        .context("running `hooklayer apps create`")?;
    ensure!(
        output.status.success(),
        "`hooklayer apps create` failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr).trim()
    );
    serde_json::from_slice(&output.stdout).with_context(|| {
        format!(
            "parsing the output of `hooklayer apps create`: {}",
            String::from_utf8_lossy(&output.stdout).trim()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_status_of_this_process_has_a_resident_set() {
        if cfg!(target_os = "linux") {
            assert!(proc_status_kib(std::process::id(), "VmRSS:").unwrap() > 0);
        }
    }
}
