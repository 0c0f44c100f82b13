//! `creatorflow plugin …`: install and manage WASM plugins. Installed components live in
//! `<data-dir>/plugins`; what an operator grants is stored apart from what a manifest asks for.

use crate::ConfigArgs;
use crate::commands::write_stdout;
use crate::config::Config;
use anyhow::Context as _;
use clap::Subcommand;
use creatorflow_plugin_host::{Grant, PluginRegistry, package_plugin};
use std::path::PathBuf;

#[derive(Subcommand, Debug)]
pub enum PluginCommand {
    /// Install (or upgrade) a plugin from a directory holding `plugin.toml`, or from a manifest file.
    /// With `--wasm`, the manifest's hash and file name are filled in from that freshly built component.
    Install {
        #[command(flatten)]
        cfg: ConfigArgs,
        path: PathBuf,
        #[arg(long, value_name = "FILE")]
        wasm: Option<PathBuf>,
    },
    /// Write an installable plugin directory (manifest with the component's sha256, and the component)
    /// from a plugin's source directory and its freshly built component. Needs no database.
    Package {
        /// Directory holding `plugin.toml`, or the manifest itself.
        path: PathBuf,
        #[arg(long, value_name = "FILE")]
        wasm: PathBuf,
        /// Output directory (created).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// List installed plugins with their state and grants.
    List {
        #[command(flatten)]
        cfg: ConfigArgs,
    },
    Enable {
        #[command(flatten)]
        cfg: ConfigArgs,
        id: String,
    },
    Disable {
        #[command(flatten)]
        cfg: ConfigArgs,
        id: String,
    },
    Remove {
        #[command(flatten)]
        cfg: ConfigArgs,
        id: String,
    },
    /// Grant a capability the manifest asks for: an HTTP origin (`--host https://api.example.com`) or a
    /// named secret (`--secret NAME`).
    Grant {
        #[command(flatten)]
        cfg: ConfigArgs,
        id: String,
        #[arg(long)]
        host: Vec<String>,
        #[arg(long)]
        secret: Vec<String>,
    },
}

impl PluginCommand {
    /// The configuration flags, for the commands that touch the daemon's data.
    pub fn config_args(&self) -> Option<&ConfigArgs> {
        Some(match self {
            PluginCommand::Package { .. } => return None,
            PluginCommand::Install { cfg, .. }
            | PluginCommand::List { cfg }
            | PluginCommand::Enable { cfg, .. }
            | PluginCommand::Disable { cfg, .. }
            | PluginCommand::Remove { cfg, .. }
            | PluginCommand::Grant { cfg, .. } => cfg,
        })
    }
}

/// `plugin package`: no configuration or database involved.
pub fn package(
    path: &std::path::Path,
    wasm: &std::path::Path,
    out: &std::path::Path,
) -> anyhow::Result<()> {
    let manifest = if path.is_dir() {
        path.join("plugin.toml")
    } else {
        path.to_path_buf()
    };
    let written = package_plugin(&manifest, wasm, out)
        .with_context(|| format!("cannot package {}", manifest.display()))?;
    write_stdout(&format!("packaged {}\n", written.display()))
}

pub async fn run(config: Config, cmd: PluginCommand) -> anyhow::Result<()> {
    let store = crate::serve::prepare_store(&config).await?;
    let registry = PluginRegistry::new(store.db().clone(), config.server.data_dir.join("plugins"));
    match cmd {
        PluginCommand::Package { path, wasm, out } => package(&path, &wasm, &out),
        PluginCommand::Install { path, wasm, .. } => {
            let staged = tempfile::tempdir()?;
            let source = match wasm {
                Some(wasm) => {
                    let manifest = if path.is_dir() {
                        path.join("plugin.toml")
                    } else {
                        path.clone()
                    };
                    package_plugin(&manifest, &wasm, staged.path())?
                }
                None => path,
            };
            let p = registry
                .install(&source)
                .await
                .with_context(|| format!("cannot install {}", source.display()))?;
            write_stdout(&format!(
                "installed {} {} ({:?}, api {})\n",
                p.id(),
                p.manifest.version,
                p.manifest.kind,
                p.manifest.api
            ))
        }
        PluginCommand::List { .. } => {
            let mut out = String::from("ID\tVERSION\tKIND\tAPI\tENABLED\tGRANTS\n");
            for p in registry.list().await? {
                let grants: Vec<String> = p
                    .grants
                    .iter()
                    .map(|g| match g {
                        Grant::Host(h) => format!("host:{h}"),
                        Grant::Secret(s) => format!("secret:{s}"),
                    })
                    .collect();
                out.push_str(&format!(
                    "{}\t{}\t{:?}\t{}\t{}\t{}\n",
                    p.id(),
                    p.manifest.version,
                    p.manifest.kind,
                    p.manifest.api,
                    p.enabled,
                    if grants.is_empty() {
                        "-".into()
                    } else {
                        grants.join(",")
                    }
                ));
            }
            write_stdout(&out)
        }
        PluginCommand::Enable { id, .. } => {
            registry.enable(&id).await?;
            write_stdout(&format!("enabled {id}\n"))
        }
        PluginCommand::Disable { id, .. } => {
            registry.disable(&id).await?;
            write_stdout(&format!("disabled {id}\n"))
        }
        PluginCommand::Remove { id, .. } => {
            registry.remove(&id).await?;
            write_stdout(&format!("removed {id}\n"))
        }
        PluginCommand::Grant {
            id, host, secret, ..
        } => {
            if host.is_empty() && secret.is_empty() {
                anyhow::bail!("give --host ORIGIN and/or --secret NAME");
            }
            for h in &host {
                registry.grant(&id, Grant::host(h)?).await?;
            }
            for s in &secret {
                registry.grant(&id, Grant::secret(s)?).await?;
            }
            write_stdout(&format!(
                "granted {} capability(ies) to {id}\n",
                host.len() + secret.len()
            ))
        }
    }
}
