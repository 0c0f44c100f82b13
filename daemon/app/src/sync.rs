//! `creatorflow sync run|backfill`: syncs a connection now, from this process, with a progress bar on a
//! terminal. The daemon may be running meanwhile: both write through the same pipeline and cursors.

use crate::ConfigArgs;
use crate::config::Config;
use anyhow::{Context as _, bail};
use clap::Subcommand;
use creatorflow_core::{ConnectionId, EventBus};
use creatorflow_ingest::Ingest;
use creatorflow_sync::{RunKind, RunProgress, SyncEngine, parse_entity};
use std::io::IsTerminal;
use std::sync::Arc;

#[derive(Subcommand, Debug)]
pub enum SyncCommand {
    /// Incremental sync from the stored cursors (every entity, or one with --entity).
    Run {
        #[command(flatten)]
        cfg: ConfigArgs,
        #[arg(long)]
        connection: i64,
        /// orders, products, stock, … (default: every entity the connector offers).
        #[arg(long)]
        entity: Option<String>,
    },
    /// Like `run`, recorded as a backfill: the first sync of a connection (the cursors start at
    /// `sync.backfill_days` before now).
    Backfill {
        #[command(flatten)]
        cfg: ConfigArgs,
        #[arg(long)]
        connection: i64,
        #[arg(long)]
        entity: Option<String>,
    },
}

impl SyncCommand {
    pub fn config_args(&self) -> &ConfigArgs {
        match self {
            SyncCommand::Run { cfg, .. } | SyncCommand::Backfill { cfg, .. } => cfg,
        }
    }
}

pub async fn run(config: Config, cmd: SyncCommand) -> anyhow::Result<()> {
    let (connection, entity, kind) = match cmd {
        SyncCommand::Run {
            connection, entity, ..
        } => (connection, entity, RunKind::Incremental),
        SyncCommand::Backfill {
            connection, entity, ..
        } => (connection, entity, RunKind::Backfill),
    };
    let entity = match entity.as_deref() {
        Some(name) => Some(parse_entity(name).with_context(|| format!("unknown entity `{name}`"))?),
        None => None,
    };
    let store = crate::serve::prepare_store(&config).await?;
    let plugins = crate::serve::plugin_manager(&config, &store)?;
    plugins.reconcile().await.context("cannot load plugins")?;
    let engine = SyncEngine::new(
        Ingest::new(store, EventBus::default()),
        plugins.host().clone(),
        crate::serve::sync_settings(&config),
    );
    let bar = if std::io::stderr().is_terminal() {
        indicatif::ProgressBar::new_spinner()
    } else {
        indicatif::ProgressBar::hidden()
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {elapsed_precise} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    let progress_bar = bar.clone();
    let progress: creatorflow_sync::Progress = Arc::new(move |p: &RunProgress| {
        progress_bar.set_message(format!(
            "{}: {} pages, {} records",
            creatorflow_sync::entity_name(p.entity),
            p.pages,
            p.records
        ));
        progress_bar.tick();
    });
    let id = ConnectionId(connection);
    let reports = match entity {
        Some(entity) => vec![engine.run(id, entity, kind, Some(progress)).await?],
        None => engine.sync_all(id, kind, Some(progress)).await?,
    };
    bar.finish_and_clear();
    if reports.is_empty() {
        bail!("connection {connection}: its connector offers nothing to sync");
    }
    let mut text = String::new();
    for r in reports {
        text.push_str(&format!(
            "{} run {}: {} pages, {} records, {} applied\n",
            r.run.entity, r.run.id, r.pages, r.records, r.applied
        ));
    }
    crate::commands::write_stdout(&text)
}
