//! Operator commands other than `serve`: migrations, tokens, workspaces, configuration and schema output.

use crate::ConfigArgs;
use crate::config::Config;
use crate::serve::open_store;
use anyhow::{Context as _, bail};
use clap::Subcommand;
use creatorflow_core::{Currency, Role, Slug, Timezone, TokenId};
use creatorflow_store::{NewWorkspace, TokenScope};
use std::io::Write;
use std::path::Path;

#[derive(Subcommand, Debug)]
pub enum TokenCommand {
    /// Create a token and print its secret once on stdout.
    Create {
        #[command(flatten)]
        cfg: ConfigArgs,
        /// Workspace slug the token may use (repeat for several).
        #[arg(long = "workspace", value_name = "SLUG")]
        workspaces: Vec<String>,
        /// admin, analyst, ingest or read_only.
        #[arg(long)]
        role: Role,
        /// A global admin token reaching every workspace.
        #[arg(long, conflicts_with = "workspaces")]
        global: bool,
        /// A label shown by `token list`.
        #[arg(long, default_value = "cli")]
        name: String,
    },
    /// List tokens (never their secrets).
    List {
        #[command(flatten)]
        cfg: ConfigArgs,
    },
    /// Revoke a token by id.
    Revoke {
        #[command(flatten)]
        cfg: ConfigArgs,
        id: i64,
    },
}

