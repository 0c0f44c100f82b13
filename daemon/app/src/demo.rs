//! `creatorflow demo seed`: realistic, deterministic demo data through the real write path, so a fresh
//! install has something to look at and benchmarks have a known load.

use crate::ConfigArgs;
use crate::config::Config;
use anyhow::{Context as _, bail};
use clap::Subcommand;
use creatorflow_core::{ConnectionId, Currency, EventBus, Slug, Timezone, WorkspaceId};
use creatorflow_demo::{ChannelKind, Demo, DemoSpec};
use creatorflow_ingest::Ingest;
use creatorflow_store::{NewConnection, NewWorkspace, Store};
use std::time::Instant;

#[derive(Subcommand, Debug)]
pub enum DemoCommand {
    /// Generate a demo shop (catalog, stock, orders, returns, ads, content) and ingest it.
    Seed {
        #[command(flatten)]
        cfg: ConfigArgs,
        /// Workspace to fill; created when missing.
        #[arg(long, default_value = "demo")]
        workspace: String,
        #[arg(long, default_value_t = 1_000)]
        skus: usize,
        #[arg(long, default_value_t = 20_000)]
        orders: usize,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Days of order history.
        #[arg(long, default_value_t = 180)]
        days: u32,
        /// Events per transaction.
        #[arg(long, default_value_t = 1_000)]
        batch: usize,
    },
}

impl DemoCommand {
    pub fn config_args(&self) -> &ConfigArgs {
        match self {
            DemoCommand::Seed { cfg, .. } => cfg,
        }
    }
}

/// The demo's channels as connections of the workspace (created when missing).
pub async fn demo_channels(
    store: &Store,
    ws: i64,
) -> anyhow::Result<Vec<(ConnectionId, ChannelKind)>> {
    let mut out = Vec::new();
    for (kind, name) in [
        (ChannelKind::TiktokShop, "TikTok Shop (demo)"),
        (ChannelKind::Shopify, "Shopify (demo)"),
        (ChannelKind::Whatnot, "Whatnot (demo)"),
    ] {
        let existing = creatorflow_store::catalog::list_connections(store.db(), ws)
            .await?
            .into_iter()
            .find(|c| c.kind == kind.as_str() && c.external_shop_id.as_deref() == Some("demo"));
        let id = match existing {
            Some(c) => c.id,
            None => {
                store
                    .create_connection(&NewConnection {
                        workspace_id: WorkspaceId(ws),
                        kind: kind.as_str().into(),
                        name: name.into(),
                        external_shop_id: Some("demo".into()),
                        credentials: None,
                        config: Default::default(),
                    })
                    .await?
                    .id
            }
        };
        out.push((ConnectionId(id), kind));
    }
    Ok(out)
}

pub async fn ensure_workspace(
    store: &Store,
    slug: &str,
    currency: &str,
) -> anyhow::Result<creatorflow_store::entity::workspace::Model> {
    if let Some(ws) = store.workspace_by_slug(slug).await? {
        return Ok(ws);
    }
    Ok(store
        .create_workspace(&NewWorkspace {
            slug: Slug::parse(slug).with_context(|| format!("invalid workspace slug {slug:?}"))?,
            name: format!("{slug} shop"),
            timezone: Timezone::parse("UTC")?,
            currency: Currency::parse(currency)?,
        })
        .await?)
}

pub async fn run(config: Config, cmd: DemoCommand) -> anyhow::Result<()> {
    let DemoCommand::Seed {
        workspace,
        skus,
        orders,
        seed,
        days,
        batch,
        ..
    } = cmd;
    if batch == 0 {
        bail!("--batch must be at least 1");
    }
    let store = crate::serve::prepare_store(&config).await?;
    let ws = ensure_workspace(&store, &workspace, "USD").await?;
    let channels = demo_channels(&store, ws.id).await?;
    let mut spec = DemoSpec::new(WorkspaceId(ws.id), channels, Currency::parse(&ws.currency)?);
    spec.skus = skus;
    spec.orders = orders;
    spec.seed = seed;
    spec.days = days;
    let demo = Demo::new(spec);
    let ingest = Ingest::new(store, EventBus::default());
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} {elapsed_precise} {pos} events ({per_sec}) {msg}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    let started = Instant::now();
    let (mut applied, mut skipped, mut refused) = (0u64, 0u64, 0u64);
    let mut chunk = Vec::with_capacity(batch);
    let mut events = demo.events().peekable();
    while events.peek().is_some() {
        chunk.clear();
        chunk.extend(events.by_ref().take(batch));
        for (ev, r) in chunk.iter().zip(ingest.apply_batch(&chunk).await?) {
            match r {
                Ok(creatorflow_ingest::Outcome::Applied) => applied += 1,
                Ok(_) => skipped += 1,
                Err(e) => {
                    refused += 1;
                    if refused <= 5 {
                        bar.println(format!(
                            "refused {} ({}): {e}",
                            ev.source_event_id,
                            ev.payload.kind()
                        ));
                    }
                }
            }
        }
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    crate::commands::write_stdout(&format!(
        "workspace {}: {applied} events applied, {skipped} already present, {refused} refused in {secs:.1} s ({:.0} events/s)\n",
        ws.slug,
        (applied + skipped + refused) as f64 / secs.max(1e-9)
    ))?;
    if refused > 0 {
        bail!("{refused} demo events were refused");
    }
    Ok(())
}
