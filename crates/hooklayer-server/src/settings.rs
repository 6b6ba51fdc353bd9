//! The raw layer of configuration: the command-line/env definitions (clap) and the optional
//! TOML file, merged into one map of strings that [`crate::config::Config`] then validates.

use crate::config::ConfigError;
use clap::Args;
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

/// Every setting, as a flag with its env var. Values stay strings here so that one parser
/// (in `config`) handles flag, env and file alike.
#[derive(Args, Debug, Default, Clone)]
pub struct SettingArgs {
    /// Optional TOML file of settings; keys are the env var names without HOOKLAYER_, lowercased
    #[arg(long, global = true, env = "HOOKLAYER_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// HTTP listen address [default: 127.0.0.1:8080]
    #[arg(long, global = true, env = "HOOKLAYER_LISTEN", value_name = "ADDR")]
    pub listen: Option<String>,
    /// sqlite://PATH (embedded, created if missing) or postgres://… [default: sqlite://hooklayer.db]
    #[arg(
        long,
        global = true,
        env = "HOOKLAYER_DATABASE_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    pub database_url: Option<String>,
    /// Base of every `url` field in responses [default: http://<listen>]
    #[arg(long, global = true, env = "HOOKLAYER_PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<String>,
    /// Bearer token of the admin API; unset disables the admin HTTP API [default: unset]
    #[arg(
        long,
        global = true,
        env = "HOOKLAYER_ADMIN_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    pub admin_token: Option<String>,
    /// PEM file of extra root certificates trusted for target TLS [default: unset]
    #[arg(long, global = true, env = "HOOKLAYER_TRUSTED_CA", value_name = "FILE")]
    pub trusted_ca: Option<String>,
    /// Comma-separated CIDRs exempt from the private-address block, e.g. 127.0.0.0/8,::1/128 [default: empty]
    #[arg(
        long,
        global = true,
        env = "HOOKLAYER_ALLOW_TARGETS",
        value_name = "CIDRS"
    )]
    pub allow_targets: Option<String>,
    /// Accept http:// target URLs (development only) [default: false]
    #[arg(
        long,
        global = true,
        env = "HOOKLAYER_ALLOW_HTTP_TARGETS",
        value_name = "BOOL"
    )]
    pub allow_http_targets: Option<String>,
    /// Per-request timeout for deliveries and verification [default: 1s]
    #[arg(
        long,
        global = true,
        env = "HOOKLAYER_DELIVERY_TIMEOUT",
        value_name = "DURATION"
    )]
    pub delivery_timeout: Option<String>,
    /// Delays before retry 1..n [default: 10s,30s,2m,5m,20m]
    #[arg(
        long,
        global = true,
        env = "HOOKLAYER_RETRY_SCHEDULE",
        value_name = "DURATIONS"
    )]
    pub retry_schedule: Option<String>,
    /// Largest accepted request body [default: 256KiB]
    #[arg(
        long,
        global = true,
        env = "HOOKLAYER_MAX_PAYLOAD",
        value_name = "SIZE"
    )]
    pub max_payload: Option<String>,
    /// How long finished deliveries and their events are kept [default: 7d]
    #[arg(
        long,
        global = true,
        env = "HOOKLAYER_RETENTION",
        value_name = "DURATION"
    )]
    pub retention: Option<String>,
    /// How long a replaced webhook secret keeps signing next to the new one [default: 24h]
    #[arg(
        long,
        global = true,
        env = "HOOKLAYER_SECRET_OVERLAP",
        value_name = "DURATION"
    )]
    pub secret_overlap: Option<String>,
    /// Concurrent requests to one webhook [default: 16]
    #[arg(
        long,
        global = true,
        env = "HOOKLAYER_MAX_IN_FLIGHT_PER_WEBHOOK",
        value_name = "N"
    )]
    pub max_in_flight_per_webhook: Option<String>,
    /// api, worker or all: which parts this process runs [default: all]
    #[arg(long, global = true, env = "HOOKLAYER_ROLE", value_name = "ROLE")]
    pub role: Option<String>,
    /// Requests/s per app on the app APIs (burst 2x); 0 = off [default: 10000]
    #[arg(long, global = true, env = "HOOKLAYER_RATE_LIMIT", value_name = "N")]
    pub rate_limit: Option<String>,
    /// How long a worker's claim on a delivery lasts before others may take it [default: 30s]
    #[arg(long, global = true, env = "HOOKLAYER_LEASE", value_name = "DURATION")]
    pub lease: Option<String>,
    /// full (an accepted event survives a power loss) or normal (a crash of hooklayer only;
    /// faster) [default: full]
    #[arg(
        long,
        global = true,
        env = "HOOKLAYER_SQLITE_SYNC",
        value_name = "MODE"
    )]
    pub sqlite_sync: Option<String>,
    /// Serve the dashboard at /ui/ on api and all processes [default: true]
    #[arg(long, global = true, env = "HOOKLAYER_UI", value_name = "BOOL")]
    pub ui: Option<String>,
    /// Log filter, tracing env-filter syntax [default: info]
    #[arg(long, global = true, env = "HOOKLAYER_LOG", value_name = "FILTER")]
    pub log: Option<String>,
    /// text or json [default: text]
    #[arg(
        long,
        global = true,
        env = "HOOKLAYER_LOG_FORMAT",
        value_name = "FORMAT"
    )]
    pub log_format: Option<String>,
}

