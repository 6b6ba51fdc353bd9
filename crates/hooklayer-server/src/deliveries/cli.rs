//! The delivery-log commands: `hooklayer deliveries list` and `hooklayer replay`. Like every
//! command they talk to the database directly, so they work while servers run; work queued
//! here is picked up by the servers' poll (and, on PostgreSQL, their `LISTEN`).
//!
//! `replay` queues every matching delivery with the store's single `replay` statement (one
//! transaction, so a replay is all or nothing) and reports progress as a start line and a done
//! line on stderr: a batched replay would need a new store method and would make partial
//! replays possible, for little gain — one indexed `UPDATE` queues hundreds of thousands of
//! rows in seconds.

use super::wire::{
    parse_cursor, parse_scope, parse_since, PageOut, ReplayOut, DEFAULT_LIMIT, MAX_LIMIT,
};
use crate::app::open_store;
use crate::cli::Failure;
use crate::config::Config;
use anyhow::{anyhow, Context};
use clap::{Args, Subcommand};
use hooklayer_core::ids::{AppId, WebhookId};
use hooklayer_core::time::Timestamp;
use hooklayer_core::webhook::{Webhook, WebhookStatus};
use hooklayer_store::{DeliveryQuery, DeliveryStatus, Store};

#[derive(Subcommand, Debug)]
pub enum DeliveriesCommand {
    /// Print one page of a webhook's delivery log, newest first, as JSON
    /// ({"data": [...], "next_cursor": ...})
    List(ListArgs),
}

/// Which webhook a command is about.
#[derive(Args, Debug)]
pub struct WebhookArgs {
    /// The app's UUID
    #[arg(long)]
    pub app: String,
    /// The webhook's UUID
    #[arg(long)]
    pub webhook: String,
}

#[derive(Args, Debug)]
pub struct ListArgs {
    #[command(flatten)]
    pub target: WebhookArgs,
    /// Only deliveries in this status
    #[arg(long, value_parser = ["pending", "succeeded", "failed"])]
    pub status: Option<String>,
    /// Deliveries per page (1 to 250)
    #[arg(long, default_value_t = DEFAULT_LIMIT, value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_LIMIT)))]
    pub limit: u32,
    /// Start after this position (the `next_cursor` of the previous page)
    #[arg(long)]
    pub cursor: Option<String>,
}

#[derive(Args, Debug)]
pub struct ReplayArgs {
    #[command(flatten)]
    pub target: WebhookArgs,
    /// Replay deliveries created at or after this time (RFC 3339, e.g. 2026-11-30T07:00:00Z)
    #[arg(long)]
    pub since: String,
    /// Which deliveries to queue again
    #[arg(long, default_value = "failed", value_parser = ["failed", "succeeded", "all"])]
    pub status: String,
}

/// Opens the store and finds the webhook, or says which of the two ids is unknown.
async fn find(
    config: &Config,
    target: &WebhookArgs,
) -> Result<(std::sync::Arc<dyn Store>, Webhook), Failure> {
    let app: AppId = target
        .app
        .parse()
        .map_err(|_| anyhow!("--app: {:?} is not a UUID", target.app))?;
    let id: WebhookId = target
        .webhook
        .parse()
        .map_err(|_| anyhow!("--webhook: {:?} is not a UUID", target.webhook))?;
    let store = open_store(config).await?;
    let webhook = store
        .get_webhook(app, id)
        .await
        .context("reading the webhook")?
        .ok_or_else(|| anyhow!("app {app} has no webhook {id}"))?;
    Ok((store, webhook))
}

fn print_json<T: serde::Serialize>(value: &T) -> Result<(), Failure> {
    println!(
        "{}",
        serde_json::to_string(value).map_err(anyhow::Error::from)?
    );
    Ok(())
}

/// `hooklayer deliveries …`
pub async fn deliveries(config: &Config, command: DeliveriesCommand) -> Result<(), Failure> {
    let DeliveriesCommand::List(args) = command;
    let status = match args.status.as_deref() {
        // clap already limited the values; the parse cannot fail.
        Some(s) => Some(
            s.parse::<DeliveryStatus>()
                .map_err(|()| anyhow!("--status: {s:?} is not a delivery status"))?,
        ),
        None => None,
    };
    let after = match args.cursor.as_deref() {
        Some(c) => Some(parse_cursor(c).map_err(|e| anyhow!("--cursor: {e}"))?),
        None => None,
    };
    let (store, webhook) = find(config, &args.target).await?;
    let query = DeliveryQuery {
        status,
        limit: args.limit,
        after,
    };
    let page = store
        .list_deliveries(webhook.app, webhook.id, &query)
        .await
        .context("reading the delivery log")?;
    print_json(&PageOut::from(&page))
}

/// `hooklayer replay …`: refuses a webhook that is not `active`, like the API.
pub async fn replay(config: &Config, args: ReplayArgs) -> Result<(), Failure> {
    let since = parse_since(&args.since).map_err(|e| anyhow!("--since: {e}"))?;
    let scope = parse_scope(&args.status).map_err(|e| anyhow!("--status: {e}"))?;
    let (store, webhook) = find(config, &args.target).await?;
    if webhook.status != WebhookStatus::Active {
        return Err(anyhow!(
            "webhook {} is {}; activate it first",
            webhook.id,
            webhook.status.as_str()
        )
        .into());
    }
    eprintln!(
        "queueing {} deliveries of webhook {} created since {since}…",
        args.status, webhook.id
    );
    let queued = store
        .replay(webhook.app, webhook.id, since, scope, Timestamp::now())
        .await
        .context("queueing the deliveries")?;
    eprintln!("queued {queued} deliveries");
    print_json(&ReplayOut { queued })
}
