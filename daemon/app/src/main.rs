//! `creatorflow`: the daemon and its operator CLI. This is the only place that reads configuration, installs
//! logging and wires the crates together; errors become `anyhow` here and nowhere else.

mod commands;
mod config;
mod demo;
mod forecast;
mod plugins;
mod serve;
mod sync;
mod transfer;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// Exit status for configuration errors (EX_CONFIG), distinct from runtime failures (1) and usage errors (2).
pub const EXIT_CONFIG: u8 = 78;

/// Exit status of `verify` commands that found derived state disagreeing with its source.
pub const EXIT_DRIFT: u8 = 3;

#[derive(Parser, Debug)]
#[command(
    name = "creatorflow",
    version,
    about = "Self-hosted commerce and creator analytics daemon"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Where to find the configuration; shared by every command that touches the data directory.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ConfigArgs {
    /// TOML configuration file.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Data directory (SQLite file, keys, admin token); overrides `server.data_dir`.
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the daemon.
    Serve {
        #[command(flatten)]
        cfg: ConfigArgs,
        /// Address to listen on; overrides `server.listen`.
        #[arg(long, value_name = "ADDR")]
        listen: Option<std::net::SocketAddr>,
    },
    /// Apply database migrations and exit.
    Migrate {
        #[command(flatten)]
        cfg: ConfigArgs,
    },
    /// Inspect configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(commands::TokenCommand),
    /// Manage workspaces.
    #[command(subcommand)]
    Workspace(commands::WorkspaceCommand),
    /// The GraphQL schema.
    #[command(subcommand)]
    Schema(SchemaCommand),
    /// Check or rebuild stock levels from the ledger.
    #[command(subcommand)]
    Inventory(commands::InventoryCommand),
    /// Check or rebuild the analytics rollups from raw orders.
    #[command(subcommand)]
    Rollups(commands::RollupCommand),
    /// Demo data.
    #[command(subcommand)]
    Demo(demo::DemoCommand),
    /// Import products, stock, orders, refunds, ad spend or content metrics from a CSV file through the write
    /// path (docs/import.md).
    Import {
        #[command(flatten)]
        cfg: ConfigArgs,
        /// What the file holds; orders may be in the CreatorFlow layout or a Shopify or TikTok Shop export.
        kind: transfer::FileKind,
        file: PathBuf,
        #[arg(long, default_value = "default")]
        workspace: String,
        /// The connection the rows belong to (orders, refunds, ad-spend, content), e.g. the TikTok Shop
        /// connection an export came from; default: the workspace's CSV import connection.
        #[arg(long, value_name = "ID")]
        connection: Option<i64>,
        /// Import the valid rows of a file that also has invalid ones (default: refuse the whole file).
        #[arg(long)]
        skip_invalid: bool,
    },
    /// Export data as CSV.
    #[command(subcommand)]
    Export(transfer::ExportCommand),
    /// Install and manage WASM plugins.
    #[command(subcommand)]
    Plugin(plugins::PluginCommand),
    /// Sync a marketplace connection now.
    #[command(subcommand)]
    Sync(sync::SyncCommand),
    /// Forecasting tools (scoring the forecaster on your own series).
    #[command(subcommand)]
    Forecast(forecast::ForecastCommand),
}

#[derive(Subcommand, Debug)]
enum ConfigCommand {
    /// Load and validate the configuration, reporting every error.
    Check {
        #[command(flatten)]
        cfg: ConfigArgs,
    },
    /// Print the documented default configuration.
    PrintDefault,
}