/// Keys accepted in the TOML file.
const KEYS: &[&str] = &[
    "listen",
    "database_url",
    "public_url",
    "admin_token",
    "trusted_ca",
    "allow_targets",
    "allow_http_targets",
    "delivery_timeout",
    "retry_schedule",
    "max_payload",
    "retention",
    "secret_overlap",
    "max_in_flight_per_webhook",
    "role",
    "rate_limit",
    "lease",
    "sqlite_sync",
    "ui",
    "log",
    "log_format",
];

/// Settings merged from flags/env (already merged by clap) over the file.
#[derive(Debug, Default, Clone)]
pub struct RawSettings {
    values: HashMap<&'static str, String>,
}

impl RawSettings {
    /// The value of a key, if any layer set it.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str)
    }

    /// Sets a key (tests and the flag/env layer).
    pub fn set(&mut self, key: &'static str, value: impl Into<String>) {
        self.values.insert(key, value.into());
    }

    /// Reads the file named by `--config` (if any), then lays the flag/env values over it.
    pub fn load(args: &SettingArgs) -> Result<Self, ConfigError> {
        let mut raw = match &args.config {
            Some(path) => Self::from_file(path)?,
            None => Self::default(),
        };
        let pairs: [(&'static str, &Option<String>); 20] = [
            ("listen", &args.listen),
            ("database_url", &args.database_url),
            ("public_url", &args.public_url),
            ("admin_token", &args.admin_token),
            ("trusted_ca", &args.trusted_ca),
            ("allow_targets", &args.allow_targets),
            ("allow_http_targets", &args.allow_http_targets),
            ("delivery_timeout", &args.delivery_timeout),
            ("retry_schedule", &args.retry_schedule),
            ("max_payload", &args.max_payload),
            ("retention", &args.retention),
            ("secret_overlap", &args.secret_overlap),
            ("max_in_flight_per_webhook", &args.max_in_flight_per_webhook),
            ("role", &args.role),
            ("rate_limit", &args.rate_limit),
            ("lease", &args.lease),
            ("sqlite_sync", &args.sqlite_sync),
            ("ui", &args.ui),
            ("log", &args.log),
            ("log_format", &args.log_format),
        ];
        for (key, value) in pairs {
            if let Some(v) = value {
                raw.set(key, v.clone());
            }
        }
        Ok(raw)
    }

    fn from_file(path: &std::path::Path) -> Result<Self, ConfigError> {
        let setting = "HOOKLAYER_CONFIG";
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigError::new(setting, format!("cannot read {}: {e}", path.display()))
        })?;
        let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
            ConfigError::new(
                setting,
                format!("{} is not valid TOML: {}", path.display(), e.message()),
            )
        })?;
        let mut raw = Self::default();
        for (key, value) in table {
            let Some(known) = KEYS.iter().find(|k| **k == key) else {
                return Err(ConfigError::new(
                    setting,
                    format!("unknown key {key:?} in {}", path.display()),
                ));
            };
            let text = match value {
                toml::Value::String(s) => s,
                toml::Value::Integer(i) => i.to_string(),
                toml::Value::Float(f) => f.to_string(),
                toml::Value::Boolean(b) => b.to_string(),
                toml::Value::Array(items) => items
                    .iter()
                    .map(|v| {
                        v.as_str()
                            .map(str::to_owned)
                            .unwrap_or_else(|| v.to_string())
                    })
                    .collect::<Vec<_>>()
                    .join(","),
                other => {
                    return Err(ConfigError::new(
                        setting,
                        format!("key {key:?} has an unsupported value {other}"),
                    ))
                }
            };
            raw.set(known, text);
        }
        Ok(raw)
    }
}

