//! The command line: `serve`, `migrate`, `apps create|list`, `tokens create`,
//! `deliveries list`, `replay` (the last two in `crate::deliveries::cli`), and the receiver
//! tools `verify` (`crate::verify_cli`) and `listen` (`crate::listen::cli`). Every command
//! reads the same settings (flag, env, file) and talks to the same database as `serve`, so it
//! works while the server runs.

use crate::api::admin::{AppOut, CreatedApp, CreatedToken};
use crate::app::{open_store, App};
use crate::config::{Config, ConfigError};
use crate::service::apps::{self, parse_app_name};
use crate::settings::{RawSettings, SettingArgs};
use clap::{Parser, Subcommand};
use hooklayer_core::ids::AppId;
use serde_json::Value;

#[derive(Parser, Debug)]
#[command(
    name = "hooklayer",
    version,
    about = "Self-hostable webhooks delivery speaking the Layer Webhooks API v2.0"
)]
pub struct Cli {
    #[command(flatten)]
    pub settings: SettingArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the HTTP API and the delivery workers
    Serve,
    /// Apply database migrations and exit
    Migrate,
    /// Manage apps (tenants)
    #[command(subcommand)]
    Apps(AppsCommand),
    /// Manage API tokens
    #[command(subcommand)]
    Tokens(TokensCommand),
    /// Read a webhook's delivery log
    #[command(subcommand)]
    Deliveries(crate::deliveries::cli::DeliveriesCommand),
    /// Queue a webhook's deliveries again (failed ones by default); prints {"queued": n}
    Replay(crate::deliveries::cli::ReplayArgs),
    /// Check a received delivery's signatures; exit 0 and "valid: layer, standard", or exit 1
    /// and the reason of each failed scheme
    Verify(crate::verify_cli::VerifyArgs),
    /// Receive an app's events on this machine through the server (no public URL needed),
    /// optionally forwarding each to a local URL
    Listen(crate::listen::cli::ListenArgs),
}

#[derive(Subcommand, Debug)]
pub enum AppsCommand {
    /// Create an app; prints {"id","uuid","name","created_at","token"}
    Create {
        /// The app's name (1 to 128 characters)
        #[arg(long)]
        name: String,
    },
    /// List the apps as a JSON array
    List,
}

#[derive(Subcommand, Debug)]
pub enum TokensCommand {
    /// Issue another API token for an app; prints {"token": ...}
    Create {
        /// The app's UUID
        #[arg(long)]
        app: String,
    },
}

/// A command's failure: a setting (exit 2) or anything else (exit 1).
pub enum Failure {
    Config(ConfigError),
    Other(anyhow::Error),
    /// Already reported on stdout by the command (exit 1, nothing more to print).
    Reported,
}

impl From<ConfigError> for Failure {
    fn from(e: ConfigError) -> Self {
        Failure::Config(e)
    }
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Failure::Other(e)
    }
}

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> Result<(), Failure> {
    // The receiver tools run on a developer's machine: no server settings, no database.
    let command = match cli.command {
        Command::Verify(args) => return crate::verify_cli::run(args),
        Command::Listen(args) => return crate::listen::cli::run(args).await,
        command => command,
    };
    let raw = RawSettings::load(&cli.settings)?;
    let config = Config::from_raw(&raw)?;
    crate::telemetry::init(&config.log, config.log_format);
    match command {
        Command::Serve => serve(config).await,
        Command::Migrate => {
            open_store(&config).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::Apps(AppsCommand::Create { name }) => {
            let name = parse_app_name(Some(&Value::String(name)))
                .map_err(|e| anyhow::anyhow!("--name: {e}"))?;
            let store = open_store(&config).await?;
            let created = apps::create(store.as_ref(), name)
                .await
                .map_err(anyhow::Error::from)?;
            let created = CreatedApp::from(created);
            print_json(&created)
        }
        Command::Apps(AppsCommand::List) => {
            let store = open_store(&config).await?;
            let apps = store.list_apps().await.map_err(anyhow::Error::from)?;
            print_json(&apps.iter().map(AppOut::from).collect::<Vec<_>>())
        }
        Command::Deliveries(command) => crate::deliveries::cli::deliveries(&config, command).await,
        Command::Replay(args) => crate::deliveries::cli::replay(&config, args).await,
        Command::Verify(_) | Command::Listen(_) => unreachable!("handled above"),
        Command::Tokens(TokensCommand::Create { app }) => {
            let app: AppId = app
                .parse()
                .map_err(|_| anyhow::anyhow!("--app: {app:?} is not a UUID"))?;
            let store = open_store(&config).await?;
            match apps::create_token(store.as_ref(), app)
                .await
                .map_err(anyhow::Error::from)?
            {
                Some(token) => print_json(&CreatedToken { token }),
                None => Err(anyhow::anyhow!("no app {app}").into()),
            }
        }
    }
}

fn print_json<T: serde::Serialize>(value: &T) -> Result<(), Failure> {
    println!(
        "{}",
        serde_json::to_string(value).map_err(anyhow::Error::from)?
    );
    Ok(())
}

async fn serve(config: Config) -> Result<(), Failure> {
    let listen = config.listen;
    let app = App::build(config).await?;
    let listener = tokio::net::TcpListener::bind(listen).await.map_err(|e| {
        ConfigError::new(
            "HOOKLAYER_LISTEN",
            format!("cannot listen on {listen}: {e}"),
        )
    })?;
    app.run(listener, shutdown_signal()).await?;
    Ok(())
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
    tracing::info!("shutdown signal received");
}
