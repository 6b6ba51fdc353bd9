//! Settings. Each is a flag, a `HOOKLAYER_*` environment variable, or a key of an optional
//! TOML file (`--config FILE`, keys are the env var names without the prefix, lowercased);
//! flag beats env beats file beats default. Everything is parsed and checked here, at start:
//! a bad value stops the process with one line naming the env var, and exit code 2.

use crate::settings::{parse_bool, parse_duration, parse_size, RawSettings};
use hooklayer_core::address::AddressPolicy;
use hooklayer_core::retry::RetrySchedule;
use hooklayer_store::SqliteSync;
use ipnet::IpNet;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Which parts of the service a process runs (`HOOKLAYER_ROLE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Api,
    Worker,
    All,
}

impl Role {
    pub fn runs_api(self) -> bool {
        matches!(self, Role::Api | Role::All)
    }
    pub fn runs_workers(self) -> bool {
        matches!(self, Role::Worker | Role::All)
    }
}

/// Log line format (`HOOKLAYER_LOG_FORMAT`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// A configuration error: the setting (by env var) and what is wrong with it.
#[derive(Debug, thiserror::Error)]
#[error("{setting}: {problem}")]
pub struct ConfigError {
    pub setting: &'static str,
    pub problem: String,
}

impl ConfigError {
    pub fn new(setting: &'static str, problem: impl Into<String>) -> Self {
        Self {
            setting,
            problem: problem.into(),
        }
    }
}

/// The validated configuration of one process.
#[derive(Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub database_url: String,
    /// Base of every `url` field in responses, without a trailing slash.
    pub public_url: String,
    /// Bearer token of the admin API; `None` disables it.
    pub admin_token: Option<String>,
    /// PEM of extra roots trusted for target TLS.
    pub trusted_ca_pem: Option<Vec<u8>>,
    pub allow_targets: Vec<IpNet>,
    pub allow_http_targets: bool,
    pub delivery_timeout: Duration,
    pub retry_schedule: RetrySchedule,
    pub max_payload: usize,
    pub retention: Duration,
    /// How long a replaced secret keeps signing next to the new one (SPEC §11).
    pub secret_overlap: Duration,
    pub max_in_flight_per_webhook: usize,
    pub role: Role,
    /// Requests per second per app; 0 = off.
    pub rate_limit: u32,
    pub lease: Duration,
    /// SQLite's durability per commit (`HOOKLAYER_SQLITE_SYNC`).
    pub sqlite_sync: SqliteSync,
    /// Serve the dashboard at `/ui/` (SPEC §13).
    pub ui: bool,
    pub log: String,
    pub log_format: LogFormat,
    /// How often idle workers look for due work they were not woken for (not a user setting;
    /// tests shorten it).
    pub poll_interval: Duration,
    /// How often the retention pass runs.
    pub retention_interval: Duration,
}

impl fmt::Debug for Config {
    // SECURITY: the admin token never reaches a log line, even at debug.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("database_url", &redact_url(&self.database_url))
            .field("public_url", &self.public_url)
            .field(
                "admin_token",
                &self.admin_token.as_ref().map(|_| "<redacted>"),
            )
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

/// A database URL with any password replaced.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("redacted"));
            u.to_string()
        }
        _ => url.to_owned(),
    }
}

impl Config {
    /// The address policy for outbound connections.
    pub fn address_policy(&self) -> AddressPolicy {
        AddressPolicy::new(self.allow_targets.clone())
    }

    /// Validates raw settings (already merged: flag, env, file) and fills the defaults.
    pub fn from_raw(raw: &RawSettings) -> Result<Self, ConfigError> {
        let listen_text = raw.get("listen").unwrap_or("127.0.0.1:8080");
        let listen: SocketAddr = listen_text.parse().map_err(|_| {
            ConfigError::new(
                "HOOKLAYER_LISTEN",
                format!("{listen_text:?} is not an address like 127.0.0.1:8080"),
            )
        })?;
        let public_url = match raw.get("public_url") {
            Some(u) => {
                // Every `url` field is this base plus a path, so it must be an http(s) URL
                // with neither query nor fragment.
                let parsed = url::Url::parse(u).ok().filter(|p| {
                    matches!(p.scheme(), "http" | "https")
                        && p.query().is_none()
                        && p.fragment().is_none()
                });
                if parsed.is_none() {
                    return Err(ConfigError::new(
                        "HOOKLAYER_PUBLIC_URL",
                        format!("{u:?} is not an http(s) URL without query or fragment"),
                    ));
                }
                u.trim_end_matches('/').to_owned()
            }
            None => format!("http://{listen}"),
        };
        let trusted_ca_pem = match raw.get("trusted_ca") {
            None | Some("") => None,
            Some(path) => Some(std::fs::read(PathBuf::from(path)).map_err(|e| {
                ConfigError::new("HOOKLAYER_TRUSTED_CA", format!("cannot read {path:?}: {e}"))
            })?),
        };
        let allow_targets = raw
            .get("allow_targets")
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<IpNet>()
                    .or_else(|_| s.parse::<std::net::IpAddr>().map(IpNet::from))
                    .map_err(|_| {
                        ConfigError::new(
                            "HOOKLAYER_ALLOW_TARGETS",
                            format!("{s:?} is not a CIDR like 127.0.0.0/8"),
                        )
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let schedule_text = raw.get("retry_schedule").unwrap_or("10s,30s,2m,5m,20m");
        let retry_schedule = RetrySchedule::new(
            schedule_text
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| parse_duration("HOOKLAYER_RETRY_SCHEDULE", s))
                .collect::<Result<Vec<_>, _>>()?,
        );
        let role = match raw.get("role").unwrap_or("all") {
            "api" => Role::Api,
            "worker" => Role::Worker,
            "all" => Role::All,
            other => {
                return Err(ConfigError::new(
                    "HOOKLAYER_ROLE",
                    format!("{other:?} is not one of api, worker, all"),
                ))
            }
        };
        // A filter `tracing` cannot parse would otherwise fall back to `info` in silence.
        let log = raw.get("log").unwrap_or("info").to_owned();
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(&log) {
            return Err(ConfigError::new(
                "HOOKLAYER_LOG",
                format!("{log:?} is not a log filter: {e}"),
            ));
        }
        let log_format = match raw.get("log_format").unwrap_or("text") {
            "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            other => {
                return Err(ConfigError::new(
                    "HOOKLAYER_LOG_FORMAT",
                    format!("{other:?} is not one of text, json"),
                ))
            }
        };
        let positive = |setting: &'static str, d: Duration| {
            if d.is_zero() {
                Err(ConfigError::new(setting, "must be greater than zero"))
            } else {
                Ok(d)
            }
        };
        let count = |setting: &'static str, key: &str, default: &str| -> Result<u32, ConfigError> {
            let text = raw.get(key).unwrap_or(default);
            text.parse()
                .map_err(|_| ConfigError::new(setting, format!("{text:?} is not a whole number")))
        };
        let max_in_flight = count(
            "HOOKLAYER_MAX_IN_FLIGHT_PER_WEBHOOK",
            "max_in_flight_per_webhook",
            "16",
        )?;
        if max_in_flight == 0 {
            return Err(ConfigError::new(
                "HOOKLAYER_MAX_IN_FLIGHT_PER_WEBHOOK",
                "must be at least 1",
            ));
        }
        let delivery_timeout = positive(
            "HOOKLAYER_DELIVERY_TIMEOUT",
            parse_duration(
                "HOOKLAYER_DELIVERY_TIMEOUT",
                raw.get("delivery_timeout").unwrap_or("1s"),
            )?,
        )?;
        let lease = positive(
            "HOOKLAYER_LEASE",
            parse_duration("HOOKLAYER_LEASE", raw.get("lease").unwrap_or("30s"))?,
        )?;
        // An attempt must end well inside its claim, or another worker could send the same
        // delivery while it is still in flight.
        if lease < delivery_timeout * 2 {
            return Err(ConfigError::new(
                "HOOKLAYER_LEASE",
                "must be at least twice HOOKLAYER_DELIVERY_TIMEOUT",
            ));
        }
        let sqlite_sync = match raw.get("sqlite_sync").unwrap_or("full") {
            "full" => SqliteSync::Full,
            "normal" => SqliteSync::Normal,
            other => {
                return Err(ConfigError::new(
                    "HOOKLAYER_SQLITE_SYNC",
                    format!("{other:?} is not one of full, normal"),
                ))
            }
        };
        Ok(Config {
            listen,
            database_url: raw
                .get("database_url")
                .unwrap_or("sqlite://hooklayer.db")
                .to_owned(),
            public_url,
            admin_token: raw
                .get("admin_token")
                .filter(|t| !t.is_empty())
                .map(str::to_owned),
            trusted_ca_pem,
            allow_targets,
            allow_http_targets: parse_bool(
                "HOOKLAYER_ALLOW_HTTP_TARGETS",
                raw.get("allow_http_targets").unwrap_or("false"),
            )?,
            delivery_timeout,
            retry_schedule,
            max_payload: parse_size(
                "HOOKLAYER_MAX_PAYLOAD",
                raw.get("max_payload").unwrap_or("256KiB"),
            )?,
            retention: parse_duration("HOOKLAYER_RETENTION", raw.get("retention").unwrap_or("7d"))?,
            secret_overlap: parse_duration(
                "HOOKLAYER_SECRET_OVERLAP",
                raw.get("secret_overlap").unwrap_or("24h"),
            )?,
            max_in_flight_per_webhook: max_in_flight as usize,
            role,
            rate_limit: count("HOOKLAYER_RATE_LIMIT", "rate_limit", "10000")?,
            lease,
            sqlite_sync,
            ui: parse_bool("HOOKLAYER_UI", raw.get("ui").unwrap_or("true"))?,
            log,
            log_format,
            poll_interval: Duration::from_millis(500),
            retention_interval: Duration::from_secs(60),
        })
    }
}