impl TokenCommand {
    pub fn config_args(&self) -> &ConfigArgs {
        match self {
            TokenCommand::Create { cfg, .. }
            | TokenCommand::List { cfg }
            | TokenCommand::Revoke { cfg, .. } => cfg,
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum WorkspaceCommand {
    /// Create a workspace.
    Create {
        #[command(flatten)]
        cfg: ConfigArgs,
        slug: String,
        #[arg(long)]
        name: Option<String>,
        /// IANA time zone.
        #[arg(long, default_value = "UTC")]
        timezone: String,
        /// ISO 4217 currency code.
        #[arg(long, default_value = "USD")]
        currency: String,
    },
    /// List workspaces.
    List {
        #[command(flatten)]
        cfg: ConfigArgs,
    },
}

impl WorkspaceCommand {
    pub fn config_args(&self) -> &ConfigArgs {
        match self {
            WorkspaceCommand::Create { cfg, .. } | WorkspaceCommand::List { cfg } => cfg,
        }
    }
}

/// Writes to stdout, turning a closed pipe into an error instead of a panic.
pub fn write_stdout(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}

async fn ready_store(config: &Config) -> anyhow::Result<creatorflow_store::Store> {
    crate::serve::prepare_store(config).await
}

pub async fn migrate(config: Config) -> anyhow::Result<()> {
    crate::serve::init_cli_tracing(&config);
    let store = open_store(&config).await?;
    let pending = store.pending_migrations().await?;
    store.migrate().await.context("migrations failed")?;
    write_stdout(&format!(
        "applied {pending} migration(s); the database is current\n"
    ))
}

pub fn config_check(config: &Config) -> anyhow::Result<()> {
    write_stdout(&format!(
        "configuration is valid\n  listen    {}\n  data dir  {}\n  database  {}\n",
        config.server.listen,
        config.server.data_dir.display(),
        if config.database.url.is_some() {
            "from database.url"
        } else {
            "embedded SQLite in the data dir"
        },
    ))
}

pub async fn token(config: Config, cmd: TokenCommand) -> anyhow::Result<()> {
    let store = ready_store(&config).await?;
    match cmd {
        TokenCommand::Create {
            workspaces,
            role,
            global,
            name,
            ..
        } => {
            let scope = if global {
                TokenScope::Global
            } else {
                if workspaces.is_empty() {
                    bail!(
                        "give --workspace SLUG (repeatable), or --global for a global admin token"
                    );
                }
                TokenScope::Workspaces(
                    workspaces
                        .iter()
                        .map(|s| {
                            Slug::parse(s).with_context(|| format!("invalid workspace slug {s:?}"))
                        })
                        .collect::<anyhow::Result<_>>()?,
                )
            };
            let token = store.create_token(&name, role, &scope).await?;
            eprintln!(
                "created token {} ({role}); the secret is shown only once:",
                token.id
            );
            write_stdout(&format!("{}\n", token.secret))
        }
        TokenCommand::List { .. } => {
            let mut out =
                String::from("ID\tROLE\tSCOPE\tNAME\tPREFIX\tCREATED\tLAST USED\tSTATUS\n");
            for t in store.list_tokens().await? {
                let scope = if t.is_global {
                    "*".to_owned()
                } else {
                    t.workspaces.join(",")
                };
                let last = t
                    .last_used_at
                    .map(|d| d.to_rfc3339())
                    .unwrap_or_else(|| "-".into());
                let status = if t.revoked_at.is_some() {
                    "revoked"
                } else {
                    "active"
                };
                out.push_str(&format!(
                    "{}\t{}\t{}\t{}\t{}…\t{}\t{}\t{}\n",
                    t.id,
                    t.role,
                    scope,
                    t.name,
                    t.prefix,
                    t.created_at.to_rfc3339(),
                    last,
                    status
                ));
            }
            write_stdout(&out)
        }
        TokenCommand::Revoke { id, .. } => {
            if store.revoke_token(TokenId(id)).await? {
                write_stdout(&format!("revoked token {id}\n"))
            } else {
                write_stdout(&format!("token {id} was already revoked\n"))
            }
        }
    }
}

pub async fn workspace(config: Config, cmd: WorkspaceCommand) -> anyhow::Result<()> {
    let store = ready_store(&config).await?;
    match cmd {
        WorkspaceCommand::Create {
            slug,
            name,
            timezone,
            currency,
            ..
        } => {
            let slug = Slug::parse(&slug).with_context(|| format!("invalid slug {slug:?}"))?;
            let ws = store
                .create_workspace(&NewWorkspace {
                    name: name.unwrap_or_else(|| slug.to_string()),
                    slug,
                    timezone: Timezone::parse(&timezone)?,
                    currency: Currency::parse(&currency)?,
                })
                .await?;
            write_stdout(&format!("created workspace {} (id {})\n", ws.slug, ws.id))
        }
        WorkspaceCommand::List { .. } => {
            let mut out = String::from("ID\tSLUG\tNAME\tTIMEZONE\tCURRENCY\n");
            for w in store.all_workspaces().await? {
                out.push_str(&format!(
                    "{}\t{}\t{}\t{}\t{}\n",
                    w.id, w.slug, w.name, w.timezone, w.currency
                ));
            }
            write_stdout(&out)
        }
    }
}

pub fn schema_print(output: Option<&Path>) -> anyhow::Result<()> {
    let sdl = creatorflow_api::sdl();
    match output {
        Some(path) => {
            std::fs::write(path, sdl).with_context(|| format!("cannot write {}", path.display()))
        }
        None => write_stdout(&sdl),
    }
}

#[derive(Subcommand, Debug)]
pub enum InventoryCommand {
    /// Re-fold the ledger and report every level that disagrees (exit status 3 when any does).
    Verify {
        #[command(flatten)]
        cfg: ConfigArgs,
    },
    /// Set every level to the fold of its ledger.
    Rebuild {
        #[command(flatten)]
        cfg: ConfigArgs,
    },
}

impl InventoryCommand {
    pub fn config_args(&self) -> &ConfigArgs {
        match self {
            InventoryCommand::Verify { cfg } | InventoryCommand::Rebuild { cfg } => cfg,
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum RollupCommand {
    /// Recompute the rollups and customer aggregates from raw rows and report differences (exit status 3).
    Verify {
        #[command(flatten)]
        cfg: ConfigArgs,
    },
    /// Replace the rollups and customer aggregates with ones recomputed from raw rows.
    Rebuild {
        #[command(flatten)]
        cfg: ConfigArgs,
    },
}

impl RollupCommand {
    pub fn config_args(&self) -> &ConfigArgs {
        match self {
            RollupCommand::Verify { cfg } | RollupCommand::Rebuild { cfg } => cfg,
        }
    }
}

fn pipeline(store: creatorflow_store::Store) -> creatorflow_ingest::Ingest {
    creatorflow_ingest::Ingest::new(store, creatorflow_core::EventBus::default())
}

/// Returns `false` when verification found drift.
pub async fn inventory(config: Config, cmd: InventoryCommand) -> anyhow::Result<bool> {
    let ingest = pipeline(ready_store(&config).await?);
    match cmd {
        InventoryCommand::Verify { .. } => {
            let drift = ingest.verify_inventory().await?;
            if drift.is_empty() {
                write_stdout("inventory ok: every level equals the fold of its ledger\n")?;
                return Ok(true);
            }
            let mut out = format!("{} level(s) disagree with the ledger:\n", drift.len());
            for d in &drift {
                out.push_str(&format!(
                    "  variant {} at location {}: level on_hand/committed/incoming = {:?}, ledger = {:?}\n",
                    d.variant_id, d.location_id, d.level, d.ledger
                ));
            }
            out.push_str("run `creatorflow inventory rebuild` to set levels from the ledger\n");
            write_stdout(&out)?;
            Ok(false)
        }
        InventoryCommand::Rebuild { .. } => {
            let changed = ingest.rebuild_inventory().await?;
            write_stdout(&format!("rebuilt: {changed} level(s) changed\n"))?;
            Ok(true)
        }
    }
}

pub async fn rollups(config: Config, cmd: RollupCommand) -> anyhow::Result<bool> {
    let ingest = pipeline(ready_store(&config).await?);
    match cmd {
        RollupCommand::Verify { .. } => {
            let drift = ingest.verify_rollups().await?;
            if drift.is_empty() {
                write_stdout("rollups ok: incremental rollups equal a rebuild from raw rows\n")?;
                return Ok(true);
            }
            let mut out = format!("{} rollup cell(s) differ:\n", drift.len());
            for d in drift.iter().take(50) {
                out.push_str(&format!(
                    "  {} {}: stored {}, expected {}\n",
                    d.table, d.key, d.stored, d.expected
                ));
            }
            write_stdout(&out)?;
            Ok(false)
        }
        RollupCommand::Rebuild { .. } => {
            ingest.rebuild_rollups().await?;
            write_stdout("rollups rebuilt from raw rows\n")?;
            Ok(true)
        }
    }
}
