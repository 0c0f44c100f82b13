//! `creatorflow forecast …`: score the forecaster on a CSV, or compute a workspace's forecasts now.

use crate::ConfigArgs;
use crate::config::Config;
use anyhow::Context as _;
use clap::Subcommand;
use std::io::Write as _;
use std::path::PathBuf;

#[derive(Subcommand, Debug)]
pub enum ForecastCommand {
    /// Score the forecaster on your own series: a CSV of `date,value` rows (daily, weekly or monthly,
    /// detected from the dates) is cut at several origins, every candidate model forecasts what followed,
    /// and their errors (sMAPE, MASE, interval coverage) are printed with the chosen model marked.
    Backtest {
        /// The series; a header row `date,value` is optional.
        #[arg(long, value_name = "FILE")]
        csv: PathBuf,
    },
    /// Forecast every series of a workspace now and store the results (the daemon does this daily).
    Run {
        #[command(flatten)]
        cfg: ConfigArgs,
        #[arg(long, default_value = "default")]
        workspace: String,
    },
}

impl ForecastCommand {
    /// The configuration flags, for the commands that touch the daemon's data.
    pub fn config_args(&self) -> Option<&ConfigArgs> {
        match self {
            ForecastCommand::Backtest { .. } => None,
            ForecastCommand::Run { cfg, .. } => Some(cfg),
        }
    }
}

/// Commands that need no configuration.
pub fn backtest(csv: &std::path::Path) -> anyhow::Result<()> {
    let file =
        std::fs::File::open(csv).with_context(|| format!("cannot open {}", csv.display()))?;
    let report = creatorflow_forecast::backtest_csv(
        std::io::BufReader::new(file),
        &creatorflow_forecast::Options::default(),
    )
    .with_context(|| format!("{}", csv.display()))?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{report}")?;
    Ok(())
}

pub async fn run(config: Config, cmd: ForecastCommand) -> anyhow::Result<()> {
    match cmd {
        ForecastCommand::Backtest { csv } => backtest(&csv),
        ForecastCommand::Run { workspace, .. } => {
            let store = crate::serve::prepare_store(&config).await?;
            let ws = store
                .workspace_by_slug(&workspace)
                .await?
                .with_context(|| format!("no workspace `{workspace}`"))?;
            let tz = creatorflow_core::Timezone::parse(&ws.timezone)?.tz();
            let today = chrono::Utc::now().with_timezone(&tz).date_naive();
            let a = creatorflow_analytics::Analytics::new(store.db().clone());
            let r = creatorflow_analytics::forecasts::refresh(&a, ws.id, tz, today).await?;
            let mut out = std::io::stdout().lock();
            writeln!(
                out,
                "forecast {} series ({} too short or failed) from data version {}",
                r.series, r.failed, r.data_version
            )?;
            Ok(())
        }
    }
}