#[derive(Subcommand, Debug)]
enum SchemaCommand {
    /// Print the GraphQL SDL (or write it to a file).
    Print {
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
}

/// Loads configuration or explains every problem and exits with [`EXIT_CONFIG`].
fn load_config(
    args: &ConfigArgs,
    listen: Option<std::net::SocketAddr>,
) -> Result<config::Config, ExitCode> {
    let overrides = config::Overrides {
        listen,
        data_dir: args.data_dir.clone(),
    };
    config::load_from_process(args.config.as_deref(), &overrides).map_err(|errors| {
        eprintln!("{errors}");
        ExitCode::from(EXIT_CONFIG)
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve { cfg, listen } => match load_config(&cfg, listen) {
            Ok(config) => run_async(serve::run(config)),
            Err(code) => return code,
        },
        Command::Migrate { cfg } => match load_config(&cfg, None) {
            Ok(config) => run_async(commands::migrate(config)),
            Err(code) => return code,
        },
        Command::Config(ConfigCommand::Check { cfg }) => match load_config(&cfg, None) {
            Ok(config) => commands::config_check(&config),
            Err(code) => return code,
        },
        Command::Config(ConfigCommand::PrintDefault) => {
            commands::write_stdout(config::DEFAULT_TOML)
        }
        Command::Token(cmd) => match load_config(cmd.config_args(), None) {
            Ok(config) => run_async(commands::token(config, cmd)),
            Err(code) => return code,
        },
        Command::Workspace(cmd) => match load_config(cmd.config_args(), None) {
            Ok(config) => run_async(commands::workspace(config, cmd)),
            Err(code) => return code,
        },
        Command::Schema(SchemaCommand::Print { output }) => {
            commands::schema_print(output.as_deref())
        }
        Command::Inventory(cmd) => match load_config(cmd.config_args(), None) {
            Ok(config) => match run_async(commands::inventory(config, cmd)) {
                Ok(true) => Ok(()),
                Ok(false) => return ExitCode::from(EXIT_DRIFT),
                Err(e) => Err(e),
            },
            Err(code) => return code,
        },
        Command::Import {
            cfg,
            kind,
            file,
            workspace,
            connection,
            skip_invalid,
        } => match load_config(&cfg, None) {
            Ok(config) => match run_async(async {
                let req = transfer::ImportRequest {
                    kind,
                    file: &file,
                    workspace: &workspace,
                    connection,
                    skip_invalid,
                };
                Ok(transfer::import(config, req).await)
            }) {
                Ok(Ok(())) => Ok(()),
                Ok(Err(transfer::ImportFailure::Refused(report))) => {
                    eprintln!("{report}");
                    return ExitCode::from(transfer::EXIT_DATA);
                }
                Ok(Err(transfer::ImportFailure::Other(e))) | Err(e) => Err(e),
            },
            Err(code) => return code,
        },
        Command::Plugin(plugins::PluginCommand::Package { path, wasm, out }) => {
            plugins::package(&path, &wasm, &out)
        }
        Command::Plugin(cmd) => match cmd.config_args().map(|c| load_config(c, None)) {
            Some(Ok(config)) => run_async(plugins::run(config, cmd)),
            Some(Err(code)) => return code,
            None => Ok(()),
        },
        Command::Forecast(forecast::ForecastCommand::Backtest { csv }) => forecast::backtest(&csv),
        Command::Forecast(cmd) => match cmd.config_args().map(|c| load_config(c, None)) {
            Some(Ok(config)) => run_async(forecast::run(config, cmd)),
            Some(Err(code)) => return code,
            None => Ok(()),
        },
        Command::Sync(cmd) => match load_config(cmd.config_args(), None) {
            Ok(config) => run_async(sync::run(config, cmd)),
            Err(code) => return code,
        },
        Command::Export(cmd) => match load_config(cmd.config_args(), None) {
            Ok(config) => run_async(transfer::export(config, cmd)),
            Err(code) => return code,
        },
        Command::Demo(cmd) => match load_config(cmd.config_args(), None) {
            Ok(config) => run_async(demo::run(config, cmd)),
            Err(code) => return code,
        },
        Command::Rollups(cmd) => match load_config(cmd.config_args(), None) {
            Ok(config) => match run_async(commands::rollups(config, cmd)) {
                Ok(true) => Ok(()),
                Ok(false) => return ExitCode::from(EXIT_DRIFT),
                Err(e) => Err(e),
            },
            Err(code) => return code,
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run_async<T, F: std::future::Future<Output = anyhow::Result<T>>>(fut: F) -> anyhow::Result<T> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(fut)
}