/// `500ms`, `10s`, `2m`, `1h`, `7d`.
pub fn parse_duration(setting: &'static str, text: &str) -> Result<Duration, ConfigError> {
    humantime::parse_duration(text.trim())
        .map_err(|_| ConfigError::new(setting, format!("{text:?} is not a duration")))
}

/// `true`/`false` (also `1`/`0`, `yes`/`no`).
pub fn parse_bool(setting: &'static str, text: &str) -> Result<bool, ConfigError> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" | "" => Ok(false),
        _ => Err(ConfigError::new(
            setting,
            format!("{text:?} is not true or false"),
        )),
    }
}

/// `256KiB`, `1MiB`, `64KB`, `1000` (bytes).
pub fn parse_size(setting: &'static str, text: &str) -> Result<usize, ConfigError> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    let factor: usize = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" => 1000,
        "kib" | "k" => 1024,
        "mb" => 1_000_000,
        "mib" | "m" => 1024 * 1024,
        _ => 0,
    };
    digits
        .parse::<usize>()
        .ok()
        .and_then(|n| n.checked_mul(factor))
        .filter(|n| *n > 0)
        .ok_or_else(|| ConfigError::new(setting, format!("{text:?} is not a size like 256KiB")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_durations_parse() {
        assert_eq!(parse_size("X", "256KiB").unwrap(), 262_144);
        assert_eq!(parse_size("X", "1000").unwrap(), 1000);
        assert!(parse_size("X", "lots").is_err());
        assert_eq!(
            parse_duration("X", "7d").unwrap(),
            Duration::from_secs(7 * 86_400)
        );
        assert_eq!(
            parse_duration("X", "500ms").unwrap(),
            Duration::from_millis(500)
        );
        let err = parse_duration("HOOKLAYER_RETRY_SCHEDULE", "abc").unwrap_err();
        assert_eq!(
            err.to_string(),
            "HOOKLAYER_RETRY_SCHEDULE: \"abc\" is not a duration"
        );
    }

    fn file_with(text: &str) -> tempfile::NamedTempFile {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), text).unwrap();
        file
    }

    #[test]
    fn a_flag_or_env_value_beats_the_file_which_beats_nothing() {
        let file = file_with(
            "listen = \"127.0.0.1:1111\"\nlease = \"5s\"\nretry_schedule = [\"1s\", \"2s\"]\n",
        );
        let args = SettingArgs {
            config: Some(file.path().to_owned()),
            listen: Some("127.0.0.1:2222".into()),
            ..SettingArgs::default()
        };

        let raw = RawSettings::load(&args).unwrap();

        assert_eq!(raw.get("listen"), Some("127.0.0.1:2222"));
        assert_eq!(raw.get("lease"), Some("5s"));
        assert_eq!(raw.get("retry_schedule"), Some("1s,2s"));
        assert_eq!(raw.get("role"), None);
    }

    #[test]
    fn an_unknown_key_in_the_file_names_the_config_setting() {
        let file = file_with("retry_shedule = \"1s\"\n");
        let args = SettingArgs {
            config: Some(file.path().to_owned()),
            ..SettingArgs::default()
        };

        let err = RawSettings::load(&args).unwrap_err();

        assert_eq!(err.setting, "HOOKLAYER_CONFIG");
        assert!(err.problem.contains("retry_shedule"), "{err}");
    }
}
